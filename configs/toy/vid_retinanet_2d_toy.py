# Toy twin of ../vid_retinanet_2d.py: RetinaNet on the toy VID, sized like
# ./vid_faster_rcnn_2d_toy.py (its data, schedule and R-18 backbone; a
# 64-channel FPN from stride 8, GroupNorm, anchors of 16-25 px at stride 8
# for the 16-35 px objects).
_base_ = './vid_faster_rcnn_2d_toy.py'

model = dict(
    _delete_=True,
    type='VideoDetector',
    detector='RetinaNet',  # the other keys are RetinaNet's arguments
    data_preprocessor={{_base_.model.data_preprocessor}},
    backbone={{_base_.model.backbone}},
    neck=dict(
        type='FPN',
        in_channels=[64, 128, 256, 512],
        out_channels=64,
        start_level=1,
        add_extra_convs='on_input',
        num_outs=4,
        norm_cfg={{_base_.norm_cfg}}),
    bbox_head=dict(
        type='RetinaHead',
        num_classes=3,  # the toy's horse, tiger, zebra
        in_channels=64,
        stacked_convs=2,
        feat_channels=64,
        norm_cfg={{_base_.norm_cfg}},
        anchor_generator=dict(
            type='AnchorGenerator',
            octave_base_scale=2,
            scales_per_octave=3,
            ratios=[0.5, 1.0, 2.0],
            strides=[8, 16, 32, 64]),
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[.0, .0, .0, .0],
            target_stds=[1.0, 1.0, 1.0, 1.0]),
        loss_cls=dict(
            type='FocalLoss',
            use_sigmoid=True,
            gamma=2.0,
            alpha=0.25,
            loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
    train_cfg=dict(
        assigner=dict(
            type='MaxIoUAssigner',
            pos_iou_thr=0.5,
            neg_iou_thr=0.4,
            min_pos_iou=0,
            ignore_iof_thr=-1),
        sampler=dict(type='PseudoSampler'),
        allowed_border=-1,
        pos_weight=-1,
        debug=False),
    test_cfg=dict(
        nms_pre=500,
        min_bbox_size=0,
        score_thr=0.05,
        nms=dict(type='nms', iou_threshold=0.5),
        max_per_img=30))
