# The same RetinaNet with a streaming TSM ResNet: causal shift within
# training clips, frame by frame with per-video caches at test time.
_base_ = './vid_retinanet_r50_2d.py'

model = dict(
    backbone=dict(
        type='StreamingTSMResNet',
        num_segments={{_base_.clip_len}},
        shift_div=8,
        direction='causal'))
