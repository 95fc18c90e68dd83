"""VideoFasterRCNN's test loop as users run it: ``Runner.test()`` over the
toy val videos, streamed one frame per item."""
import copy
import logging

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from toy_runner import toy_test_config

from tsm_mm.models.stream_caches import StreamOrderError

TOY_TSM = 'configs/toy/vid_faster_rcnn_tsm_toy.py'


class Warnings(logging.Handler):
    """The warnings a logger records."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def toy_test_cfg(root, ann_dir, work_dir, **backbone):
    """A Runner that tests the toy TSM detector (random weights)."""
    cfg = toy_test_config(TOY_TSM, root, f'{ann_dir}/imagenet_vid_val.json',
                           work_dir)
    cfg.model.backbone.update(backbone)
    return cfg


def run_test(cfg):
    """``Runner.test()``'s metrics and the warnings it logged."""
    runner = Runner.from_cfg(cfg)
    handler = Warnings()
    runner.logger.addHandler(handler)
    try:
        return runner.test(), handler.messages
    finally:
        runner.logger.removeHandler(handler)


def test_a_bidirectional_backbone_streamed_warns_once_with_the_cost(
        toy_vid_root, toy_vid_ann_dir, tmp_path):
    """Before: 16 frames streamed causally, not a word."""
    cfg = toy_test_cfg(toy_vid_root, toy_vid_ann_dir, tmp_path,
                      direction='bidirectional')
    metrics, warnings = run_test(cfg)
    assert 'vid/mAP' in metrics
    cost = [m for m in warnings if "direction='bidirectional'" in m]
    assert len(cost) == 1, warnings
    assert 'runs frame by frame with the causal rule' in cost[0]
    assert '99.2% top-1 offline but 70.8% run causally' in cost[0]
    assert "direction='causal'" in cost[0]
    # trained causally: no such warning
    cfg = toy_test_cfg(toy_vid_root, toy_vid_ann_dir, tmp_path / 'causal')
    _, warnings = run_test(cfg)
    assert not [m for m in warnings if "direction='bidirectional'" in m]


def test_two_frames_of_one_video_per_batch_name_the_sampler(
        toy_vid_root, toy_vid_ann_dir, tmp_path):
    """Before: 'a stream may give one frame per step, got stream_ids=[1, 1]'
    and no word on how to batch several videos."""
    cfg = toy_test_cfg(toy_vid_root, toy_vid_ann_dir, tmp_path)
    cfg.test_dataloader.batch_size = 2
    with pytest.raises(ValueError, match=r'a stream may give one frame per '
                       r'step, got stream_ids=\[1, 1\].*'
                       r'VideoInterleavedBatchSampler'):
        run_test(cfg)


def test_two_videos_under_one_video_id_are_named(toy_vid_val_dataset):
    """Video 1's frames relabelled with video 0's id, interleaved."""
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(TOY_TSM).model).eval()
    ds = toy_vid_val_dataset
    first = ds[(0, 0)]['data_samples'][0].video_id

    def item(video, frame):
        packed = copy.deepcopy(ds[(video, frame)])
        packed['data_samples'][0].set_metainfo(dict(video_id=first))
        return packed

    for video, frame in ((0, 0), (1, 0), (0, 1)):
        with torch.no_grad():
            data = model.data_preprocessor(
                pseudo_collate([item(video, frame)]), False)
            model.predict(data['inputs'], data['data_samples'])
    data = model.data_preprocessor(pseudo_collate([item(1, 1)]), False)
    with torch.no_grad(), pytest.raises(
            StreamOrderError, match=rf'stream id {first} is shared by two '
            r'videos.*\[.*\.JPEG\]'):
        model.predict(data['inputs'], data['data_samples'])
