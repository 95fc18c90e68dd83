# RTMDet-tiny with a single-frame 2D CSPNeXt on ImageNet-VID: the baseline
# of vid_rtmdet_tiny_tsm.py, trained on the very same clips. The clip
# pipeline of ./_base_/imagenet_vid.py replaces RTMDet's CachedMosaic and
# CachedMixUp, which paste other images into a frame (no clip can share
# them), and its AdamW keeps RTMDet's learning rate per image (0.004 for
# 256 images; 8 GPUs x 2 clips x 4 frames here). No EMA: 7 epochs.
_base_ = [
    './_base_/models/rtmdet_tiny.py', './_base_/imagenet_vid.py',
    './_base_/schedule_vid_7e.py'
]

model = dict(
    type='VideoDetector',
    detector='RTMDet',  # the base's other keys are RTMDet's arguments
    data_preprocessor=dict(pad_size_divisor=32),
    bbox_head=dict(num_classes=30))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.004 * 64 / 256, weight_decay=0.05),
    paramwise_cfg=dict(
        norm_decay_mult=0, bias_decay_mult=0, bypass_duplicate=True))
