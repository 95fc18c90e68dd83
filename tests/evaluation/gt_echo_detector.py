"""Test fixture: a detector that echoes each frame's ground truth, with
misses and false boxes that depend on the frame, so that the mAP changes
with the set of frames scored (``invert=True``: every box given as
x2, y1, x1, y2). Registered as ``GTEchoDetector``."""
from typing import List

import torch
from mmdet.registry import MODELS
from mmengine.model import BaseModel
from mmengine.structures import InstanceData
from torch import nn

FALSE_BOX = [0.0, 0.0, 15.0, 15.0]


def echo(video_id: int, frame_id: int, boxes: List[List[float]],
         labels: List[int]) -> dict:
    """Predictions of one frame: GT kept unless (video + frame) % 3 == 0,
    plus one false box of class 0 whose score grows with the frame."""
    keep = (video_id + frame_id) % 3 != 0
    kept = list(boxes) if keep else []
    return dict(
        bboxes=kept + [FALSE_BOX],
        scores=[0.9 - 0.01 * frame_id] * len(kept) + [0.5 + 0.03 * frame_id],
        labels=(list(labels) if keep else []) + [0])


@MODELS.register_module()
class GTEchoDetector(BaseModel):
    """Predicts :func:`echo` of the raw GT (``instances``) of each frame."""

    def __init__(self, data_preprocessor=None, invert=False) -> None:
        super().__init__(data_preprocessor=data_preprocessor)
        self.invert = invert
        self.unused = nn.Parameter(torch.zeros(1))

    def forward(self, inputs, data_samples=None, mode='predict'):
        if mode != 'predict':
            raise NotImplementedError(mode)
        for track in data_samples:
            for frame in track.video_data_samples:
                meta = frame.metainfo
                pred = echo(meta['video_id'], meta['frame_id'],
                            [i['bbox'] for i in frame.instances],
                            [i['bbox_label'] for i in frame.instances])
                bboxes = torch.tensor(pred['bboxes']).view(-1, 4)
                if self.invert:
                    bboxes = bboxes[:, [2, 1, 0, 3]]
                frame.pred_instances = InstanceData(
                    bboxes=bboxes,
                    scores=torch.tensor(pred['scores']),
                    labels=torch.tensor(pred['labels'], dtype=torch.long))
        return data_samples


def echo_config(data_root: str, ann_file: str, work_dir, evaluator=None):
    """The toy 2D detection config testing ``ann_file`` with
    :class:`GTEchoDetector` as its model and ``evaluator`` (default
    ``VIDMetric`` on ``ann_file``)."""
    # here, not at the top: subprocess tests import this module alone
    from toy_runner import toy_test_config
    cfg = toy_test_config('configs/toy/vid_faster_rcnn_2d_toy.py',
                           data_root, ann_file, work_dir)
    cfg.model = dict(type='GTEchoDetector',
                     data_preprocessor=dict(type='TrackDataPreprocessor'))
    cfg.test_evaluator = evaluator or dict(type='VIDMetric',
                                           ann_file=ann_file)
    return cfg
