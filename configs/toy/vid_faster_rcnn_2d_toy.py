# Toy twin of ../vid_faster_rcnn_2d.py sized for a 2-core CPU: R-18 with a
# 64-channel FPN from stride 8, the generator's 160x120 frames resized to
# 128x96 (objects 16-35 px; ~0.18 s per 8-frame iteration here), 32 RoIs
# sampled per image, GroupNorm (a batch is one 8-frame clip),
# iteration-based schedule.
# Data: python tools/make_toy_vid.py data/toy_vid && python \
#     tools/convert_imagenet_vid.py --root data/toy_vid \
#     --out data/toy_vid/annotations
_base_ = '../vid_faster_rcnn_2d.py'

data_root = 'data/toy_vid/'
# in the json's category-id order (horse 15, tiger 25, zebra 30), which is
# how mmdet's BaseVideoDataset and CocoVideoMetric number labels
classes = ('horse', 'tiger', 'zebra')
clip_len = 8
img_scale = (128, 96)
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
                       num_classes=len(classes))),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=500, max_per_img=200),
        rcnn=dict(sampler=dict(num=32))),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=100),
                  rcnn=dict(max_per_img=30)))

# the base's pipelines at the toy's scale, with the default file backend
train_pipeline = [
    dict(
        type='TransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadTrackAnnotations'),
            dict(type='Resize', scale=img_scale, keep_ratio=True),
            dict(type='RandomFlip', prob=0.5),
        ]),
    dict(type='PackTrackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor', 'flip', 'flip_direction', 'frame_id',
                   'video_id', 'video_length', 'ori_video_length',
                   'instances')),
]
# the base's datasets on the toy set: its 3 classes, clips around every frame
vid_train = dict(
    _base_.vid_train,
    data_root=data_root,
    metainfo=dict(classes=classes),
    clip_len=clip_len,
    key_frames='all',
    pipeline=train_pipeline)
train_dataloader = dict(
    _delete_=True,
    batch_size=1,  # one 8-frame clip: 8 images, as many as 2 clips of 4
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=vid_train)
val_dataloader = dict(
    _delete_=True,
    batch_size=1,
    num_workers=0,
    sampler=dict(type='TrackImgSampler'),
    dataset=dict(
        _base_.val_dataloader.dataset,
        data_root=data_root,
        metainfo=dict(classes=classes),
        pipeline=test_pipeline))
test_dataloader = val_dataloader

train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=600,
    val_interval=600)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=100),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=600,
         milestones=[450], gamma=0.1)
]
optim_wrapper = dict(optimizer=dict(lr=0.01))
default_hooks = dict(
    # metrics logged at their iteration (mmdet analyze_logs.py, TensorBoard)
    logger=dict(interval=20, log_metric_by_epoch=False),
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False,
                    interval=600, max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
