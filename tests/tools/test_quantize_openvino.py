"""tools/quantize_openvino.py: an int8 step calibrated on streamed toy
train videos, run by OpenVINO through the tools users run it with."""
import contextlib
import io
import json
import os
import os.path as osp

import cv2
import numpy as np
import onnxruntime as ort
import openvino as ov
import pytest
from tool_loader import REPO, export_detecting_step, load_tool

from tsm_mm.apis.backend_specs import parse_backend_spec
from tsm_mm.deploy.quantize import calibration_inputs, quantize_step_openvino
from tsm_mm.deploy.runtimes import OpenVINOStream

quantize = load_tool('quantize_openvino')
eval_backends = load_tool('eval_backends')
demo_video = load_tool('demo_video')
CONFIG = osp.join(REPO, 'configs', 'toy', 'vid_rtmdet_tsm_toy.py')
FRAMES = 20  # the tiny toy's train videos hold more


@pytest.fixture(scope='module')
def quantized(tmp_path_factory, toy_vid_root, toy_vid_ann_dir):
    """A checkpoint with detecting random weights, its fp32 step and the
    tool's int8 step, calibrated on FRAMES train frames."""
    tmp = tmp_path_factory.mktemp('quantize')
    checkpoint, onnx_path = export_detecting_step(CONFIG, str(tmp))
    xml = str(tmp / 'step_int8.xml')
    interface = quantize.main([
        CONFIG, onnx_path, '--out', xml, '--frames', str(FRAMES),
        '--data-root', toy_vid_root, '--cfg-options',
        f'train_dataloader.dataset.ann_file={toy_vid_ann_dir}/'
        'imagenet_vid_train.json'])
    return dict(checkpoint=checkpoint, onnx=onnx_path, xml=xml,
                interface=interface, folder=tmp)


def test_the_tool_writes_an_int8_model_and_its_interface(quantized):
    xml = quantized['xml']
    assert sorted(os.listdir(quantized['folder'])) == sorted([
        'tsm.pth', 'step.onnx', 'step.json', 'step_int8.xml',
        'step_int8.bin', 'step_int8.json'])  # no temporary left
    with open(osp.splitext(xml)[0] + '.json') as f:
        written = json.load(f)
    assert written == quantized['interface']
    assert written['quantized']['calibration_frames'] == FRAMES
    with open(osp.splitext(quantized['onnx'])[0] + '.json') as f:
        fp32 = json.load(f)
    assert {k: v for k, v in written.items() if k != 'quantized'} == fp32
    ops = [op.get_type_name()
           for op in ov.Core().read_model(xml).get_ops()]
    assert ops.count('FakeQuantize') >= 10  # the convolutions' inputs


def test_calibration_streams_whole_videos_from_zero_caches(quantized):
    """Frame 0 of each video starts from zeros; every later frame's caches
    are the fp32 graph's new caches of the frame before."""
    with open(osp.splitext(quantized['onnx'])[0] + '.json') as f:
        interface = json.load(f)
    rng = np.random.default_rng(0)
    videos = [[rng.integers(0, 256, (120, 160, 3), np.uint8)
               for _ in range(n)] for n in (3, 4)]
    feeds = calibration_inputs(quantized['onnx'], interface, videos, 6)
    assert len(feeds) == 6  # 3 + 3 of the second video
    session = ort.InferenceSession(quantized['onnx'])
    caches = interface['caches']
    for t, feed in enumerate(feeds):
        if t in (0, 3):
            for c in caches:
                assert not feed[c['input']].any(), (t, c['input'])
            continue
        expected = session.run([c['output'] for c in caches], feeds[t - 1])
        for c, cache in zip(caches, expected):
            assert feed[c['input']].any()
            np.testing.assert_allclose(feed[c['input']], cache, rtol=1e-5,
                                       atol=1e-6)


@pytest.fixture(scope='module')
def scored(quantized, toy_vid_root, toy_vid_ann_dir):
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        rows = eval_backends.main([
            CONFIG, quantized['checkpoint'], '--onnx', quantized['onnx'],
            '--int8', quantized['xml'], '--backends', 'openvino',
            'openvino:int8', '--data-root', toy_vid_root, '--cfg-options',
            f'test_dataloader.dataset.ann_file={toy_vid_ann_dir}/'
            'imagenet_vid_val.json'])
    return rows


