# Faster R-CNN R-50-FPN with a single-frame 2D ResNet on ImageNet-VID: the
# baseline of vid_faster_rcnn_tsm.py, trained on the very same clips.
# Schedule in the spirit of mmtracking's VID configs (7 epochs, 8 GPUs).
_base_ = [
    './_base_/video_faster_rcnn_r50_fpn.py', './_base_/imagenet_vid.py',
    'mmdet::_base_/default_runtime.py'
]
custom_imports = dict(imports=['tsm_mm'], allow_failed_imports=False)

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=7, val_interval=7)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0 / 3, by_epoch=False, begin=0,
         end=500),
    dict(type='MultiStepLR', begin=0, end=7, by_epoch=True,
         milestones=[2, 5], gamma=0.1)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001),
    clip_grad=dict(max_norm=35, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=16)
# crash-safe saving (tsm_mm.engine); keeps the base's interval. Every frame
# of a video drawn by --show-dir (DetVisualizationHook wants image items)
default_hooks = dict(
    checkpoint=dict(type='AtomicCheckpointHook'),
    visualization=dict(type='VideoDetVisualizationHook'))
