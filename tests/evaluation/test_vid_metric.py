"""VIDMetric end to end: TrackDataSample / DetDataSample / dict inputs."""
import json
import math
import os.path as osp
import pickle
import re
import sys

import pytest
import torch
from mmdet.registry import METRICS
from mmdet.structures import DetDataSample, TrackDataSample
from mmengine.evaluator import Evaluator
from mmengine.structures import InstanceData

import tsm_mm.evaluation.vid_metric  # registers VIDMetric

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(
    __file__))), 'engine'))
from malicious_checkpoints import reduce_eval  # noqa: E402

CLASSES = ('cat', 'dog')
S_BOX = [0, 0, 99, 99]  # static in frames 0-2: motion 1.0, slow
F_BOXES = [[200, 0, 299, 99], [230, 0, 329, 99]]  # frames 0-1: 70/130, fast

# Scene of tests/evaluation/test_vid_map.py::test_fgfa_false_positive_weights
# (values worked out there): video 0 frames 0-2, video 1 one empty frame.
EXPECTED = dict(mAP=0.4, mAP_slow=1 / 3, mAP_fast=0.5)


def scene():
    """Per frame: (video_id, frame_id, img_id, gt instances, predictions)."""
    gt = [
        [(S_BOX, 1), (F_BOXES[0], 2)],
        [(S_BOX, 1), (F_BOXES[1], 2)],
        [(S_BOX, 1)],
        [],
    ]
    preds = [
        ([S_BOX, [270, 0, 369, 99], [500, 500, 599, 599]], [0.9, 0.7, 0.6]),
        ([F_BOXES[1]], [0.8]),
        ([], []),
        ([[0, 0, 50, 50]], [0.5]),
    ]
    ids = [(0, 0, 10), (0, 1, 11), (0, 2, 12), (1, 0, 20)]
    return [(v, f, i, g, p) for (v, f, i), g, p in zip(ids, gt, preds)]


def det_sample(video_id, frame_id, img_id, gt, pred, with_gt=True):
    sample = DetDataSample(
        metainfo=dict(video_id=video_id, frame_id=frame_id, img_id=img_id))
    if with_gt:
        sample.instances = [
            dict(bbox=b, bbox_label=0, instance_id=i, ignore_flag=0)
            for b, i in gt
        ]
    boxes, scores = pred
    pred_instances = InstanceData()
    pred_instances.bboxes = torch.tensor(boxes, dtype=torch.float32).view(
        -1, 4)
    pred_instances.scores = torch.tensor(scores, dtype=torch.float32)
    pred_instances.labels = torch.zeros(len(scores), dtype=torch.long)
    sample.pred_instances = pred_instances
    return sample


def track_samples(with_gt=True):
    """One TrackDataSample per video."""
    frames = [det_sample(*f, with_gt=with_gt) for f in scene()]
    tracks = []
    for video in (0, 1):
        track = TrackDataSample()
        track.video_data_samples = [
            f for f in frames if f.metainfo['video_id'] == video
        ]
        tracks.append(track)
    return tracks


def build_metric(**kwargs):
    metric = METRICS.build(dict(type='VIDMetric', _scope_='mmdet', **kwargs))
    metric.dataset_meta = dict(classes=CLASSES)
    return metric


def check(metrics, prefix=''):
    assert set(metrics) == {
        prefix + k
        for k in ('mAP', 'mAP_slow', 'mAP_medium', 'mAP_fast')
    }
    for key, value in EXPECTED.items():
        assert metrics[prefix + key] == pytest.approx(value, abs=1e-12)
    assert math.isnan(metrics[prefix + 'mAP_medium'])  # no medium GT


