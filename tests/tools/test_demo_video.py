"""tools/demo_video.py, the streaming detector and the video I/O."""
import os
import os.path as osp
import sys

import cv2
import numpy as np
import pytest
import torch
from detections_match import assert_same_detections
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from random_weights import scale_norms
from tool_loader import REPO, load_tool

from tsm_mm.apis import StreamingDetector, init_model
from tsm_mm.apis.frame_drawing import title_band_height
from tsm_mm.apis.video_io import Mp4Writer, VideoFrames, count_frames
from tsm_mm.deploy.torch_fast import cpu_supports_bf16

TOY_TSM = osp.join(REPO, 'configs/toy/vid_faster_rcnn_tsm_toy.py')
TOY_2D = osp.join(REPO, 'configs/toy/vid_faster_rcnn_2d_toy.py')
TOY_RTMDET = osp.join(REPO, 'configs/toy/vid_rtmdet_tsm_toy.py')


demo_video = load_tool('demo_video')
export_onnx = load_tool('export_onnx')


def mp4_codec(path):
    """The codec of the first video stream of ``path``, as PyAV names it."""
    import av
    with av.open(path) as container:
        return container.streams.video[0].codec_context.name


def read_video(path):
    capture = cv2.VideoCapture(path)
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            return frames
        frames.append(frame)


@pytest.fixture(scope='module')
def val_dataset(toy_vid_val_dataset):
    return toy_vid_val_dataset


@pytest.fixture(scope='module')
def video_dir(val_dataset):
    """The frames folder of val video 0 (8 frames of 160x120)."""
    return osp.dirname(val_dataset.get_data_info(0)['images'][0]['img_path'])


@pytest.fixture(scope='module')
def video_mp4(video_dir, tmp_path_factory):
    """The same frames as an mp4 written with plain cv2."""
    path = str(tmp_path_factory.mktemp('mp4') / 'video.mp4')
    frames = [cv2.imread(osp.join(video_dir, f))
              for f in sorted(os.listdir(video_dir))]
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), 10,
                             (frames[0].shape[1], frames[0].shape[0]))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path, frames


def random_model(config, **backbone):
    """Random weights where every residual branch (so the shift) acts."""
    cfg = Config.fromfile(config)
    cfg.model.backbone.update(backbone)
    torch.manual_seed(0)
    model = init_model(cfg)
    return scale_norms(model)


def as_rows(sample):
    pred = sample.pred_instances
    return torch.cat([pred.bboxes, pred.scores[:, None],
                      pred.labels[:, None].float()], 1)


def test_streaming_detector_equals_dataset_path(val_dataset, video_dir):
    model = random_model(TOY_TSM)
    num = val_dataset.get_len_per_video(0)
    expected = []
    with torch.no_grad():
        for f in range(num):  # the test loop's way: pipeline from files
            data = model.data_preprocessor(
                pseudo_collate([val_dataset[(0, f)]]), False)
            track = model.predict(data['inputs'], data['data_samples'])
            expected.append(as_rows(track[0][0]))
    model.reset_streams()
    detector = StreamingDetector(model)
    got = [as_rows(detector.detect(frame)[0])
           for frame in VideoFrames(video_dir)]
    assert len(got) == num == 8
    for f in range(num):
        assert len(expected[f]) > 0
        torch.testing.assert_close(got[f], expected[f], atol=1e-4,
                                   rtol=1e-4)
    # the stream carries the past: frames run as new videos differ
    fresh = []
    for frame in VideoFrames(video_dir):
        detector.reset()
        fresh.append(as_rows(detector.detect(frame)[0]))
    torch.testing.assert_close(fresh[0], expected[0], atol=1e-4, rtol=1e-4)
    assert all(fresh[f].shape != expected[f].shape or
               (fresh[f] - expected[f]).abs().max() > 1e-2
               for f in range(1, num))


def test_detector_knows_the_video_length(video_dir):
    detector = StreamingDetector(random_model(TOY_TSM))
    frames = list(VideoFrames(video_dir))[:3]
    detector.reset(num_frames=2)
    detector.detect(frames[0])
    detector.detect(frames[1])
    # the video ended: its stream was freed, a third frame is an error
    assert detector.model.backbone.stream_caches.stream_ids == []
    with pytest.raises(ValueError, match='expects frame 0'):
        detector.detect(frames[2])


