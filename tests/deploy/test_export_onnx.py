"""ONNX graphs of TSM against the PyTorch modules they were exported from."""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pytest
import torch
from mmdet.registry import MODELS as DET_MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from random_weights import randomize_bn

from tsm_mm.deploy import export_clip_onnx, export_stream_onnx
from tsm_mm.models.backbones import StreamingTSMResNet, TSMResNet

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOL = 1e-4
# R-18, 64x64 frames, shift_div=8: (fold, H, W) at the input of each
# block (stride 4, 8, 16, 32 -> 16, 8, 4, 2 pixels; C_in/8 channels)
R18_64_CACHES = [(8, 16, 16), (8, 16, 16), (8, 16, 16), (16, 8, 8),
                 (16, 8, 8), (32, 4, 4), (32, 4, 4), (64, 2, 2)]


def session(path):
    return ort.InferenceSession(path, providers=['CPUExecutionProvider'])


def run_stream(sess, interface, frames):
    """Feed (T, B, 3, H, W) frames through an exported step; returns the
    non-cache outputs of every step."""
    specs = interface['caches']
    batch = frames.shape[1]
    caches = [np.zeros([batch, *c['shape'][1:]], np.float32) for c in specs]
    steps = []
    for frame in frames:
        feed = {'frame': frame.numpy()}
        feed.update({c['input']: v for c, v in zip(specs, caches)})
        outs = sess.run(None, feed)
        steps.append(outs[:len(outs) - len(specs)])
        caches = outs[len(outs) - len(specs):]
    return steps


def max_rel_diff(got, expected):
    return max(float(np.abs(g - e.numpy()).max() / e.abs().max())
               for g, e in zip(got, expected))


@pytest.fixture(scope='module')
def r18_stream(tmp_path_factory):
    torch.manual_seed(0)
    model = randomize_bn(StreamingTSMResNet(18, num_segments=4,
                                            out_indices=(1, 3)))
    out = str(tmp_path_factory.mktemp('onnx') / 'step.onnx')
    interface = export_stream_onnx(model, out, (64, 64), batch_size=2)
    return model, session(out), interface


@pytest.mark.parametrize('batch', [3, 1])  # traced with 2 streams
def test_stream_step_equals_forward_stream(r18_stream, batch):
    model, sess, interface = r18_stream
    frames = torch.randn(8, batch, 3, 64, 64)
    model.reset_streams()
    with torch.no_grad():
        expected = [model.forward_stream(f, list(range(batch)))
                    for f in frames]
    got = run_stream(sess, interface, frames)
    for t in range(8):
        assert max_rel_diff(got[t], expected[t]) <= TOL, t
    # the caches carry time: zero caches at every step differ after frame 0
    zero_caches = [run_stream(sess, interface, f[None])[0] for f in frames]
    assert max_rel_diff(zero_caches[0], expected[0]) <= TOL
    assert max_rel_diff(zero_caches[5], expected[5]) > 1e-3


def test_stream_interface(r18_stream):
    model, sess, interface = r18_stream
    names = [f'cache_{k}' for k in range(8)]
    assert [i.name for i in sess.get_inputs()] == ['frame', *names]
    assert [o.name for o in sess.get_outputs()] == [
        'feat_0', 'feat_1', *[f'new_{n}' for n in names]]
    assert [tuple(c['shape'][1:]) for c in interface['caches']] == \
        R18_64_CACHES
    assert [c['input'] for c in interface['caches']] == names
    assert [c['output'] for c in interface['caches']] == [
        f'new_{n}' for n in names]
    assert interface['outputs'][0]['shape'] == ['batch', 128, 8, 8]
    with pytest.raises(ValueError, match='7 caches for 8'):
        with model.explicit_caches([torch.zeros(1)] * 7):
            pass
    assert not model.streaming  # back to the offline mode