@pytest.mark.parametrize('form', [
    'track', 'track_dict', 'det', 'det_dict', 'track_dict_of_dicts'
])
def test_all_input_forms_give_the_hand_computed_values(form):
    if form == 'track':
        samples = track_samples()
    elif form == 'track_dict':
        samples = [t.to_dict() for t in track_samples()]
    elif form == 'track_dict_of_dicts':
        samples = [
            dict(video_data_samples=[f.to_dict() for f in t])
            for t in track_samples()
        ]
    elif form == 'det':
        samples = [det_sample(*f) for f in scene()]
    else:
        samples = [det_sample(*f).to_dict() for f in scene()]
    metric = build_metric()
    metric.process({}, samples[:1])
    metric.process({}, samples[1:])
    assert len(metric.results) == len(samples)  # one entry per data sample
    check(metric.evaluate(size=len(samples)), prefix='vid/')


def test_through_mmengine_evaluator_keeps_all_frames():
    # 2 data samples (videos) hold 4 frames: size=2 must not trim frames
    evaluator = Evaluator(build_metric())
    evaluator.process(track_samples())
    check(evaluator.evaluate(size=2), prefix='vid/')


def test_table_is_logged(monkeypatch):
    logged = []
    monkeypatch.setattr('tsm_mm.evaluation.vid_metric.print_log',
                        lambda msg, **kw: logged.append(msg))
    metric = build_metric()
    metric.process({}, track_samples())
    metric.evaluate(size=2)
    assert logged[0] == 'VIDMetric: scored 4 frames of 2 videos'
    (table, ) = logged[1:]
    for word in ('class', 'AP_slow', 'AP_medium', 'AP_fast', 'cat', 'dog'):
        assert word in table
    cat_row = next(line for line in table.splitlines() if ' cat ' in line)
    # gts 5, dets 5, recall 0.4, AP 0.4, slow 0.333, medium -, fast 0.5
    assert [c.strip() for c in cat_row.split('|')[1:-1]] == [
        'cat', '5', '5', '0.400', '0.400', '0.333', '-', '0.500'
    ]
    metric = build_metric(classwise=False)
    metric.process({}, track_samples())
    metric.evaluate(size=2)
    assert len(logged) == 3 and 'scored' in logged[2]  # no second table


def write_ann_file(path):
    """CocoVID json of the scene (bbox as [x, y, w, h])."""
    images, annotations = [], []
    for video_id, frame_id, img_id, gt, _ in scene():
        images.append(dict(id=img_id, video_id=video_id, frame_id=frame_id,
                           file_name=f'{video_id}/{frame_id}.JPEG',
                           width=640, height=480))
        for (x1, y1, x2, y2), inst in gt:
            annotations.append(
                dict(id=len(annotations) + 1, image_id=img_id,
                     category_id=7, instance_id=inst, iscrowd=0,
                     bbox=[x1, y1, x2 - x1, y2 - y1]))
    # a category outside dataset_meta['classes'] is dropped
    annotations.append(dict(id=99, image_id=10, category_id=8, instance_id=9,
                            bbox=[0, 0, 5, 5]))
    data = dict(
        videos=[dict(id=0, name='a'), dict(id=1, name='b')],
        images=images,
        annotations=annotations,
        categories=[dict(id=7, name='cat'), dict(id=8, name='zebra')])
    path.write_text(json.dumps(data))
    return str(path)


def test_ann_file_gives_the_same_values(tmp_path):
    metric = build_metric(ann_file=write_ann_file(tmp_path / 'val.json'))
    metric.process({}, track_samples(with_gt=False))
    check(metric.evaluate(size=2), prefix='vid/')


def test_ann_file_frames_without_prediction_are_an_error(tmp_path):
    # frame 2 alone: the file's other 3 images got no prediction
    frame = (0, 2, 12, [(S_BOX, 1)], ([S_BOX], [0.9]))
    metric = build_metric(ann_file=write_ann_file(tmp_path / 'val.json'))
    metric.process({}, [det_sample(*frame, with_gt=False)])
    with pytest.raises(ValueError, match=r'val\.json: 3 of 4 images got no '
                       r'prediction, first: 0/0\.JPEG \(video_id=0, '
                       r'frame_id=0\), 0/1\.JPEG'):
        metric.evaluate(size=1)


