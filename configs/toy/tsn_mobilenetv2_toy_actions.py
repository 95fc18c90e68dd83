# TSN twin of ./tsm_mobilenetv2_toy_actions.py: MMAction2's plain 2D
# MobileNetV2, everything else identical (per-frame features, average
# consensus).
_base_ = './tsm_mobilenetv2_toy_actions.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='MobileNetV2',
        pretrained=None,
        norm_eval=False))
