"""tools/eval_backends.py: every backend scored on every toy val frame
with the config's VIDMetric, against PyTorch eager fp32."""
import contextlib
import io
import json
import os.path as osp

import pytest
from tool_loader import REPO, export_detecting_step, load_tool

eval_backends = load_tool('eval_backends')
CONFIG = osp.join(REPO, 'configs', 'toy', 'vid_rtmdet_tsm_toy.py')


@pytest.fixture(scope='module')
def scored(tmp_path_factory, toy_vid_root, toy_vid_ann_dir):
    """The tool's rows and JSON on the tiny toy (2 val videos, 16 frames):
    a checkpoint with random detecting weights and its exported step."""
    tmp = tmp_path_factory.mktemp('eval_backends')
    checkpoint, onnx_path = export_detecting_step(CONFIG, str(tmp))
    out = tmp / 'backends.json'
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        rows = eval_backends.main([
            CONFIG, checkpoint, '--onnx', onnx_path, '--backends',
            'pytorch:default', 'onnxruntime', 'openvino', 'openvino:default',
            '--data-root', toy_vid_root, '--cfg-options',
            f'test_dataloader.dataset.ann_file={toy_vid_ann_dir}/'
            'imagenet_vid_val.json', '--out', str(out)])
    return rows, json.loads(out.read_text()), stdout.getvalue()


def test_every_backend_scores_every_frame(scored):
    rows, saved, _ = scored
    assert [(r['backend'], r['asked']) for r in rows] == [
        ('pytorch', 'f32'), ('pytorch', 'default'), ('onnxruntime', 'f32'),
        ('openvino', 'f32'), ('openvino', 'default')]
    assert saved['rows'] == rows  # floats round-trip JSON exactly
    for row in rows:
        assert row['frames'] == 16  # 2 videos x 8 frames
        assert row['median_ms'] > 0
        assert {'mAP', 'mAP_slow', 'mAP_medium', 'mAP_fast'} <= set(row)


def test_fp32_runtimes_equal_the_reference_on_every_frame(scored):
    rows = scored[0]
    reference = rows[0]
    for row in rows[1:]:
        if row['precision'] == 'f32':
            assert row['equal_frames'] == row['frames'], row
            for key in ('mAP', 'mAP_slow', 'mAP_medium', 'mAP_fast'):
                assert row[key] == pytest.approx(reference[key],
                                                 abs=1e-6), (row, key)


def test_the_table_shows_the_difference_to_the_reference(scored):
    rows, _, printed = scored
    assert 'Δ mAP' in printed and 'equal frames' in printed
    for row in rows[1:]:
        assert f"{row['mAP'] - rows[0]['mAP']:+.2f}" in printed
        assert f"{row['equal_frames']}/16" in printed


@pytest.mark.parametrize('argv,message', [
    (['--backends', 'onnxruntime'], 'give it with --onnx'),
    (['--backends', 'onnxruntime:bf16'], 'ONNX Runtime runs f32'),
    (['--backends', 'openvino:compile'], 'only pytorch compiles'),
    (['--backends', 'tensorrt'], 'expected BACKEND'),
])
def test_bad_arguments_are_named(argv, message, capsys):
    with pytest.raises(SystemExit):
        eval_backends.parse_args([CONFIG, CONFIG, *argv])
    assert message in capsys.readouterr().err