def test_without_ann_file_the_given_frames_are_scored():
    # frame 2 alone, GT from its sample: S has no neighbour there, so its
    # motion IoU is lone_motion_iou (0 -> fast, default 1 -> slow)
    frame = (0, 2, 12, [(S_BOX, 1)], ([S_BOX], [0.9]))
    for lone, found, empty in ((0.0, 'fast', 'slow'), (1.0, 'slow', 'fast')):
        metric = build_metric(lone_motion_iou=lone)
        metric.process({}, [det_sample(*frame)])
        got = metric.evaluate(size=1)
        assert got[f'vid/mAP_{found}'] == 1.0
        assert math.isnan(got[f'vid/mAP_{empty}'])


@pytest.mark.parametrize('rule', ['fgfa', 'mega'])
def test_motion_rule_reaches_vid_map(rule, monkeypatch):
    seen = []
    real = tsm_mm.evaluation.vid_metric.vid_map
    monkeypatch.setattr(tsm_mm.evaluation.vid_metric, 'vid_map',
                        lambda *a, **kw: seen.append(kw) or real(*a, **kw))
    metric = build_metric(motion_rule=rule)
    metric.process({}, track_samples())
    metric.evaluate(size=2)
    assert seen[0]['motion_rule'] == rule
    with pytest.raises(ValueError, match="motion_rule must be one of"):
        build_metric(motion_rule='fgfa ')


def test_bad_inputs_have_clear_errors(tmp_path):
    metric = build_metric()
    no_video = DetDataSample(metainfo=dict(frame_id=0, img_id=10))
    with pytest.raises(KeyError, match=r"img_id=10.*\['video_id'\]"):
        metric.process({}, [no_video])
    no_gt = det_sample(*scene()[0], with_gt=False)
    with pytest.raises(KeyError, match='no GT `instances`'):
        metric.process({}, [no_gt])
    metric = build_metric(ann_file=write_ann_file(tmp_path / 'val.json'))
    metric.process({}, [det_sample(3, 0, 12345, [], ([], []))])
    with pytest.raises(KeyError, match='no image with id 12345'):
        metric.evaluate(size=1)


def test_without_motion_split_only_map():
    metric = build_metric(motion_ranges=None, classwise=False)
    metric.process({}, track_samples())
    assert metric.evaluate(size=2) == {'vid/mAP': pytest.approx(0.4)}


# ------------------------------------------- inputs that would score garbage
def swapped(sample):
    """``sample`` with every predicted box's x1 and x2 swapped."""
    boxes = sample.pred_instances.bboxes
    sample.pred_instances.bboxes = boxes[:, [2, 1, 0, 3]]
    return sample


def test_no_frames_is_an_error():
    metric = build_metric()
    with pytest.raises(ValueError, match='VIDMetric: no frame'):
        metric.evaluate(size=0)


def test_every_box_inverted_is_an_error():
    metric = build_metric()
    samples = [swapped(det_sample(*f)) for f in scene()]
    metric.process({}, samples)
    with pytest.raises(ValueError, match=re.escape(
            'VIDMetric: every one of the 5 predicted boxes has x2 < x1 or '
            'y2 < y1 (first: frame (video_id, frame_id)=(0, 0), box [99.0, '
            '0.0, 0.0, 99.0])')):
        metric.evaluate(size=4)


def test_some_boxes_inverted_warn(warnings_log):
    metric = build_metric()
    samples = [det_sample(*f) for f in scene()]
    swapped(samples[1])
    metric.process({}, samples)
    metric.evaluate(size=4)
    (message, ) = [m for m in warnings_log if 'x2 < x1' in m]
    assert message.startswith(
        'VIDMetric: 1 of 5 predicted boxes have x2 < x1 or y2 < y1 (first: '
        'frame (video_id, frame_id)=(0, 1), box [329.0, 0.0, 230.0, 99.0])')