def test_eval_backends_scores_the_int8_model(scored):
    reference, fp32, int8 = scored
    assert (int8['backend'], int8['asked']) == ('openvino', 'int8')
    assert int8['precision'] in ('int8+f32', 'int8+bf16')
    assert int8['frames'] == 16
    assert fp32['equal_frames'] == 16  # the fp32 step is the reference's
    assert 0 <= int8['equal_frames'] <= 16 and int8['median_ms'] > 0
    # mAP on random weights says nothing: the next test checks values


def test_int8_caches_stay_near_fp32(quantized, toy_vid_root):
    """The new caches (backbone activations, before any NMS) of the int8
    model against the fp32 graph's, on val frames streamed in order:
    quantization noise, not another function (random weights reach
    0.29 relative; a trained toy RTMDet 0.02-0.14)."""
    with open(osp.splitext(quantized['onnx'])[0] + '.json') as f:
        interface = json.load(f)
    folder = osp.join(toy_vid_root, 'Data', 'VID', 'val',
                      'ILSVRC2015_val_00000000')
    frames = [cv2.imread(osp.join(folder, name))
              for name in sorted(os.listdir(folder))]
    feeds = calibration_inputs(quantized['onnx'], interface, [frames], 8)
    core = ov.Core()
    fp32, int8 = (core.compile_model(path, 'CPU', {
        'INFERENCE_PRECISION_HINT': 'f32'})
        for path in (quantized['onnx'], quantized['xml']))
    for t, feed in enumerate(feeds):
        want, got = fp32(feed), int8(feed)
        for c in interface['caches']:
            x, y = want[c['output']], got[c['output']]
            assert np.linalg.norm(y - x) <= 0.5 * np.linalg.norm(x), (
                t, c['output'])


def test_demo_video_runs_the_int8_model(quantized, toy_vid_root, tmp_path):
    video = osp.join(toy_vid_root, 'Data', 'VID', 'val',
                     'ILSVRC2015_val_00000000')
    out = str(tmp_path / 'demo.mp4')
    result = demo_video.main([CONFIG, quantized['xml'], video, '--out', out,
                              '--backend', 'openvino', '--precision',
                              'default'])
    name, = result['predictions']
    assert 'int8' in name
    assert len(result['predictions'][name]) == 8
    assert any(len(p['labels']) for p in result['predictions'][name])


def test_a_failed_quantization_writes_nothing(quantized, tmp_path):
    with open(osp.splitext(quantized['onnx'])[0] + '.json') as f:
        interface = json.load(f)
    bad = [dict(frame=np.zeros((1, 3, 5, 5), np.float32))]  # no caches
    with pytest.raises(ValueError, match='calibration feed 0 gives'):
        quantize_step_openvino(quantized['onnx'], interface, bad,
                               str(tmp_path / 'int8.xml'))
    assert os.listdir(tmp_path) == []


def test_a_crash_while_saving_leaves_no_file(quantized, tmp_path,
                                             monkeypatch):
    feeds = calibration_inputs(quantized['onnx'], quantized['interface'],
                               [[np.zeros((120, 160, 3), np.uint8)]], 1)

    def crash(model, path):
        with open(path, 'w') as f:
            f.write('<half')  # a partly written IR
        raise OSError('disk full')

    monkeypatch.setattr(ov, 'save_model', crash)
    with pytest.raises(OSError, match='disk full'):
        quantize_step_openvino(quantized['onnx'], quantized['interface'],
                               feeds, str(tmp_path / 'int8.xml'))
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize('argv,message', [
    (['--out', 'x.onnx'], 'OpenVINO IR ends in .xml'),
    (['--out', '{folder}/step.xml'], 'the interface of onnx'),
    (['--out', 'x.xml', '--frames', '0'], '--frames must be >= 1'),
])
def test_bad_arguments_are_named(quantized, argv, message, capsys):
    argv = [a.format(folder=quantized['folder']) for a in argv]
    with pytest.raises(SystemExit):
        quantize.parse_args([CONFIG, quantized['onnx'], *argv])
    assert message in capsys.readouterr().err


