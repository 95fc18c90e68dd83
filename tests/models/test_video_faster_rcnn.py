"""VideoFasterRCNN: clips in training, streams at test time."""
import copy
import logging

import pytest
import torch
from mmdet.registry import DATASETS, MODELS
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from random_weights import scale_norms

TOY_TSM = 'configs/toy/vid_faster_rcnn_tsm_toy.py'
TOY_2D = 'configs/toy/vid_faster_rcnn_2d_toy.py'


def build(config, **backbone):
    init_default_scope('mmdet')
    cfg = Config.fromfile(config).model
    cfg.backbone.update(backbone)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return scale_norms(model).eval()


def dataset(config, ann_dir, root, test_mode):
    init_default_scope('mmdet')
    cfg = Config.fromfile(config)
    loader = cfg.test_dataloader if test_mode else cfg.train_dataloader
    ds_cfg = copy.deepcopy(loader.dataset)
    split = 'val' if test_mode else 'train'
    ds_cfg.update(data_root=root,
                  ann_file=f'{ann_dir}/imagenet_vid_{split}.json')
    return DATASETS.build(ds_cfg)


@pytest.fixture(scope='module')
def val_frames(toy_vid_root, toy_vid_ann_dir):
    """Every val frame, as (video_idx, frame_idx) -> packed item."""
    ds = dataset(TOY_TSM, toy_vid_ann_dir, toy_vid_root, test_mode=True)
    return {(v, f): ds[(v, f)] for v in range(len(ds))
            for f in range(ds.get_len_per_video(v))}


def predict(model, items):
    with torch.no_grad():
        data = model.data_preprocessor(pseudo_collate(items), False)
        return model.predict(data['inputs'], data['data_samples'])


def detections(track_samples):
    out = []
    for track in track_samples:
        pred = track[0].pred_instances
        out.append(torch.cat([pred.bboxes, pred.scores[:, None],
                              pred.labels[:, None].float()], 1))
    return out


def test_stream_features_equal_offline_causal(val_frames):
    model = build(TOY_TSM)
    items = [val_frames[(0, f)] for f in range(8)]
    data = model.data_preprocessor(pseudo_collate(items), False)
    frames = data['inputs'][:, 0]  # eight 1-frame items -> one clip
    with torch.no_grad():
        offline = model.extract_feat(frames)
        model.reset_streams()
        steps = []
        for t, frame in enumerate(frames):
            with model.backbone.stream_step(['v'], [t]):
                steps.append(model.extract_feat(frame[None]))
    for level, expected in enumerate(offline):
        got = torch.cat([step[level] for step in steps])
        assert (got - expected).abs().max() <= 1e-5 * expected.abs().max()
    # and not the 2D features: the shift acts
    model_2d = build(TOY_TSM, is_shift=False)
    with torch.no_grad():
        flat = model_2d.extract_feat(frames)
    assert (flat[0][1:] - offline[0][1:]).abs().max() > 1e-4


def test_interleaved_videos_equal_separate_runs(val_frames):
    model = build(TOY_TSM)
    alone = {}
    for video in (0, 1):
        model.reset_streams()
        alone[video] = [detections(predict(model, [val_frames[(video, f)]]))[0]
                        for f in range(8)]
    model.reset_streams()
    for f in range(8):
        both = detections(predict(model, [val_frames[(0, f)],
                                          val_frames[(1, f)]]))
        for video in (0, 1):
            torch.testing.assert_close(both[video], alone[video][f],
                                       atol=1e-4, rtol=1e-4)
    # the streams were freed at the end of each video
    assert model.backbone.stream_caches.stream_ids == []


def test_new_video_resets_and_order_is_checked(val_frames):
    model = build(TOY_TSM)
    first = detections(predict(model, [val_frames[(0, 0)]]))[0]
    predict(model, [val_frames[(0, 1)]])
    # frame 0 again: a fresh stream, the same detections as the first time
    again = detections(predict(model, [val_frames[(0, 0)]]))[0]
    torch.testing.assert_close(again, first)
    with pytest.raises(ValueError, match='frame 2 .* expects frame 1'):
        predict(model, [val_frames[(0, 2)]])
    with pytest.raises(ValueError, match='expects frame 0'):
        predict(model, [val_frames[(1, 3)]])


