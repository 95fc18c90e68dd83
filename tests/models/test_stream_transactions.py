"""The detector's stream step commits or rolls back as one; bounded memory."""
import copy

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from random_weights import scale_norms

TOY_TSM = 'configs/toy/vid_faster_rcnn_tsm_toy.py'


def build():
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(TOY_TSM).model)
    model.init_weights()
    return scale_norms(model).eval()


@pytest.fixture(scope='module')
def val_frames(toy_vid_val_dataset):
    """Frames 0-2 of both val videos: (video_idx, frame_idx) -> item."""
    ds = toy_vid_val_dataset
    return {(v, f): ds[(v, f)] for v in range(2) for f in range(3)}


def as_item(item, size=None, **meta):
    """A copy of ``item``, cropped to ``size`` (h, w), with new metainfo."""
    item = copy.deepcopy(item)
    if size is not None:
        item['inputs'] = item['inputs'][..., :size[0], :size[1]]
        meta['img_shape'] = size
    for sample in item['data_samples']:
        sample.set_metainfo(meta)
    return item


def predict(model, items):
    """Detections (x1, y1, x2, y2, score, label) of each 1-frame item."""
    with torch.no_grad():
        data = model.data_preprocessor(pseudo_collate(items), False)
        tracks = model.predict(data['inputs'], data['data_samples'])
    return [torch.cat([t[0].pred_instances.bboxes,
                       t[0].pred_instances.scores[:, None],
                       t[0].pred_instances.labels[:, None].float()], 1)
            for t in tracks]


def fail_on_call(monkeypatch, module, call):
    """Make ``module.predict`` raise on its ``call``-th call (from 1)."""
    original, calls = module.predict, []

    def predict(*args, **kwargs):
        calls.append(1)
        if len(calls) == call:
            raise RuntimeError('RoI head failed')
        return original(*args, **kwargs)

    monkeypatch.setattr(module, 'predict', predict)


def test_a_failure_after_the_backbone_rolls_back_the_step(
        val_frames, monkeypatch):
    model = build()
    expected = [predict(model, [val_frames[(0, f)]])[0] for f in range(3)]
    assert all(len(e) for e in expected)
    model.reset_streams()
    predict(model, [val_frames[(0, 0)]])
    fail_on_call(monkeypatch, model.roi_head, 1)
    with pytest.raises(RuntimeError, match='RoI head failed'):
        predict(model, [val_frames[(0, 1)]])
    # the retry is frame 1 after frame 0, not frame 1 shifted onto itself
    for f in (1, 2):
        torch.testing.assert_close(predict(model, [val_frames[(0, f)]])[0],
                                   expected[f])


def test_a_failure_in_the_second_size_group_rolls_back_the_first(
        val_frames, monkeypatch):
    """Two padded sizes run as two groups; the second fails: neither
    group's stream may advance."""
    model = build()
    small = {f: as_item(val_frames[(1, f)], (64, 96)) for f in range(2)}
    alone = {}
    for video, items in ((0, [val_frames[(0, f)] for f in range(2)]),
                         (1, [small[f] for f in range(2)])):
        model.reset_streams()
        alone[video] = [predict(model, [item])[0] for item in items]
    model.reset_streams()
    predict(model, [val_frames[(0, 0)], small[0]])
    fail_on_call(monkeypatch, model.roi_head, 2)
    with pytest.raises(RuntimeError, match='RoI head failed'):
        predict(model, [val_frames[(0, 1)], small[1]])
    both = predict(model, [val_frames[(0, 1)], small[1]])
    for video in (0, 1):
        torch.testing.assert_close(both[video], alone[video][1])


def test_videos_without_length_keep_bounded_streams(val_frames,
                                                    warnings_log):
    """20 videos without ``ori_video_length``: at most max_streams (16 by
    default) keep caches, each release is logged, a released video's
    frame 0 restarts it cleanly."""
    model = build()
    first = None
    for video in range(20):
        got = predict(model, [as_item(val_frames[(0, 0)], video_id=video,
                                      ori_video_length=None)])[0]
        first = got if first is None else first
    caches = model.backbone.stream_caches
    assert caches.stream_ids == list(range(4, 20))
    assert sum('released' in m for m in warnings_log) == 4
    with pytest.raises(ValueError, match='released: more than'):
        predict(model, [as_item(val_frames[(0, 1)], video_id=0,
                                ori_video_length=None)])
    again = predict(model, [as_item(val_frames[(0, 0)], video_id=0,
                                    ori_video_length=None)])[0]
    torch.testing.assert_close(again, first)
