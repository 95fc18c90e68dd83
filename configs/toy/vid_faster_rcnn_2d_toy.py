# Toy twin of ../vid_faster_rcnn_2d.py sized for a 2-core CPU: R-18 with a
# 64-channel FPN from stride 8, 32 RoIs sampled per image, GroupNorm (a
# batch is one 8-frame clip), on the toy VID of ./_base_/toy_vid.py.
_base_ = ['../_base_/video_faster_rcnn_r50_fpn.py', './_base_/toy_vid.py']

norm_cfg = dict(type='GN', num_groups=16, requires_grad=True)
model = dict(
    backbone=dict(
        depth=18,
        frozen_stages=-1,
        norm_cfg=norm_cfg,
        norm_eval=False,
        init_cfg=None),
    neck=dict(
        in_channels=[64, 128, 256, 512],
        out_channels=64,
        start_level=1,
        num_outs=4,
        norm_cfg=norm_cfg),
    rpn_head=dict(
        in_channels=64,
        feat_channels=64,
        anchor_generator=dict(scales=[3, 5], strides=[8, 16, 32, 64])),
    roi_head=dict(
        bbox_roi_extractor=dict(
            roi_layer=dict(sampling_ratio=2),
            out_channels=64,
            featmap_strides=[8, 16, 32]),
        bbox_head=dict(in_channels=64, fc_out_channels=256,
                       num_classes=3)),  # the toy's classes
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=500, max_per_img=200),
        rcnn=dict(sampler=dict(num=32))),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=100),
                  rcnn=dict(max_per_img=30)))