def test_demo_folder_with_2d_comparison(video_dir, tmp_path):
    out = str(tmp_path / 'demo.mp4')
    demo_video.main([TOY_TSM, video_dir, '--out', out, '--compare-2d',
                     TOY_2D, '--score-thr', '0.0'])
    frames = read_video(out)
    assert len(frames) == count_frames(video_dir) == 8
    # TSM | 2D side by side, each under its title band
    assert frames[0].shape == (120 + title_band_height(120), 320, 3)
    assert mp4_codec(out) == 'h264'  # browsers play it
    png = cv2.imread(str(tmp_path / 'demo_latency.png'))
    assert png is not None and png.shape[0] > 100
    assert sorted(os.listdir(tmp_path)) == ['demo.mp4', 'demo_latency.png']


def test_init_model_loads_a_checkpoint_strictly(tmp_path):
    source = random_model(TOY_2D)
    checkpoint = str(tmp_path / 'ckpt.pth')
    meta = dict(dataset_meta=dict(classes=('a', 'b', 'c')))
    torch.save(dict(state_dict=source.state_dict(), meta=meta), checkpoint)
    # a 2D checkpoint fits the TSM detector: the shift has no parameters
    model = init_model(TOY_TSM, checkpoint)
    assert model.dataset_meta == meta['dataset_meta']
    for key, value in source.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key
    state = source.state_dict()
    state.pop('backbone.conv1.weight')
    torch.save(dict(state_dict=state), checkpoint)
    with pytest.raises(RuntimeError, match='backbone.conv1.weight'):
        init_model(TOY_TSM, checkpoint)


def test_demo_mp4_keeps_frames_in_order(video_mp4, tmp_path):
    path, inputs = video_mp4
    checkpoint = str(tmp_path / 'tsm.pth')
    torch.save(dict(state_dict=random_model(TOY_TSM).state_dict()),
               checkpoint)
    out = str(tmp_path / 'demo.mp4')
    png = str(tmp_path / 'latency.png')
    # nothing scores above 1: the frames come out with only the title
    demo_video.main([TOY_TSM, checkpoint, path, '--out', out,
                     '--score-thr', '1.01', '--latency-png', png])
    frames = read_video(out)
    assert len(frames) == count_frames(path) == len(inputs) == 8
    rows = title_band_height(inputs[0].shape[0])
    assert frames[0].shape == (inputs[0].shape[0] + rows, ) + \
        inputs[0].shape[1:]
    assert mp4_codec(out) == 'h264'
    assert cv2.imread(png) is not None
    for i, frame in enumerate(frames):
        diffs = [np.abs(frame[rows:].astype(float) - x).mean()
                 for x in inputs]
        assert int(np.argmin(diffs)) == i and diffs[i] < 6, diffs


@pytest.mark.parametrize('kind', ['missing', 'text', 'empty_dir'])
def test_demo_bad_input_names_the_path(kind, tmp_path, capsys):
    path = str(tmp_path / ('clip.mp4' if kind != 'empty_dir' else 'frames'))
    if kind == 'text':
        with open(path, 'w') as f:
            f.write('not a video\n')
    elif kind == 'empty_dir':
        os.mkdir(path)
    out = str(tmp_path / 'out.mp4')
    with pytest.raises(SystemExit) as exc:
        demo_video.main([TOY_TSM, path, '--out', out])
    assert exc.value.code == 2
    assert path in capsys.readouterr().err
    assert not osp.exists(out)


def test_unreadable_frame_is_named_and_leaves_no_output(video_dir,
                                                        tmp_path):
    frames_dir = tmp_path / 'frames'
    frames_dir.mkdir()
    names = sorted(os.listdir(video_dir))[:3]
    for name in names:
        (frames_dir / name).write_bytes(
            open(osp.join(video_dir, name), 'rb').read())
    (frames_dir / names[1]).write_bytes(b'broken')
    out = tmp_path / 'out.mp4'
    out.write_bytes(b'an older result')
    with pytest.raises(ValueError, match=f'cannot read the image '
                       f'{frames_dir / names[1]}'):
        demo_video.main([TOY_TSM, str(frames_dir), '--out', str(out),
                         '--overwrite'])
    # the older file is untouched, no temporary file is left
    assert out.read_bytes() == b'an older result'
    assert sorted(os.listdir(tmp_path)) == ['frames', 'out.mp4']


