# The VID detectors' schedule and runtime, in the spirit of mmtracking's VID
# configs (7 epochs, 8 GPUs), with tsm_mm's crash-safe checkpoints and
# every frame of a video drawn by --show-dir.
_base_ = 'mmdet::_base_/default_runtime.py'
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
