"""The whole detector step exported (frame to final detections, caches in
and out) against PyTorch streaming, through the doors users use:
``tools/export_onnx.py`` and ``StreamingDetInferencer(backend=...)``."""
import glob
import importlib.util
import os.path as osp
import sys

import cv2
import numpy as np
import onnx
import pytest
import torch
from detections_match import assert_same_detections
from mmengine.config import Config
from random_weights import detecting_weights

from tsm_mm.apis import StreamingDetInferencer, init_model
from tsm_mm.deploy import (
    ExportedDetector,
    TorchDetector,
    export_detector_onnx,
    preprocess_frame,
)
from tsm_mm.deploy.torch_fast import cpu_supports_bf16

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FAMILIES = ('faster_rcnn', 'retinanet', 'rtmdet', 'yolox')
RUNTIMES = (('onnxruntime', 'f32'), ('openvino', 'f32'))
STANDARD_DOMAINS = {'', 'ai.onnx'}


def toy_config(family, arm='tsm'):
    return osp.join(REPO, 'configs', 'toy', f'vid_{family}_{arm}_toy.py')


def load_tool(name):
    spec = importlib.util.spec_from_file_location(
        name, osp.join(REPO, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


export_tool = load_tool('export_onnx')


def export(argv):
    saved = sys.argv
    sys.argv = ['export_onnx.py', *map(str, argv)]
    try:
        export_tool.main()
    finally:
        sys.argv = saved


@pytest.fixture(scope='module', params=FAMILIES)
def exported(request, tmp_path_factory):
    """``(family, config, checkpoint, onnx)``: a toy TSM detector saved
    with random weights and exported whole by the tool."""
    family = request.param
    tmp = tmp_path_factory.mktemp(family)
    config = toy_config(family)
    checkpoint = str(tmp / 'tsm.pth')
    model = detecting_weights(init_model(config))
    torch.save(dict(state_dict=model.state_dict()), checkpoint)
    onnx_path = str(tmp / 'step.onnx')
    export([config, checkpoint, '--out', onnx_path, '--shape', 96, 128])
    return family, config, checkpoint, onnx_path


@pytest.fixture(scope='module')
def val_videos(toy_vid_root):
    """The toy val videos as lists of BGR frames."""
    folders = sorted(glob.glob(osp.join(toy_vid_root, 'Data/VID/val/*')))
    return [[cv2.imread(f) for f in sorted(glob.glob(f'{d}/*.JPEG'))]
            for d in folders]


def as_arrays(prediction):
    return (np.asarray(prediction['labels']),
            np.asarray(prediction['bboxes']).reshape(-1, 4),
            np.asarray(prediction['scores']))


def test_the_graph_holds_standard_ops_and_says_how_to_run(exported):
    family, _, _, onnx_path = exported
    graph = onnx.load(onnx_path).graph
    assert {node.domain for node in graph.node} <= STANDARD_DOMAINS
    ops = {node.op_type for node in graph.node}
    assert 'NonMaxSuppression' in ops
    assert ('RoiAlign' in ops) == (family == 'faster_rcnn')
    interface = ExportedDetector(onnx_path, onnx_path[:-5] + '.json')\
        .interface
    assert interface['resize'] == dict(scale=[128, 96], keep_ratio=True)
    assert interface['preprocess']['bgr_to_rgb'] is True
    assert [o['name'] for o in interface['outputs'][:3]] == [
        'boxes', 'scores', 'labels']
    assert len(interface['caches']) > 0
    assert interface['classes'] == list(
        init_model(toy_config(family)).dataset_meta['classes'])


@pytest.mark.parametrize('backend,precision', RUNTIMES)
def test_every_toy_val_frame_equals_pytorch(exported, val_videos, backend,
                                            precision):
    family, config, checkpoint, onnx_path = exported
    reference = StreamingDetInferencer(config, checkpoint, 'cpu')
    runtime = StreamingDetInferencer(config, onnx_path, 'cpu',
                                     backend=backend, precision=precision)
    assert runtime.model is None  # PyTorch runs nothing
    for v, frames in enumerate(val_videos):
        expected = reference(frames)['predictions']
        got = runtime(frames)['predictions']
        assert len(got) == len(frames) == 8
        for t, (g, e) in enumerate(zip(got, expected)):
            assert len(e['labels']) > 0, (family, v, t)
            assert_same_detections(as_arrays(g), as_arrays(e),
                                   (family, backend, v, t), box_rtol=1e-3,
                                   score_atol=1e-4, score_rtol=1e-3)


# one family: compiling the backbone and neck is one mechanism for all
@pytest.mark.parametrize('exported', ['rtmdet'], indirect=True)
def test_torch_compile_equals_eager_on_every_toy_val_frame(exported,
                                                        val_videos):
    """The fast path's fp32, compiled, through the inferencer."""
    family, config, checkpoint, _ = exported
    reference = StreamingDetInferencer(config, checkpoint, 'cpu')
    compiled = StreamingDetInferencer(config, checkpoint, 'cpu',
                                      compile=True)
    assert compiled.stream.detector is None  # built at the first frame
    assert compiled.stream.precision == 'f32'  # but named before it
    for v, frames in enumerate(val_videos):
        expected = reference(frames)['predictions']
        got = compiled(frames)['predictions']
        assert compiled.stream.detector.runtime.compiled
        for t, (g, e) in enumerate(zip(got, expected)):
            assert len(e['labels']) > 0, (family, v, t)
            assert_same_detections(as_arrays(g), as_arrays(e),
                                   (family, 'compile', v, t), box_rtol=1e-3,
                                   score_atol=1e-4, score_rtol=1e-3)


def fast_detector(checkpoint, config, precision='f32'):
    """The toy detector on PyTorch's fast path, uncompiled."""
    model = init_model(config, checkpoint)
    return TorchDetector(model, (96, 128), dict(scale=[128, 96],
                                                keep_ratio=True), precision)


def runtime_detector(exported, backend, precision):
    _, config, checkpoint, onnx_path = exported
    if backend == 'pytorch':
        return fast_detector(checkpoint, config, precision)
    return ExportedDetector(onnx_path, onnx_path[:-5] + '.json', backend,
                            precision)


@pytest.mark.parametrize('backend,precision',
                         RUNTIMES + (('pytorch', 'f32'), ))
def test_two_interleaved_videos_and_a_restart(exported, val_videos,
                                              backend, precision):
    family, config, checkpoint, onnx_path = exported
    reference = StreamingDetInferencer(config, checkpoint, 'cpu')
    expected = [reference(frames)['predictions'] for frames in val_videos]
    detector = runtime_detector(exported, backend, precision)
    first, second = val_videos
    for t in range(len(first)):
        results, seconds = detector.detect([first[t], second[t]],
                                           ['a', 'b'], [t, t])
        assert seconds > 0
        for v, result in enumerate(results):
            assert_same_detections(
                (result['labels'], result['bboxes'], result['scores']),
                as_arrays(expected[v][t]), (family, backend, v, t),
                box_rtol=1e-3, score_atol=1e-4, score_rtol=1e-3)
    # frame 0 of video 'a' again restarts its stream; 'b' is untouched
    (again, ), _ = detector.detect([first[0]], ['a'], [0])
    assert_same_detections((again['labels'], again['bboxes'],
                            again['scores']), as_arrays(expected[0][0]),
                           (family, backend, 'restart'), box_rtol=1e-3,
                           score_atol=1e-4, score_rtol=1e-3)
    with pytest.raises(ValueError, match="stream 'b'"):
        detector.detect([second[3]], ['b'], [3])  # 'b' expects frame 8


@pytest.mark.parametrize('backend', ['openvino', 'pytorch'])
def test_reduced_precision_runs_and_says_what_it_ran(exported, val_videos,
                                                     backend):
    family, config, checkpoint, onnx_path = exported
    runtime = StreamingDetInferencer(
        config, onnx_path if backend == 'openvino' else checkpoint, 'cpu',
        backend=backend, precision='default')
    got = runtime(val_videos[0])['predictions']
    expected = 'bf16' if cpu_supports_bf16() else 'f32'
    assert runtime.stream.precision == expected
    assert len(got) == len(val_videos[0])
    assert all(np.isfinite(np.asarray(p['bboxes'])).all() for p in got)


def test_the_2d_twin_exports_without_caches(tmp_path):
    model = init_model(toy_config('rtmdet', '2d')).eval()
    interface = export_detector_onnx(model, str(tmp_path / '2d.onnx'),
                                     (96, 128))
    assert interface['caches'] == []
    assert [i['name'] for i in interface['inputs']] == [
        'frame', 'img_shape', 'scale_factor']


def test_detectors_the_graph_cannot_hold_are_refused(tmp_path):
    cfg = Config.fromfile(toy_config('faster_rcnn'))
    cfg.model.test_cfg.rcnn.nms = dict(type='soft_nms', iou_threshold=0.5)
    model = init_model(cfg).eval()
    with pytest.raises(ValueError, match="nms type 'soft_nms' cannot be "
                       'exported'):
        export_detector_onnx(model, str(tmp_path / 'soft.onnx'), (96, 128))
    assert not (tmp_path / 'soft.onnx').exists()
    model.roi_head.__class__ = type('CascadeLikeRoIHead',
                                    (torch.nn.Module, ), {})
    with pytest.raises(ValueError, match='CascadeLikeRoIHead cannot be '
                       'exported whole'):
        export_detector_onnx(model, str(tmp_path / 'c.onnx'), (96, 128))


def test_a_frame_larger_than_the_graph_is_refused(exported):
    onnx_path = exported[3]
    interface = ExportedDetector(onnx_path, onnx_path[:-5] + '.json')\
        .interface
    small = dict(interface, frame_size=[64, 64])
    with pytest.raises(ValueError, match=r"a 160x120 frame resizes to "
                       r"128x96, larger than the graph's 64x64 frames: "
                       r'export with --shape 96 128'):
        preprocess_frame(np.zeros((120, 160, 3), np.uint8), small)
    with pytest.raises(TypeError, match='BGR uint8'):
        preprocess_frame(np.zeros((120, 160), np.uint8), interface)