def test_mp4_writer_rejects_a_frame_of_another_size(tmp_path):
    out = str(tmp_path / 'a.mp4')
    with pytest.raises(ValueError, match='frame 1 is 32x16'):
        with Mp4Writer(out, 5) as writer:
            writer.write(np.zeros((24, 32, 3), np.uint8))
            writer.write(np.zeros((16, 32, 3), np.uint8))
    assert os.listdir(tmp_path) == []
    with Mp4Writer(out, 5) as writer:
        for value in (0, 100, 200):
            writer.write(np.full((24, 32, 3), value, np.uint8))
    means = [frame.mean() for frame in VideoFrames(out)]
    assert np.allclose(means, [0, 100, 200], atol=8)  # mp4 is lossy


def write_cut_avi(path, num_frames=30, size=(64, 48)):
    """An MJPG avi of noise frames cut to half its bytes: it ends before
    the frame count its header declares."""
    rng = np.random.default_rng(0)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'MJPG'), 10, size)
    for _ in range(num_frames):
        writer.write(rng.integers(0, 255, (size[1], size[0], 3), np.uint8))
    writer.release()
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])


def test_demo_video_that_ends_early_fails_and_writes_nothing(tmp_path):
    path = str(tmp_path / 'cut.avi')
    write_cut_avi(path)
    out = tmp_path / 'out.mp4'
    out.write_bytes(b'an older result')
    with pytest.raises(ValueError, match=f'{path} ended after [1-9][0-9]? '
                       'of the 30 frames its container declares'):
        demo_video.main([TOY_2D, path, '--out', str(out), '--overwrite'])
    assert out.read_bytes() == b'an older result'
    assert sorted(os.listdir(tmp_path)) == ['cut.avi', 'out.mp4']


@pytest.fixture(scope='module')
def rtmdet_exported(tmp_path_factory):
    """A random toy RTMDet-TSM: its checkpoint and its whole step exported
    by tools/export_onnx.py for the 160x120 toy frames (96x128 resized)."""
    folder = tmp_path_factory.mktemp('rtmdet')
    checkpoint, onnx = str(folder / 'tsm.pth'), str(folder / 'tsm.onnx')
    model = random_model(TOY_RTMDET)
    torch.save(dict(state_dict=model.state_dict()), checkpoint)
    saved = sys.argv
    sys.argv = ['export_onnx.py', TOY_RTMDET, checkpoint, '--out', onnx,
                '--shape', '96', '128']
    try:
        export_onnx.main()
    finally:
        sys.argv = saved
    return model, checkpoint, onnx


@pytest.fixture(scope='module')
def rtmdet_reference(rtmdet_exported, video_dir):
    """Per-frame (boxes, scores, labels) of the PyTorch model itself."""
    detector = StreamingDetector(rtmdet_exported[0].eval())
    with torch.no_grad():
        samples = [detector.detect(frame)[0]
                   for frame in VideoFrames(video_dir)]
    return [(s.pred_instances.bboxes.numpy(), s.pred_instances.scores.numpy(),
             s.pred_instances.labels.numpy()) for s in samples]


def assert_detections_match(predictions, reference):
    """Each frame's detections equal the reference within 1e-3 relative,
    up to the order of tied scores."""
    assert len(predictions) == len(reference)
    for f, (pred, (boxes, scores, labels)) in enumerate(
            zip(predictions, reference)):
        assert len(labels) > 0, f
        assert_same_detections(
            (pred['labels'], pred['bboxes'], pred['scores']),
            (labels, boxes, scores), f, box_rtol=1e-3, score_rtol=1e-3)


def test_demo_openvino_backend_equals_pytorch(rtmdet_exported,
                                              rtmdet_reference, video_dir,
                                              tmp_path):
    out, png = str(tmp_path / 'demo.mp4'), str(tmp_path / 'latency.png')
    result = demo_video.main([TOY_RTMDET, rtmdet_exported[2], video_dir,
                              '--out', out, '--backend', 'openvino',
                              '--latency-png', png])
    assert len(read_video(out)) == count_frames(video_dir) == 8
    assert_detections_match(result['predictions']['TSM openvino f32'],
                           rtmdet_reference)
    assert list(result['latency_series']) == ['TSM openvino f32']
    assert cv2.imread(png) is not None


