# ImageNet-VID (ILSVRC2015) as clips: FGFA's 15 key frames per VID train
# video + DET images of the 30 VID classes (clips of one repeated image);
# test on every frame of every val video, in order, one stream per video.
# Convert first: python tools/convert_imagenet_vid.py --root $DATA_ROOT \
#     --out $DATA_ROOT/annotations
data_root = 'data/ILSVRC2015/'
clip_len = 4  # frames per training clip, T
img_scale = (1000, 600)
backend_args = None

train_pipeline = [
    dict(
        type='TransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(type='LoadImageFromFile', backend_args=backend_args),
            dict(type='LoadTrackAnnotations'),
            dict(type='Resize', scale=img_scale, keep_ratio=True),
            dict(type='RandomFlip', prob=0.5),
        ]),
    dict(type='PackTrackInputs'),
]
# per frame, as MMDetection's image test pipelines (inference_detector and
# DetInferencer take it as it is); the dataset packs each frame as a 1-frame
# clip for the streams
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor', 'flip', 'flip_direction', 'frame_id',
                   'video_id', 'video_length', 'ori_video_length',
                   'instances')),
]

vid_train = dict(
    type='ImageNetVIDDataset',
    data_root=data_root,
    ann_file='annotations/imagenet_vid_train.json',
    data_prefix=dict(img_path='Data/VID/'),
    clip_len=clip_len,
    key_frames='fgfa',
    clip_anchor='end',
    filter_cfg=dict(filter_empty_gt=True),
    pipeline=train_pipeline)
det_train = dict(
    type='ImageNetVIDDataset',
    data_root=data_root,
    ann_file='annotations/imagenet_det_train.json',
    data_prefix=dict(img_path='Data/DET/'),
    clip_len=clip_len,
    key_frames='all',
    filter_cfg=dict(filter_empty_gt=True),
    pipeline=train_pipeline)
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='ConcatDataset', datasets=[vid_train, det_train]))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='TrackImgSampler'),
    dataset=dict(
        type='ImageNetVIDDataset',
        data_root=data_root,
        ann_file='annotations/imagenet_vid_val.json',
        data_prefix=dict(img_path='Data/VID/'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='VIDMetric')
test_evaluator = val_evaluator
