# Toy twin of ../vid_retinanet_tsm.py: ./vid_retinanet_2d_toy.py with the
# streaming TSM backbone (causal shift over the 8-frame training clips).
_base_ = './vid_retinanet_2d_toy.py'

model = dict(
    backbone=dict(
        type='StreamingTSMResNet',
        num_segments={{_base_.clip_len}},
        shift_div=8,
        direction='causal'))
