# Toy twin of ../vid_rtmdet_tiny_2d.py: RTMDet with a CSPNeXt of two thirds
# of RTMDet-tiny's width on the toy VID, with ./vid_faster_rcnn_2d_toy.py's
# data and iteration schedule, GroupNorm (a batch is one 8-frame clip) and
# RTMDet's AdamW. The toy pipeline has no CachedMosaic/CachedMixUp: they
# paste other images into a frame, which no clip can share.
_base_ = './vid_faster_rcnn_2d_toy.py'

norm_cfg = dict(type='GN', num_groups=8, requires_grad=True)
act_cfg = dict(type='SiLU', inplace=True)
model = dict(
    _delete_=True,
    type='VideoDetector',
    detector='RTMDet',  # the other keys are RTMDet's arguments
    data_preprocessor={{_base_.model.data_preprocessor}},
    backbone=dict(
        type='CSPNeXt',
        arch='P5',
        expand_ratio=0.5,
        deepen_factor=0.167,
        widen_factor=0.25,
        channel_attention=True,
        norm_cfg=norm_cfg,
        act_cfg=act_cfg),
    neck=dict(
        type='CSPNeXtPAFPN',
        in_channels=[64, 128, 256],
        out_channels=64,
        num_csp_blocks=1,
        expand_ratio=0.5,
        norm_cfg=norm_cfg,
        act_cfg=act_cfg),
    bbox_head=dict(
        type='RTMDetSepBNHead',
        num_classes=3,  # the toy's horse, tiger, zebra
        in_channels=64,
        stacked_convs=2,
        feat_channels=64,
        anchor_generator=dict(
            type='MlvlPointGenerator', offset=0, strides=[8, 16, 32]),
        bbox_coder=dict(type='DistancePointBBoxCoder'),
        loss_cls=dict(
            type='QualityFocalLoss',
            use_sigmoid=True,
            beta=2.0,
            loss_weight=1.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=2.0),
        with_objectness=False,
        exp_on_reg=False,
        share_conv=True,
        pred_kernel_size=1,
        norm_cfg=norm_cfg,
        act_cfg=act_cfg),
    train_cfg=dict(
        assigner=dict(type='DynamicSoftLabelAssigner', topk=13),
        allowed_border=-1,
        pos_weight=-1,
        debug=False),
    test_cfg=dict(
        nms_pre=1000,
        min_bbox_size=0,
        score_thr=0.001,
        nms=dict(type='nms', iou_threshold=0.65),
        max_per_img=30))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.004, weight_decay=0.05),
    paramwise_cfg=dict(
    norm_decay_mult=0, bias_decay_mult=0, bypass_duplicate=True))
