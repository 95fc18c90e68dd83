# Toy twin of ../vid_rtmdet_tiny_tsm.py: ./vid_rtmdet_2d_toy.py with the
# streaming TSM-CSPNeXt (causal shift in every block with an identity path).
_base_ = './vid_rtmdet_2d_toy.py'

model = dict(
    backbone=dict(
        type='StreamingTSMCSPNeXt',
        num_segments={{_base_.clip_len}},
        shift_div=8,
        direction='causal'))
