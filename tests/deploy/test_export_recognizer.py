"""The exported online recognizer (logits out) in ONNX Runtime and OpenVINO
against the PyTorch online recognizer (hooks path)."""
import os.path as osp

import numpy as np
import onnxruntime as ort
import openvino as ov
import pytest
import torch
from mmaction.models import ActionDataPreprocessor
from mmengine.config import Config
from mmengine.model import ImgDataPreprocessor
from random_weights import scale_norms
from torch import nn

from tsm_mm.apis import OnlineRecognizer, init_model
from tsm_mm.deploy.recognizer_step import (
    export_recognizer_onnx,
    preprocess_spec,
)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ONLINE = osp.join(REPO, 'configs/toy/tsm_online_r18_toy_actions.py')
SIZE, FRAMES, TOL = 64, 5, 1e-4
# the config's test pipeline after decoding, at the exported frame size
PIPELINE = [dict(type='RawFrameDecode'),
            dict(type='Resize', scale=(SIZE, SIZE), keep_ratio=False),
            dict(type='FormatShape', input_format='NCHW'),
            dict(type='PackActionInputs')]


def video(seed, num=FRAMES):
    """BGR uint8 frames: a square moving over noise, per seed."""
    rng = np.random.default_rng(seed)
    step = int(rng.integers(-6, 7))
    frames = []
    for t in range(num):
        frame = rng.integers(0, 80, (SIZE, SIZE, 3), np.uint8)
        x = 20 + step * t
        frame[16:40, x:x + 24] = rng.integers(100, 255, 3)
        frames.append(frame)
    return frames


def graph_input(frames, preprocess):
    """(B, 3, H, W) float32 from BGR frames with the interface alone."""
    imgs = np.stack(frames).astype(np.float32)
    if preprocess['channel_order'] == 'RGB':
        imgs = imgs[..., ::-1]
    imgs = (imgs - np.float32(preprocess['mean'])) / np.float32(
        preprocess['std'])
    return np.ascontiguousarray(imgs.transpose(0, 3, 1, 2))


def onnxruntime_runner(path):
    sess = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    names = [out.name for out in sess.get_outputs()]
    return lambda feed: dict(zip(names, sess.run(None, feed)))


def openvino_runner(path):
    compiled = ov.Core().compile_model(
        path, 'CPU', {'INFERENCE_PRECISION_HINT': 'f32'})
    # the default on a CPU with AMX / AVX-512-BF16 is bf16 (~5e-3 off)
    assert compiled.get_property('INFERENCE_PRECISION_HINT') == ov.Type.f32
    request = compiled.create_infer_request()

    def run(feed):
        results = request.infer(feed)
        return {out.get_any_name(): np.array(results[out])
                for out in compiled.outputs}

    return run


RUNNERS = dict(onnxruntime=onnxruntime_runner, openvino=openvino_runner)


def run_streams(run, interface, videos, restarts=()):
    """Step the graph over videos (one per row), feeding the new caches
    back; a (t, row) in ``restarts`` zeroes that row's caches first.

    Returns:
        np.ndarray: (T, B, num_classes) logits.
    """
    specs = interface['caches']
    caches = [np.zeros([len(videos), *c['shape'][1:]], np.float32)
              for c in specs]
    logits = []
    for t, frames in enumerate(zip(*videos)):
        for row in range(len(videos)):
            if (t, row) in restarts:
                for cache in caches:
                    cache[row] = 0
        feed = {'frame': graph_input(frames, interface['preprocess'])}
        feed.update({c['input']: v for c, v in zip(specs, caches)})
        outs = run(feed)
        logits.append(outs['logits'])
        caches = [outs[c['output']].copy() for c in specs]
    return np.stack(logits)


def rel_diff(got, expected):
    return float(np.abs(got - expected).max() / np.abs(expected).max())


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    """A random causal TSM R-18 recognizer, its graph and interface, and the
    online recognizer's logits of four videos."""
    torch.manual_seed(0)
    model = init_model(Config.fromfile(ONLINE), default_scope='mmaction')
    scale_norms(model, bias_range=(-0.2, 0.2))  # the shift shows
    nn.init.normal_(model.cls_head.fc_cls.weight, std=0.02)  # logits ~1
    path = str(tmp_path_factory.mktemp('onnx') / 'recognizer.onnx')
    interface = export_recognizer_onnx(model, path, (SIZE, SIZE))
    recognizer = OnlineRecognizer(model, test_pipeline=PIPELINE)
    videos = [video(seed) for seed in range(4)]
    expected = []
    for frames in videos:
        recognizer.reset()
        expected.append(torch.stack(
            [recognizer.step(f).logits for f in frames]).numpy())
    return recognizer, path, interface, videos, expected


