"""Stock MMDetection configs made video detectors, shrunk for the CPU.

Each case is the stock config file under mmdet's ``.mim/configs``, then the
one change (``model = dict(type='VideoDetector', detector=model)`` with a
streaming backbone), then the shrinking: depth 18 or the tiny variant, few
classes, no pretrained weights.
"""
import copy
import os.path as osp

import mmdet
import torch
from mmdet.structures import DetDataSample, TrackDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.config import Config
from mmengine.structures import InstanceData

CONFIGS = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs')
T, SIZE, CLASSES = 3, 64, 3
R18_FPN = [64, 128, 256, 512]


def _r18(backbone):
    backbone.update(depth=18, init_cfg=None)


def _as_list(cfg):
    return cfg if isinstance(cfg, list) else [cfg]


def _faster(m):
    _r18(m.backbone)
    m.neck.in_channels = R18_FPN
    for head in _as_list(m.roi_head.bbox_head):
        head.num_classes = CLASSES
    if 'mask_head' in m.roi_head:
        m.roi_head.mask_head.num_classes = CLASSES
    # fewer proposals and RoIs: the CPU's share
    m.train_cfg.rpn_proposal.update(nms_pre=200, max_per_img=50)
    for rcnn in _as_list(m.train_cfg.rcnn):
        rcnn.sampler.num = 32
    m.test_cfg.rpn.update(nms_pre=200, max_per_img=50)
    m.test_cfg.rcnn.max_per_img = 20


def _single(m):
    _r18(m.backbone)
    m.neck.in_channels = R18_FPN
    m.bbox_head.num_classes = CLASSES


def _detr(m):
    _r18(m.backbone)
    m.bbox_head.num_classes = CLASSES


def _csp(m):
    m.test_cfg.score_thr = 0.  # random weights score low
    m.backbone.init_cfg = None
    m.bbox_head.num_classes = CLASSES


# family: (stock config, shrink, streaming backbone from the stock one)
CASES = {
    'faster_rcnn': ('faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', _faster,
                    lambda b: dict(b, type='StreamingTSMResNet')),
    'mask_rcnn': ('mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py', _faster,
                  lambda b: dict(b, type='StreamingTSMResNet')),
    'cascade_rcnn': ('cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py', _faster,
                     lambda b: dict(b, type='StreamingTSMResNet')),
    # the general wrapper, sites named in the config
    'retinanet': ('retinanet/retinanet_r18_fpn_1x_coco.py', _single,
                  lambda b: dict(type='StreamingTSM', backbone=b,
                                 sites='layer*.*.conv1')),
    'fcos': ('fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py', _single,
             lambda b: dict(b, type='StreamingTSMResNet')),
    'rtmdet': ('rtmdet/rtmdet_tiny_8xb32-300e_coco.py', _csp,
               lambda b: dict(b, type='StreamingTSMCSPNeXt')),
    # the general wrapper, CSPDarknet's preset sites
    'yolox': ('yolox/yolox_tiny_8xb8-300e_coco.py', _csp,
              lambda b: dict(type='StreamingTSM', backbone=b)),
    'detr': ('detr/detr_r18_8xb2-500e_coco.py', _detr,
             lambda b: dict(b, type='StreamingTSMResNet')),
}


# families whose default torch init overflows the box decoding (NaN)
INIT_WEIGHTS = {'yolox'}


def stock_model(family):
    """The stock model config of ``family``, shrunk (still 2D)."""
    path, shrink, _ = CASES[family]
    model = Config.fromfile(osp.join(CONFIGS, path)).model
    shrink(model)
    return model


def video_model(family, **shift):
    """The video detector config: the one change on the stock model."""
    model = stock_model(family)
    model.backbone = CASES[family][2](model.backbone)
    model.backbone.update(num_segments=T, **shift)
    return dict(type='VideoDetector', detector=model)


def clip_batch(num_clips=2, seed=0, masks=False):
    """Packed clips as a dataloader gives them: one per video, T frames of
    SIZE x SIZE with two boxes each."""
    gen = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for video in range(num_clips):
        inputs.append(torch.randint(0, 256, (T, 3, SIZE, SIZE),
                                    generator=gen, dtype=torch.uint8))
        track = TrackDataSample()
        frames = []
        for frame in range(T):
            sample = DetDataSample(metainfo=dict(
                img_shape=(SIZE, SIZE), ori_shape=(SIZE, SIZE),
                scale_factor=(1., 1.), video_id=video, frame_id=frame,
                ori_video_length=T, img_id=video * T + frame,
                img_path=f'video{video}/{frame:06d}.JPEG'))
            xy = torch.rand(2, 2, generator=gen) * SIZE / 2
            gt = InstanceData(
                bboxes=torch.cat([xy, xy + SIZE / 4 + xy / 2], 1),
                labels=torch.tensor([video % CLASSES, 1]))
            if masks:
                mask = torch.zeros(2, SIZE, SIZE, dtype=torch.uint8)
                mask[:, 8:40, 8:40] = 1
                gt.masks = BitmapMasks(mask.numpy(), SIZE, SIZE)
            sample.gt_instances = gt
            frames.append(sample)
        track.video_data_samples = frames
        samples.append(track)
    return dict(inputs=inputs, data_samples=samples)


def copied(data):
    """A deep copy of preprocessed data (predict writes into samples)."""
    return dict(inputs=data['inputs'],
                data_samples=copy.deepcopy(data['data_samples']))