def test_demo_compares_backends(rtmdet_exported, rtmdet_reference,
                                video_dir, tmp_path):
    _, checkpoint, onnx = rtmdet_exported
    out = str(tmp_path / 'demo.mp4')
    result = demo_video.main([TOY_RTMDET, checkpoint, video_dir, '--out',
                              out, '--onnx', onnx, '--compare-backends',
                              'pytorch', 'onnxruntime', 'openvino'])
    names = ['pytorch f32', 'onnxruntime f32', 'openvino f32']
    frames = read_video(out)
    assert len(frames) == 8
    # one panel per backend, side by side
    assert frames[0].shape == (120 + title_band_height(120), 3 * 160, 3)
    for name in names:
        assert_detections_match(result['predictions'][name],
                               rtmdet_reference)
    # the chart's lines, read back from the figure: one per backend
    series = result['latency_series']
    assert list(series) == names
    for name in names:
        np.testing.assert_allclose(
            series[name], 1e3 * np.asarray(result['latencies'][name]))
        assert len(series[name]) == 8 and (series[name] > 0).all()
    assert sorted(os.listdir(tmp_path)) == ['demo.mp4', 'demo_latency.png']
    assert cv2.imread(str(tmp_path / 'demo_latency.png')) is not None


def test_demo_compares_the_pytorch_fast_path(rtmdet_exported, video_dir,
                                            tmp_path):
    """pytorch:bf16 is the fast path (bf16 autocast), pytorch:default
    labelled with what the CPU chose."""
    _, checkpoint, _ = rtmdet_exported
    out = str(tmp_path / 'demo.mp4')
    result = demo_video.main([TOY_RTMDET, checkpoint, video_dir, '--out',
                              out, '--compare-backends', 'pytorch',
                              'pytorch:bf16', 'pytorch:default'])
    # a name taken already says what it asked
    chosen = ('pytorch bf16' if cpu_supports_bf16() else 'pytorch f32') + \
        ' (asked default)'
    names = ['pytorch f32', 'pytorch bf16', chosen]
    assert list(result['latency_series']) == names
    assert all(len(result['predictions'][name]) == 8 for name in names)
    assert read_video(out)[0].shape[1] == 3 * 160


@pytest.mark.parametrize('case', ['pth_for_openvino', 'no_interface',
                                  'onnx_for_pytorch', 'no_onnx',
                                  'precision_for_ort', 'unknown_backend',
                                  'bf16_for_ort_arm',
                                  'compile_for_openvino_arm'])
def test_demo_backend_arguments_are_checked(case, rtmdet_exported,
                                            video_dir, tmp_path, capsys):
    _, checkpoint, onnx = rtmdet_exported
    lone = str(tmp_path / 'lone.onnx')  # no interface beside it
    with open(lone, 'wb') as f:
        f.write(open(onnx, 'rb').read())
    weights, options, words = {  # the positional weights, options, words
        'pth_for_openvino': (checkpoint, ['--backend', 'openvino'],
                             ['checkpoint', '.onnx']),
        'no_interface': (lone, ['--backend', 'onnxruntime'],
                         ['checkpoint', str(tmp_path / 'lone.json'),
                          'missing']),
        'onnx_for_pytorch': (onnx, [], ['checkpoint', '--backend']),
        'no_onnx': (None, ['--compare-backends', 'pytorch', 'openvino'],
                    ['--onnx']),
        'precision_for_ort': (onnx, ['--backend', 'onnxruntime',
                                     '--precision', 'bf16'],
                              ['--precision', 'openvino']),
        'unknown_backend': (None, ['--onnx', onnx, '--compare-backends',
                                   'tensorrt'],
                            ['--compare-backends tensorrt']),
        'bf16_for_ort_arm': (
            None, ['--onnx', onnx, '--compare-backends', 'onnxruntime:bf16'],
            ['--compare-backends onnxruntime:bf16', 'ONNX Runtime runs f32']),
        'compile_for_openvino_arm': (
            None, ['--onnx', onnx, '--compare-backends', 'openvino:compile'],
            ['--compare-backends openvino:compile', 'only pytorch compiles']),
    }[case]
    out = str(tmp_path / 'out.mp4')
    with pytest.raises(SystemExit) as exc:
        demo_video.main([TOY_RTMDET, *([weights] if weights else []),
                         video_dir, '--out', out, *options])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    for word in words:
        assert word in err, (word, err)
    assert not osp.exists(out)
