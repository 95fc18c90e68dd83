"""VideoDetector over stock MMDetection configs: clips in ``loss``,
frame-by-frame streaming equal to the offline causal clip."""
import copy
import os.path as osp

import pytest
import torch
from detections_match import assert_same_detections
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from random_weights import scale_norms
from video_detector_cases import (
    CASES,
    CONFIGS,
    INIT_WEIGHTS,
    SIZE,
    T,
    clip_batch,
    copied,
    stock_model,
    video_model,
)

from tsm_mm.models.detectors import VideoDetectorMixin


def build(cfg, family):
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    if family in INIT_WEIGHTS:
        model.init_weights()
    return scale_norms(model).eval()


def video_cfg(family):
    cfg = video_model(family)
    if family == 'yolox':  # refused as it stands, see below
        cfg['detector'].data_preprocessor.batch_augments = None
    return cfg


@pytest.fixture(scope='module', params=list(CASES))
def case(request):
    family = request.param
    return family, build(video_cfg(family), family)


def test_loss_on_clips_supervises_every_frame(case):
    family, model = case
    assert isinstance(model, VideoDetectorMixin)
    assert model.backbone.num_shift_sites > 0
    data = model.data_preprocessor(clip_batch(masks=family == 'mask_rcnn'),
                                   True)
    inputs = data['inputs'].requires_grad_()
    assert inputs.shape == (2, T, 3, SIZE, SIZE)
    model.train()
    try:
        losses = model.loss(inputs, data['data_samples'])
    finally:
        model.eval()
    total = sum(v.sum() for k, v in losses.items() if 'loss' in k
                for v in (v if isinstance(v, list) else [v]))
    assert torch.isfinite(total)
    total.backward()
    per_frame = inputs.grad.abs().flatten(2).sum(-1)
    assert (per_frame > 0).all(), per_frame
    with pytest.raises(ValueError, match=f'num_segments={T}'):
        model.loss(inputs[:, :2].detach(),
                   [clip[:2] for clip in data['data_samples']])


def detections(sample):
    pred = sample.pred_instances
    return pred.labels, pred.bboxes, pred.scores


def test_two_interleaved_streams_equal_the_offline_causal_clips(case):
    family, model = case
    data = model.data_preprocessor(clip_batch(seed=1), False)
    clips = data['inputs']
    with torch.no_grad():
        run = copied(data)
        offline = model.predict(run['inputs'], run['data_samples'])
        model.reset_streams()
        steps = []
        for t in range(T):
            run = copied(data)
            steps.append(model.predict(
                run['inputs'][:, t:t + 1],
                [clip[t:t + 1] for clip in run['data_samples']]))
        assert model.backbone.stream_caches.stream_ids == []  # released
        feats = model.extract_feat(clips.flatten(0, 1))
        streamed = []
        for t in range(T):
            with model.backbone.stream_step([0, 1], [t, t]):
                streamed.append(model.extract_feat(clips[:, t]))
        # frame 1 with no past (a new stream): the shift does act
        with model.backbone.stream_step(['fresh']):
            fresh = model.extract_feat(clips[:1, 1])
    for video in range(2):
        for t in range(T):
            expected = detections(offline[video][t])
            assert len(expected[0]), (family, video, t)
            assert_same_detections(
                [a.numpy() for a in detections(steps[t][video][0])],
                [a.numpy() for a in expected], (family, video, t))
    for level, expected in enumerate(feats):
        got = torch.stack([step[level] for step in streamed], 1)
        expected = expected.unflatten(0, (2, T))
        assert (got - expected).abs().max() <= \
            1e-5 * expected.abs().max(), (family, level)
    first = feats[0].unflatten(0, (2, T))[0, 1]
    assert (fresh[0][0] - first).abs().max() > 1e-4 * first.abs().max()


def test_yolox_batch_augments_are_refused_at_build():
    init_default_scope('mmdet')
    with pytest.raises(ValueError, match=r"VideoYOLOX: data_preprocessor\."
                       r"batch_augments=\['BatchSyncRandomResize'\].*"
                       r'batch_augments=None.*TransformBroadcaster'):
        MODELS.build(video_model('yolox'))


@pytest.mark.parametrize('mode', ['predict', 'loss'])
def test_stock_detector_with_a_shift_backbone_fails_at_first_forward(mode):
    """Before: T unrelated images of a batch shifted into each other, with
    a warning at build only."""
    init_default_scope('mmdet')
    cfg = stock_model('retinanet')
    cfg.backbone.update(type='StreamingTSMResNet', num_segments=T)
    model = MODELS.build(cfg).eval()
    data = model.data_preprocessor(dict(
        inputs=[torch.zeros(3, SIZE, SIZE, dtype=torch.uint8)] * T,
        data_samples=[clip_batch(1)['data_samples'][0][t]
                      for t in range(T)]), mode == 'loss')
    with pytest.raises(RuntimeError, match=r"unrelated images of a batch "
                       r"will be mixed.*type='VideoDetector', detector=.*"
                       r'routed=True'):
        model(**data, mode=mode)
    # the explicit opt-out: the caller gives clips of T frames itself
    cfg.backbone.routed = True
    model = MODELS.build(cfg).eval()
    with torch.no_grad():
        model(**copy.deepcopy(data), mode=mode)


@pytest.mark.parametrize('family', ['retinanet', 'rtmdet'])
def test_2d_checkpoint_loads_strictly(family, tmp_path):
    """A COCO-style 2D checkpoint (saved random weights) starts the video
    detector: same keys, strict load, no prefix."""
    model_2d = build(stock_model(family), family)
    path = str(tmp_path / '2d.pth')
    torch.save(dict(state_dict=model_2d.state_dict(), meta=dict()), path)
    video = MODELS.build(video_cfg(family))
    assert list(video.state_dict()) == list(model_2d.state_dict())
    load_checkpoint(video, path, strict=True)
    for key, value in model_2d.state_dict().items():
        assert torch.equal(video.state_dict()[key], value), key


def test_one_change_over_a_stock_config_file(tmp_path):
    """The change written over mmdet's own config file, keys merged from
    it: a video RetinaNet whose backbone streams, the 2D keys unchanged."""
    config = tmp_path / 'retinanet_tsm_video.py'
    config.write_text(
        "_base_ = 'mmdet::retinanet/retinanet_r18_fpn_1x_coco.py'\n"
        "custom_imports = dict(imports=['tsm_mm'], "
        'allow_failed_imports=False)\n'
        "model = dict(type='VideoDetector', detector='RetinaNet',\n"
        "             backbone=dict(type='StreamingTSMResNet', "
        'num_segments=3, init_cfg=None))\n')
    cfg = Config.fromfile(str(config))
    init_default_scope('mmdet')
    video = MODELS.build(cfg.model)
    assert type(video).__name__ == 'VideoRetinaNet'
    assert type(video.backbone).__name__ == 'StreamingTSMResNet'
    stock = Config.fromfile(
        osp.join(CONFIGS, 'retinanet/retinanet_r18_fpn_1x_coco.py')).model
    stock.backbone.init_cfg = None
    assert list(video.state_dict()) == list(
        MODELS.build(stock).state_dict())
    with pytest.raises(TypeError, match='belong in `detector`'):
        MODELS.build(dict(type='VideoDetector', detector=dict(stock),
                          neck=stock.neck))
