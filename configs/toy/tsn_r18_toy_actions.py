# TSN twin of ./tsm_r18_toy_actions.py: MMAction2's plain 2D ResNet-18,
# everything else identical (per-frame features, average consensus).
_base_ = './tsm_r18_toy_actions.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNet',
        depth=18,
        pretrained=None,
        norm_eval=False))