@pytest.fixture(scope='module', params=sorted(RUNNERS))
def runtime(request, exported):
    return RUNNERS[request.param](exported[1])


def test_logits_of_every_frame_equal_the_online_recognizer(exported,
                                                           runtime):
    _, _, interface, videos, expected = exported
    got = run_streams(runtime, interface, videos[:1])[:, 0]
    assert got.shape == (FRAMES, 10)
    assert np.abs(expected[0]).max() > 0.1
    for t in range(FRAMES):
        assert rel_diff(got[t], expected[0][t]) <= TOL, t
    # the caches carry the past: with zero caches later frames differ
    fresh = [run_streams(runtime, interface, [[f]])[0, 0]
             for f in videos[0]]
    assert rel_diff(fresh[0], expected[0][0]) <= TOL
    assert min(rel_diff(fresh[t], expected[0][t])
               for t in range(1, FRAMES)) > 1e-3


def test_interleaved_streams_and_restart_by_zero_caches(exported, runtime):
    _, _, interface, videos, expected = exported
    # row 0: video 1 then, at frame 2, video 2 from zero caches;
    # row 1: video 3 throughout (the graph was traced with one stream)
    row0 = videos[1][:2] + videos[2][:FRAMES - 2]
    got = run_streams(runtime, interface, [row0, videos[3]],
                      restarts={(2, 0)})
    for t in range(FRAMES):
        row0_expected = (expected[1][t] if t < 2 else expected[2][t - 2])
        assert rel_diff(got[t, 0], row0_expected) <= TOL, t
        assert rel_diff(got[t, 1], expected[3][t]) <= TOL, t
    # without the restart, video 2's first frame sees video 1's past
    carried = run_streams(runtime, interface, [row0])
    assert rel_diff(carried[2, 0], expected[2][0]) > 1e-3


def test_interface_is_enough_to_run_the_graph(exported):
    recognizer, path, interface, videos, _ = exported
    assert interface['mode'] == 'stream'
    assert interface['num_classes'] == 10
    assert interface['preprocess'] == dict(
        mean=[127.5] * 3, std=[64.0] * 3, to_rgb=False, channel_order='RGB')
    assert interface['outputs'][0] == dict(name='logits', shape=['batch', 10])
    assert [o['name'] for o in interface['outputs'][1:]] == [
        f'new_cache_{k}' for k in range(8)]
    assert interface['caches'][7] == dict(
        input='cache_7', output='new_cache_7', site=7,
        shape=['batch', 64, 2, 2], fold=64)
    sess = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    assert [i.name for i in sess.get_inputs()] == [
        'frame', *[f'cache_{k}' for k in range(8)]]
    # the frame built from the interface is the recognizer's own input
    for frame in videos[0][:2]:
        np.testing.assert_allclose(graph_input([frame],
                                               interface['preprocess']),
                                   recognizer.frame_input(frame).numpy(),
                                   rtol=0, atol=1e-6)


def test_preprocess_spec_names_the_channel_swap():
    action = ActionDataPreprocessor(mean=[1, 2, 3], std=[4, 5, 6],
                                    to_rgb=True)
    assert preprocess_spec(action) == dict(
        mean=[1.0, 2.0, 3.0], std=[4.0, 5.0, 6.0], to_rgb=True,
        channel_order='BGR')
    assert preprocess_spec(ImgDataPreprocessor(bgr_to_rgb=True)) == dict(
        mean=None, std=None, bgr_to_rgb=True, channel_order='BGR')


def test_export_refuses_what_is_not_a_tsm_recognizer(exported, tmp_path):
    recognizer = exported[0]
    out = str(tmp_path / 'bad.onnx')
    with pytest.raises(TypeError, match='model must be a Recognizer2D with '
                       'a TSM/TSN head .* TSMResNet has none'):
        export_recognizer_onnx(recognizer.model.backbone, out, (SIZE, SIZE))
    flat = nn.Module()
    flat.backbone, flat.cls_head = nn.Conv2d(3, 512, 1), \
        recognizer.model.cls_head
    with pytest.raises(TypeError, match='Conv2d has no shift sites'):
        export_recognizer_onnx(flat, out, (SIZE, SIZE))
    with pytest.raises(ValueError, match='batch_size must be an int >= 1, '
                       'got 0'):
        export_recognizer_onnx(recognizer.model, out, (SIZE, SIZE),
                               batch_size=0)
    assert list(tmp_path.iterdir()) == []