def test_a_missing_interface_is_named(tmp_path, capsys):
    onnx_path = tmp_path / 'lone.onnx'
    onnx_path.write_bytes(b'')
    with pytest.raises(SystemExit):
        quantize.parse_args([CONFIG, str(onnx_path), '--out',
                             str(tmp_path / 'q.xml')])
    assert 'lone.json: the interface' in capsys.readouterr().err


def test_int8_belongs_to_openvino_and_its_model(capsys):
    with pytest.raises(ValueError, match='only openvino runs the int8'):
        parse_backend_spec('onnxruntime:int8', '--backends')
    with pytest.raises(SystemExit):
        eval_backends.parse_args([CONFIG, CONFIG, '--onnx', 'x.onnx',
                                  '--backends', 'openvino:int8'])
    assert 'give both or neither' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        demo_video.parse_args([
            CONFIG, 'x.pth', 'v.mp4', '--out', 'o.mp4', '--onnx', 'x.onnx',
            '--compare-backends', 'openvino:int8'])
    assert 'as the checkpoint with --backend openvino' in \
        capsys.readouterr().err


@pytest.fixture(scope='module')
def quantized_faster_rcnn(tmp_path_factory):
    """The toy Faster R-CNN's step (a ResNet, whose int8 stateful graph
    OpenVINO compiles only with the new caches shielded), quantized on
    random frames."""
    config = osp.join(REPO, 'configs', 'toy', 'vid_faster_rcnn_tsm_toy.py')
    tmp = tmp_path_factory.mktemp('quantize_frcnn')
    _, onnx_path = export_detecting_step(config, str(tmp))
    rng = np.random.default_rng(0)
    videos = [[rng.integers(0, 256, (96, 128, 3), np.uint8)
               for _ in range(3)] for _ in range(2)]
    interface = osp.splitext(onnx_path)[0] + '.json'
    xml = str(tmp / 'step_int8.xml')
    quantize_step_openvino(onnx_path, interface, calibration_inputs(
        onnx_path, interface, videos, 6), xml)
    return dict(onnx=onnx_path, xml=xml)


@pytest.mark.parametrize('case', ['quantized', 'quantized_faster_rcnn'])
def test_int8_state_is_the_explicit_int8_loop(case, request):
    """OpenVINOStream's stateful int8 model gives, frame by frame and
    after a restart, what the same int8 graph gives with its new caches
    fed back by hand."""
    quantized = request.getfixturevalue(case)
    with open(osp.splitext(quantized['onnx'])[0] + '.json') as f:
        interface = json.load(f)
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 256, (96, 128, 3), np.uint8)
              for _ in range(4)]
    feeds = calibration_inputs(quantized['onnx'], interface, [frames], 4)
    stream = OpenVINOStream(quantized['xml'], interface, precision='f32')
    assert stream.precision == 'int8+f32'
    model = ov.Core().read_model(quantized['xml'])
    model.reshape({i.get_any_name(): ov.PartialShape(
        [1, *list(i.get_partial_shape())[1:]]) for i in model.inputs})
    explicit = ov.Core().compile_model(model, 'CPU', {
        'INFERENCE_PRECISION_HINT': 'f32'})
    caches = interface['caches']
    for t in [0, 1, 2, 3, 0, 1]:  # then frame 0 restarts the stream
        if t == 0:
            state = {c['input']: np.zeros([1, *c['shape'][1:]], np.float32)
                     for c in caches}
        side = {k: v for k, v in feeds[t].items() if k not in state}
        want = {k.get_any_name(): v
                for k, v in explicit({**side, **state}).items()}
        state = {c['input']: want[c['output']] for c in caches}
        got = stream.step(side.pop(stream.frame_name), ['v'], [t], **side)
        for name, value in got.items():
            np.testing.assert_allclose(value, want[name], rtol=1e-5,
                                       atol=1e-5, err_msg=f'{name} {t}')
