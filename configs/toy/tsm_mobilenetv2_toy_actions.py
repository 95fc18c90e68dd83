# TSM MobileNetV2 (the edge model of the official online demo) on the toy
# temporal actions: ./tsm_r18_toy_actions.py with TSMMobileNetV2 (MMAction2's
# MobileNetV2 keys, MobileNetV2TSM's shift) as the backbone.
_base_ = './tsm_r18_toy_actions.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='TSMMobileNetV2',
        pretrained=None,
        num_segments={{_base_.num_segments}},
        shift_div=8,
        norm_eval=False),
    cls_head=dict(in_channels=1280))
