"""tools/export_onnx.py refuses bad inputs with messages that name them."""
import importlib.util
import os.path as osp
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ACTIONS = osp.join(REPO, 'configs/toy/tsm_r18_toy_actions.py')


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
