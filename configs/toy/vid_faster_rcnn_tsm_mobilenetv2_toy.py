# Edge twin of ./vid_faster_rcnn_tsm_toy.py: the streaming TSM-MobileNetV2
# (MMDetection's MobileNetV2 keys; causal shift of the 10 inverted residuals
# with an identity connection) instead of R-18, FPN from stride 8.
_base_ = './vid_faster_rcnn_2d_toy.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='StreamingTSMMobileNetV2',
        num_segments={{_base_.clip_len}},
        shift_div=8,
        direction='causal',
        out_indices=(1, 2, 4, 7),  # strides 4, 8, 16, 32
        # GroupNorm as the R-18 toy; 8 groups divide every width (16-1280)
        norm_cfg=dict(type='GN', num_groups=8, requires_grad=True),
        norm_eval=False,
        init_cfg=None),
    neck=dict(in_channels=[24, 32, 96, 1280]))
