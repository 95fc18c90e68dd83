# Toy twin of ../vid_yolox_s_2d.py: YOLOX with a CSPDarknet of half
# YOLOX-s's width on the toy VID, with ./vid_faster_rcnn_2d_toy.py's data,
# schedule and SGD, GroupNorm (a batch is one 8-frame clip). No Mosaic,
# MixUp or BatchSyncRandomResize: they mix images or resize a whole batch,
# which no clip can share; the clip pipeline resizes and flips per clip.
_base_ = './vid_faster_rcnn_2d_toy.py'

norm_cfg = dict(type='GN', num_groups=8, requires_grad=True)
act_cfg = dict(type='Swish')
model = dict(
    _delete_=True,
    type='VideoDetector',
    detector='YOLOX',  # the other keys are YOLOX's arguments
    data_preprocessor={{_base_.model.data_preprocessor}},
    backbone=dict(
        type='CSPDarknet',
        deepen_factor=0.33,
        widen_factor=0.25,
        out_indices=(2, 3, 4),
        use_depthwise=False,
        spp_kernal_sizes=(5, 9, 13),
        norm_cfg=norm_cfg,
        act_cfg=act_cfg),
    neck=dict(
        type='YOLOXPAFPN',
        in_channels=[64, 128, 256],
        out_channels=64,
        num_csp_blocks=1,
        use_depthwise=False,
        upsample_cfg=dict(scale_factor=2, mode='nearest'),
        norm_cfg=norm_cfg,
        act_cfg=act_cfg),
    bbox_head=dict(
        type='YOLOXHead',
        num_classes=3,  # the toy's horse, tiger, zebra
        in_channels=64,
        feat_channels=64,
        stacked_convs=2,
        strides=(8, 16, 32),
        use_depthwise=False,
        norm_cfg=norm_cfg,
        act_cfg=act_cfg,
        loss_cls=dict(
            type='CrossEntropyLoss',
            use_sigmoid=True,
            reduction='sum',
            loss_weight=1.0),
        loss_bbox=dict(
            type='IoULoss',
            mode='square',
            eps=1e-16,
            reduction='sum',
            loss_weight=5.0),
        loss_obj=dict(
            type='CrossEntropyLoss',
            use_sigmoid=True,
            reduction='sum',
            loss_weight=1.0),
        loss_l1=dict(type='L1Loss', reduction='sum', loss_weight=1.0)),
    train_cfg=dict(
        assigner=dict(type='SimOTAAssigner', center_radius=2.5)),
    test_cfg=dict(
        score_thr=0.01,
        nms=dict(type='nms', iou_threshold=0.65),
        max_per_img=30))
