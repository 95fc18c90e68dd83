"""tools/export_onnx.py refuses bad inputs with messages that name them."""
import importlib.util
import os
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ACTIONS = osp.join(REPO, 'configs/toy/tsm_r18_toy_actions.py')
DETECTOR = osp.join(REPO, 'configs/toy/vid_faster_rcnn_tsm_toy.py')


def export(*args):
    spec = importlib.util.spec_from_file_location(
        'export_onnx_tool', osp.join(REPO, 'tools', 'export_onnx.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    argv = sys.argv
    sys.argv = ['export_onnx.py', *map(str, args)]
    try:
        module.main()
    finally:
        sys.argv = argv


@pytest.mark.parametrize('shape', [(16, 64), (64, 31)])
def test_shape_below_stride(shape, tmp_path):
    out = tmp_path / 'm.onnx'
    with pytest.raises(ValueError, match=r"--shape .* smaller than the "
                       r"network's stride 32.*at least 32 32"):
        export(ACTIONS, '--out', out, '--shape', *shape)
    assert not out.exists()


def test_damaged_checkpoint_names_the_file(tmp_path):
    bad = tmp_path / 'cut.pth'
    bad.write_bytes(b'PK\x03\x04' + b'\0' * 100)
    with pytest.raises(RuntimeError, match=f'cannot load {bad}'):
        export(ACTIONS, bad, '--out', tmp_path / 'm.onnx', '--shape', 32, 32)


@pytest.mark.parametrize('batch,message', [
    ('0', 'must be >= 1, got 0'), ('-2', 'must be >= 1, got -2'),
    ('two', "must be an integer >= 1, got 'two'")])
def test_batch_size_must_be_positive(batch, message, tmp_path, capsys):
    out = tmp_path / 'm.onnx'
    with pytest.raises(SystemExit) as exc:
        export(ACTIONS, '--out', out, '--shape', 32, 32, '--batch-size',
               batch)
    assert exc.value.code == 2
    assert f'argument --batch-size: {message}' in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_static_batch_of_zero_is_refused_not_a_crash(tmp_path):
    """It died of SIGFPE in ONNX shape inference: run it as a script."""
    out = tmp_path / 'det.onnx'
    result = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'export_onnx.py'), DETECTOR,
         '--out', str(out), '--shape', '64', '64', '--batch-size', '0',
         '--static-batch'], capture_output=True, text=True, cwd=REPO,
        env=dict(os.environ, OMP_NUM_THREADS='1'), timeout=300)
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert 'argument --batch-size: must be >= 1, got 0' in result.stderr
    assert list(tmp_path.iterdir()) == []
