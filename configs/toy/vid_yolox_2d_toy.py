# Toy twin of ../vid_yolox_s_2d.py: YOLOX with a CSPDarknet of half
# YOLOX-s's width, 64-channel neck and head, GroupNorm (a batch is one
# 8-frame clip) and SGD, on the toy VID of ./_base_/toy_vid.py (the toy
# Faster R-CNN's normalization). No Mosaic, MixUp or BatchSyncRandomResize:
# they mix images or resize a whole batch, which no clip can share; the
# clip pipeline resizes and flips per clip.
_base_ = ['../_base_/models/yolox_s.py', './_base_/toy_vid.py']

norm_cfg = dict(_delete_=True, type='GN', num_groups=8, requires_grad=True)
model = dict(
    type='VideoDetector',
    detector='YOLOX',  # the base's other keys are YOLOX's arguments
    data_preprocessor=dict(
        type='TrackDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(widen_factor=0.25, norm_cfg=norm_cfg),
    neck=dict(in_channels=[64, 128, 256], out_channels=64, norm_cfg=norm_cfg),
    bbox_head=dict(
        num_classes=3,  # the toy's horse, tiger, zebra
        in_channels=64,
        feat_channels=64,
        norm_cfg=norm_cfg),
    test_cfg=dict(max_per_img=30))