def test_frame_size_change_is_an_error(val_frames):
    model = build(TOY_TSM)
    predict(model, [val_frames[(0, 0)]])
    item = copy.deepcopy(val_frames[(0, 1)])
    item['inputs'] = item['inputs'][..., :64, :96]
    for sample in item['data_samples']:
        sample.set_metainfo(dict(img_shape=(64, 96)))
    with pytest.raises(ValueError, match='must share a size'):
        predict(model, [item])


def test_2d_checkpoint_loads_strictly_and_no_shift_changes_nothing(
        val_frames):
    model_2d = build(TOY_2D)
    model_tsm = build(TOY_TSM, is_shift=False)
    assert list(model_2d.state_dict()) == list(model_tsm.state_dict())
    model_tsm.load_state_dict(model_2d.state_dict(), strict=True)
    shifted = build(TOY_TSM)
    shifted.load_state_dict(model_2d.state_dict(), strict=True)
    for f in range(3):
        item = [val_frames[(0, f)]]
        expected = detections(predict(model_2d, item))[0]
        torch.testing.assert_close(
            detections(predict(model_tsm, item))[0], expected)
        got = detections(predict(shifted, item))[0]
        if f:  # frame 0 has no past: the causal shift only brings zeros
            assert got.shape != expected.shape or \
                not torch.allclose(got, expected)


def test_training_step_on_clips(toy_vid_root, toy_vid_ann_dir):
    model = build(TOY_TSM).train()
    ds = dataset(TOY_TSM, toy_vid_ann_dir, toy_vid_root, test_mode=False)
    batch = pseudo_collate([ds[0], ds[5]])
    data = model.data_preprocessor(batch, True)
    inputs = data['inputs'].requires_grad_()
    assert inputs.shape[:2] == (2, 8)
    losses = model.loss(inputs, data['data_samples'])
    total = sum(v.sum() for k, v in losses.items() if 'loss' in k
                for v in (v if isinstance(v, list) else [v]))
    assert torch.isfinite(total)
    total.backward()
    # every frame of every clip reaches the losses
    per_frame = inputs.grad.abs().flatten(2).sum(-1)
    assert (per_frame > 0).all(), per_frame
    with pytest.raises(ValueError, match='num_segments=8'):
        model.loss(inputs[:, :3].detach(),
                   [clip[:3] for clip in data['data_samples']])


def test_clip_length_is_checked_in_every_mode(toy_vid_root,
                                              toy_vid_ann_dir):
    """Eight 1-frame clips divide into one 8-frame clip: without the check
    eight unrelated images would be shifted into each other."""
    model = build(TOY_TSM)
    ds = dataset(TOY_TSM, toy_vid_ann_dir, toy_vid_root, test_mode=False)
    data = model.data_preprocessor(pseudo_collate([ds[0]]), True)
    clip, samples = data['inputs'], data['data_samples']
    singles = clip.transpose(0, 1)  # (8, 1, C, H, W)
    single_samples = [samples[0][i:i + 1] for i in range(8)]
    with pytest.raises(ValueError, match=r'\(loss\): clips have 1 frames'):
        model.loss(singles, single_samples)
    with pytest.raises(ValueError, match=r'\(tensor\): clips have 1 frames'):
        model(singles, single_samples, mode='tensor')
    with pytest.raises(ValueError, match=r'\(tensor\) takes clips'):
        model(clip[0], mode='tensor')
    with pytest.raises(ValueError, match=r'\(predict\): clips have 4'):
        model.predict(clip[:, :4], [samples[0][:4]])
    with torch.no_grad():
        roi_outs = model(clip, samples, mode='tensor')[0]
    assert len(roi_outs) == 2  # the RoI head's scores and deltas
    # a 2D backbone takes any batch of images
    model_2d = build(TOY_2D)
    with torch.no_grad():
        model_2d(clip[0], list(samples[0]), mode='tensor')


def test_stock_faster_rcnn_warns_at_build():
    records = []

    class Handler(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    logger = MMLogger.get_current_instance()
    handler = Handler(logging.WARNING)
    logger.addHandler(handler)
    try:
        init_default_scope('mmdet')
        cfg = Config.fromfile(TOY_TSM).model
        MODELS.build(cfg)
        assert not any('will be mixed' in m for m in records)
        MODELS.build(dict(cfg, type='FasterRCNN'))
    finally:
        logger.removeHandler(handler)
    assert sum('will be mixed' in m for m in records) == 1
