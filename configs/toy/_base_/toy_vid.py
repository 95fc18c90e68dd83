# The toy VID for the toy twins of every detector family: the generator's
# 160x120 frames resized to 128x96 (objects 16-35 px), 8-frame clips around
# every frame, 3 classes, an iteration-based schedule for a 2-core CPU.
# Data: python tools/make_toy_vid.py data/toy_vid && python \
#     tools/convert_imagenet_vid.py --root data/toy_vid \
#     --out data/toy_vid/annotations
_base_ = ['../../_base_/imagenet_vid.py', '../../_base_/schedule_vid_7e.py']

data_root = 'data/toy_vid/'
# in the json's category-id order (horse 15, tiger 25, zebra 30), which is
# how mmdet's BaseVideoDataset and CocoVideoMetric number labels
classes = ('horse', 'tiger', 'zebra')
clip_len = 8
img_scale = (128, 96)

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
