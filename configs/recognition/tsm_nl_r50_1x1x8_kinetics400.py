# MMAction2's non-local TSM R-50 1x1x8 50e Kinetics-400 (embedded
# Gaussian), with tsm_mm's TSMResNet: same outputs as ResNetTSM, keys of
# MMAction2's ResNet plus layerX.Y.non_local_block.*; ResNetTSM non-local
# checkpoints load strictly. Offline only: non-local blocks see whole clips.
_base_ = 'mmaction::recognition/tsm/' \
    'tsm_imagenet-pretrained-r50-nl-embedded-gaussian_' \
    '8xb16-1x1x8-50e_kinetics400-rgb.py'

custom_imports = dict(imports=['tsm_mm'], allow_failed_imports=False)

model = dict(backbone=dict(type='TSMResNet'))
# crash-safe saving (tsm_mm.engine); keeps MMAction2's interval, save_best
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
