"""The 3.x-style inferencers over video streams, and the class names."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.structures import InstanceData
from random_weights import scale_norms

from tsm_mm.apis import (
    OnlineRecogInferencer,
    OnlineRecognizer,
    StreamingDetector,
    StreamingDetInferencer,
    init_model,
)
from tsm_mm.apis.frame_drawing import (
    draw_detections,
    draw_title,
    title_band_height,
)
from tsm_mm.apis.video_io import count_frames

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOY_TSM = osp.join(REPO, 'configs/toy/vid_faster_rcnn_tsm_toy.py')
ONLINE = osp.join(REPO, 'configs/toy/tsm_online_r18_toy_actions.py')
CLASSES = [f'action_{i}' for i in range(10)]


def moving_square(num=6, size=(120, 160)):
    """BGR frames of a bright square moving right on noise."""
    rng = np.random.default_rng(0)
    frames = []
    for t in range(num):
        frame = rng.integers(0, 80, size + (3, ), np.uint8)
        frame[30:80, 20 + 10 * t:70 + 10 * t] = (40, 200, 230)
        frames.append(frame)
    return frames


def save_checkpoint(config, path, default_scope, meta=None):
    torch.manual_seed(0)
    model = init_model(config, default_scope=default_scope)
    scale_norms(model)  # the shift, so the stream's past, shows
    if hasattr(model, 'cls_head'):
        torch.nn.init.normal_(model.cls_head.fc_cls.weight, std=0.02)
    checkpoint = dict(state_dict=model.state_dict())
    if meta is not None:
        checkpoint['meta'] = meta
    torch.save(checkpoint, path)
    return path


@pytest.fixture(scope='module')
def det_checkpoint(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('det') / 'tsm.pth')
    return save_checkpoint(TOY_TSM, path, 'mmdet')


@pytest.fixture(scope='module')
def det_inferencer(det_checkpoint):
    return StreamingDetInferencer(TOY_TSM, det_checkpoint, 'cpu',
                                  score_thr=0.0)


def test_detection_inferencer_streams_each_call_from_scratch(
        det_inferencer, det_checkpoint, tmp_path):
    frames = moving_square()
    # the reference: the streaming detector itself, on a fresh stream
    detector = StreamingDetector(init_model(TOY_TSM, det_checkpoint))
    expected = [detector.detect(frame)[0].pred_instances
                for frame in frames]
    for _ in range(2):  # a second call starts a new video: same result
        result = det_inferencer(frames)
        predictions = result['predictions']
        assert len(predictions) == len(result['latencies']) == len(frames)
        assert result['visualization'] == [None] * len(frames)
        for pred, ref in zip(predictions, expected):
            assert set(pred) == {'labels', 'scores', 'bboxes'}
            assert len(pred['scores']) > 0
            assert pred['labels'] == ref.labels.tolist()
            np.testing.assert_allclose(pred['bboxes'], ref.bboxes.numpy(),
                                       atol=1e-3)
            np.testing.assert_allclose(pred['scores'], ref.scores.numpy(),
                                       atol=1e-5)
    # a folder of frames, read in natural order, gives the same
    folder = tmp_path / 'frames'
    folder.mkdir()
    for i, frame in enumerate(frames):
        cv2.imwrite(str(folder / f'{i}.png'), frame)  # 10 after 9, lossless
    from_folder = det_inferencer(str(folder))['predictions']
    assert [p['labels'] for p in from_folder] == \
        [p['labels'] for p in predictions]


def test_detection_inferencer_writes_and_returns_drawn_frames(
        det_inferencer, tmp_path):
    frames = moving_square(4)
    folder = tmp_path / 'clip'
    folder.mkdir()
    for i, frame in enumerate(frames):
        cv2.imwrite(str(folder / f'{i}.png'), frame)
    out_dir = tmp_path / 'out'
    result = det_inferencer(str(folder), out_dir=str(out_dir),
                            return_vis=True, no_save_pred=False, title='TSM')
    vis = result['visualization']
    rows = title_band_height(120)  # the title's band, above the frame
    assert len(vis) == 4 and vis[0].shape == (120 + rows, 160, 3)
    # the title band is dark at the top left; boxes changed the frame
    assert (vis[0][2:12, 2:30] < 40).all(2).mean() > 0.5
    assert (np.abs(vis[0][rows:].astype(int) - frames[0]).max(2)
            > 60).mean() > 0.01
    assert count_frames(str(out_dir / 'vis' / 'clip.mp4')) == 4
    with open(out_dir / 'preds' / 'clip.json') as f:
        saved = json.load(f)
    assert [p['labels'] for p in saved] == \
        [p['labels'] for p in result['predictions']]
    assert sorted(os.listdir(out_dir / 'preds')) == ['clip.json']


def test_detection_labels_never_cover_the_title(det_inferencer,
                                               monkeypatch):
    frame = moving_square(1)[0]
    sample = DetDataSample()
    sample.pred_instances = InstanceData(  # its label sits at the top left
        bboxes=torch.tensor([[0., 0., 160., 120.]]),
        scores=torch.tensor([0.9]), labels=torch.tensor([0]))
    monkeypatch.setattr(det_inferencer.stream, 'detect',
                        lambda image: (sample, 0.0123))
    drawn = det_inferencer([frame], return_vis=True,
                           title='TSM')['visualization'][0]
    rows = title_band_height(120)
    title = draw_title(frame, 'TSM 12.3 ms')[:rows]
    assert (drawn[:rows] == title).all()  # the title, intact
    # below it, the frame exactly as the visualizer drew it, label and all
    boxes = draw_detections(det_inferencer.visualizer, frame, sample,
                            det_inferencer.score_thr)
    assert (drawn[rows:] == boxes).all()
    label = np.abs(boxes[:20, :60].astype(int) - frame[:20, :60]).max(2)
    assert (label > 30).mean() > 0.2


def test_detection_inferencer_bad_input(det_inferencer, tmp_path):
    frame = moving_square(1)[0]
    with pytest.raises(TypeError, match='one frame is not a video'):
        det_inferencer(frame)
    with pytest.raises(TypeError, match='frame 1 is not'):
        det_inferencer([frame, frame.astype(np.float32)])
    with pytest.raises(ValueError, match='batch_size must be 1'):
        det_inferencer([frame], batch_size=2)
    missing = str(tmp_path / 'none.mp4')
    with pytest.raises(FileNotFoundError, match=missing):
        det_inferencer(missing, out_dir=str(tmp_path / 'out'))
    assert not osp.exists(tmp_path / 'out')


def test_inferencer_never_writes_over_its_input(det_inferencer, tmp_path):
    path = tmp_path / 'clip.mp4'
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), 10,
                             (160, 120))
    for frame in moving_square(3):
        writer.write(frame)
    writer.release()
    before = path.read_bytes()
    link = tmp_path / 'link.mp4'
    os.link(path, link)
    for out in (path, link):
        with pytest.raises(ValueError, match=f'out_file {out} is the same '
                           f'file as inputs {path}'):
            det_inferencer(str(path), out_file=str(out))
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ['clip.mp4', 'link.mp4']


def test_recognition_inferencer_matches_the_online_recognizer(tmp_path):
    frames = [cv2.resize(f, (64, 64)) for f in moving_square(8)]
    checkpoint = save_checkpoint(
        ONLINE, str(tmp_path / 'rec.pth'), 'mmaction',
        meta=dict(dataset_meta=dict(classes=CLASSES)))
    inferencer = OnlineRecogInferencer(ONLINE, checkpoint, 'cpu', window=3)
    assert inferencer.class_names == CLASSES  # from the checkpoint's meta
    recognizer = OnlineRecognizer(
        init_model(ONLINE, checkpoint, default_scope='mmaction'), window=3)
    expected = [recognizer.step(frame).scores for frame in frames]
    for _ in range(2):  # each call is a new video
        result = inferencer(frames, return_vis=True)
        for pred, scores in zip(result['predictions'], expected):
            np.testing.assert_allclose(pred['pred_scores'], scores.numpy(),
                                       atol=1e-6)
            label = int(scores.argmax())
            assert pred['pred_labels'] == [label]
            assert pred['pred_label_names'] == [CLASSES[label]]
    # small frames are drawn enlarged to 240 rows, under a dark title band
    assert result['visualization'][0].shape == (
        240 + title_band_height(240), 240, 3)
    assert (result['visualization'][0][2:12, 2:30] < 40).all(2).mean() > 0.5


def test_recognition_class_names_in_order_of_precedence(tmp_path):
    plain = save_checkpoint(ONLINE, str(tmp_path / 'plain.pth'), 'mmaction')
    named = save_checkpoint(ONLINE, str(tmp_path / 'named.pth'), 'mmaction',
                            meta=dict(dataset_meta=dict(classes=CLASSES)))
    label_map = tmp_path / 'label_map.txt'
    label_map.write_text(''.join(f'map_{i}\n' for i in range(10)))
    cfg = Config.fromfile(ONLINE)
    cfg.label_map = str(label_map)

    def names(config, checkpoint, classes=None):
        return OnlineRecogInferencer(config, checkpoint, 'cpu',
                                     classes=classes).class_names

    assert names(ONLINE, plain) == [str(i) for i in range(10)]
    assert names(cfg, plain) == [f'map_{i}' for i in range(10)]
    assert names(cfg, named) == CLASSES  # the checkpoint's before the map
    given = [f'given_{i}' for i in range(10)]
    assert names(cfg, named, given) == given  # the user's first of all
    with pytest.raises(ValueError, match=r'3 class names \(the given'):
        names(ONLINE, plain, ['a', 'b', 'c'])
