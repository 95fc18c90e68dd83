# The same YOLOX-s with a streaming TSM-CSPDarknet: causal shift within
# training clips in every block with an identity path, frame by frame with
# per-video caches at test time.
_base_ = './vid_yolox_s_2d.py'

model = dict(
    backbone=dict(
        type='StreamingTSMCSPDarknet',
        num_segments={{_base_.clip_len}},
        shift_div=8,
        direction='causal'))