def test_clip_export_equals_offline(tmp_path):
    torch.manual_seed(0)
    model = randomize_bn(TSMResNet(18, num_segments=4, out_indices=(2, 3)))
    interface = export_clip_onnx(model, str(tmp_path / 'clip.onnx'),
                                 (64, 64))
    sess = session(str(tmp_path / 'clip.onnx'))
    assert interface['inputs'] == [dict(name='clip', shape=[4, 3, 64, 64])]
    for _ in range(2):  # new inputs, new outputs: not traced as constants
        clip = torch.randn(4, 3, 64, 64)
        with torch.no_grad():
            expected = model(clip)
        got = sess.run(None, {'clip': clip.numpy()})
        assert max_rel_diff(got, expected) <= TOL
    # and it is the bidirectional shift, not the 2D network
    flat = randomize_bn(TSMResNet(18, num_segments=4, is_shift=False,
                                  out_indices=(2, 3)))
    flat.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert max_rel_diff(got, flat(clip)) > 1e-3


def test_detector_step_equals_stream(tmp_path):
    cfg = Config.fromfile(osp.join(REPO,
                                   'configs/toy/vid_faster_rcnn_tsm_toy.py'))
    init_default_scope('mmdet')
    torch.manual_seed(0)
    det = DET_MODELS.build(cfg.model).eval()
    interface = export_stream_onnx(det, str(tmp_path / 'det.onnx'),
                                   (64, 96), batch_size=1)
    sess = session(str(tmp_path / 'det.onnx'))
    frames = torch.randn(4, 2, 3, 64, 96)
    det.backbone.reset_streams()
    expected = []
    with torch.no_grad():
        for frame in frames:
            feats = det.neck(det.backbone.forward_stream(frame, ['a', 'b']))
            scores, deltas = det.rpn_head(feats)
            expected.append([*scores, *deltas])
    got = run_stream(sess, interface, frames)
    assert len(got[0]) == 8  # 4 levels x (scores, deltas)
    for t in range(4):
        assert max_rel_diff(got[t], expected[t]) <= TOL, t


def test_export_tool_on_a_recognizer(tmp_path):
    config = tmp_path / 'tsm_r18_online.py'
    config.write_text(
        "default_scope = 'mmaction'\n"
        "custom_imports = dict(imports=['tsm_mm'])\n"
        "model = dict(type='Recognizer2D', backbone=dict(\n"
        "    type='TSMResNet', depth=18, num_segments=4, direction='causal',\n"
        "    pretrained2d=False),\n"
        "    cls_head=dict(type='TSMHead', num_classes=5, in_channels=512,\n"
        "                  num_segments=4))\n")
    out = tmp_path / 'step.onnx'
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools/export_onnx.py'), str(config),
         '--out', str(out), '--shape', '64', '64'],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "cache_7    <- new_cache_7    ['batch', 64, 2, 2]" in proc.stdout
    interface = json.loads((tmp_path / 'step.json').read_text())
    assert [(c['input'], c['output'], c['shape'])
            for c in interface['caches']] == [
        (f'cache_{k}', f'new_cache_{k}', ['batch', *shape])
        for k, shape in enumerate(R18_64_CACHES)]
    # the whole step: the head's logits, not the backbone's features
    assert interface['outputs'][0] == dict(name='logits',
                                           shape=['batch', 5])
    assert [i.name for i in session(str(out)).get_inputs()] == [
        'frame', *[f'cache_{k}' for k in range(8)]]


@pytest.mark.parametrize('batch_size', [0, -1, 1.5, True])
def test_stream_export_refuses_a_batch_that_is_not_positive(batch_size,
                                                            tmp_path):
    model = StreamingTSMResNet(18, num_segments=4).eval()
    out = tmp_path / 'step.onnx'
    with pytest.raises(ValueError, match=f'batch_size must be a positive '
                       f'int, got {batch_size!r}'):
        export_stream_onnx(model, str(out), (64, 64), batch_size=batch_size,
                           dynamic_batch=False)
    assert list(tmp_path.iterdir()) == []