def test_missing_frames_without_ann_file_warn(warnings_log):
    # video 0 is 5 frames long (0-2 given), video 1 one frame (given)
    samples = [det_sample(*f) for f in scene()]
    for sample in samples:
        sample.set_metainfo(dict(
            ori_video_length=5 if sample.video_id == 0 else 1))
    metric = build_metric()
    metric.process({}, samples)
    check(metric.evaluate(size=4), prefix='vid/')  # the frames given
    (message, ) = [m for m in warnings_log if 'not scored' in m]
    assert message.startswith(
        'VIDMetric: 2 frames of 1 of 2 videos were not scored: their '
        'frame_ids fall short of ori_video_length (first: video_id 0 has 3 '
        'of 5 frames, frame_id 3 missing)')
    for sample in samples[:3]:  # video 0 whole: 3 frames
        sample.set_metainfo(dict(ori_video_length=3))
    warnings_log.clear()
    metric.process({}, samples[:3])
    metric.evaluate(size=1)
    assert not [m for m in warnings_log if 'not scored' in m]


def test_no_ground_truth_at_all_warns(warnings_log):
    # video 1's one frame: no GT box, one prediction
    metric = build_metric()
    metric.process({}, [det_sample(*scene()[3])])
    assert math.isnan(metric.evaluate(size=1)['vid/mAP'])
    (message, ) = [m for m in warnings_log if 'no ground truth' in m]
    assert message.startswith('VIDMetric: no ground truth box of any class '
                              'in the 1 frames scored: mAP is nan')


@pytest.mark.parametrize('change, words', [
    (lambda s: s.set_metainfo(dict(video_id='abc')),
     "video_id must be an integer, got 'abc'"),
    (lambda s: s.set_metainfo(dict(frame_id=1.5)),
     'frame_id must be an integer, got 1.5'),
    (lambda s: setattr(s.pred_instances, 'bboxes', torch.zeros(3, 5)),
     'pred_instances.bboxes has shape (3, 5); expected (N, 4)'),
    (lambda s: setattr(s.pred_instances, 'scores', torch.zeros(3, 1, 2)),
     'pred_instances.scores has shape (3, 1, 2); expected (N,)'),
    (lambda s: s.instances.append(dict(bbox=[1, 2, 3], bbox_label=0)),
     'instances bbox has shape (3,) in instance 2; expected 4 numbers'),
])
def test_bad_frame_is_named(change, words):
    sample = det_sample(*scene()[0])
    change(sample)
    metric = build_metric()
    with pytest.raises(ValueError, match=re.escape(
            'VIDMetric: frame (img_id=10, video_id=') + '.*' +
            re.escape(words)):
        metric.process({}, [sample])


def test_ann_file_pickle_is_refused(tmp_path):
    path = tmp_path / 'val.pkl'
    marker = tmp_path / 'ran'
    with open(path, 'wb') as f:
        pickle.dump(reduce_eval(str(marker)), f)
    with pytest.raises(ValueError, match=re.escape(str(path)) + '.*json'):
        build_metric(ann_file=str(path))
    assert not marker.exists()


@pytest.mark.parametrize('text, words', [
    ('', 'is empty'), ('{"images": [', 'not valid json'),
    ('[]', 'not a CocoVID dict'),
    ('{"images": [{"id": 1, "file_name": "a/0.JPEG"}], "categories": [],'
     ' "annotations": [{"id": 1, "image_id": 1, "category_id": 3, "bbox":'
     ' [0, 0, NaN, 5]}]}', 'annotations[0] (id 1)'),
])
def test_ann_file_faults_name_the_file(tmp_path, text, words):
    path = tmp_path / 'val.json'
    path.write_text(text)
    with pytest.raises(ValueError, match=re.escape(f'{path}: ') + '.*' +
                       re.escape(words)):
        build_metric(ann_file=str(path))
