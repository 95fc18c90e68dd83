# Toy twin of ../vid_retinanet_r50_2d.py: RetinaNet with the toy Faster
# R-CNN's R-18, a 64-channel FPN from stride 8, two 64-channel head convs,
# GroupNorm and anchors of 16-25 px at stride 8 (the objects are 16-35
# px), on the toy VID of ./_base_/toy_vid.py.
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py', './_base_/toy_vid.py'
]

norm_cfg = dict(type='GN', num_groups=16, requires_grad=True)
model = dict(
    type='VideoDetector',
    detector='RetinaNet',  # the base's other keys are RetinaNet's arguments
    data_preprocessor=dict(type='TrackDataPreprocessor'),
    backbone=dict(
        depth=18,
        frozen_stages=-1,
        norm_cfg=norm_cfg,
        norm_eval=False,
        init_cfg=None),
    neck=dict(
        in_channels=[64, 128, 256, 512],
        out_channels=64,
        num_outs=4,
        norm_cfg=norm_cfg),
    bbox_head=dict(
        num_classes=3,  # the toy's horse, tiger, zebra
        in_channels=64,
        stacked_convs=2,
        feat_channels=64,
        norm_cfg=norm_cfg,
        anchor_generator=dict(octave_base_scale=2, strides=[8, 16, 32, 64])),
    test_cfg=dict(nms_pre=500, max_per_img=30))
