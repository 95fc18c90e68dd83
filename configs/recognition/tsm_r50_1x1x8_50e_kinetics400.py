# MMAction2's TSM R-50 1x1x8 50e Kinetics-400, with tsm_mm's TSMResNet
# (same outputs as ResNetTSM, but 2D ResNet checkpoint keys).
_base_ = 'mmaction::recognition/tsm/' \
    'tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb.py'

custom_imports = dict(imports=['tsm_mm'], allow_failed_imports=False)

model = dict(backbone=dict(type='TSMResNet', num_segments=8))
# crash-safe saving (tsm_mm.engine); keeps MMAction2's interval, save_best
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
