# Toy twin of ../vid_rtmdet_tiny_2d.py: RTMDet with a CSPNeXt of two thirds
# of RTMDet-tiny's width, 64-channel neck and head, GroupNorm (a batch is
# one 8-frame clip) and RTMDet's AdamW, on the toy VID of
# ./_base_/toy_vid.py (the toy Faster R-CNN's normalization). The toy
# pipeline has no CachedMosaic/CachedMixUp: they paste other images into a
# frame, which no clip can share.
_base_ = ['../_base_/models/rtmdet_tiny.py', './_base_/toy_vid.py']

norm_cfg = dict(_delete_=True, type='GN', num_groups=8, requires_grad=True)
model = dict(
    type='VideoDetector',
    detector='RTMDet',  # the base's other keys are RTMDet's arguments
    data_preprocessor=dict(
        type='TrackDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(widen_factor=0.25, norm_cfg=norm_cfg, init_cfg=None),
    neck=dict(in_channels=[64, 128, 256], out_channels=64, norm_cfg=norm_cfg),
    bbox_head=dict(
        num_classes=3,  # the toy's horse, tiger, zebra
        in_channels=64,
        feat_channels=64,
        norm_cfg=norm_cfg),
    test_cfg=dict(nms_pre=1000, max_per_img=30))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.004, weight_decay=0.05),
    paramwise_cfg=dict(
        norm_decay_mult=0, bias_decay_mult=0, bypass_duplicate=True))
