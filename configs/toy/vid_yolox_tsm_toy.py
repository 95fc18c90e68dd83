# Toy twin of ../vid_yolox_s_tsm.py: ./vid_yolox_2d_toy.py with the
# streaming TSM-CSPDarknet (causal shift in every block with an identity
# path).
_base_ = './vid_yolox_2d_toy.py'

model = dict(
    backbone=dict(
        type='StreamingTSMCSPDarknet',
        num_segments={{_base_.clip_len}},
        shift_div=8,
        direction='causal'))
