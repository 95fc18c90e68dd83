# The same RTMDet-tiny with a streaming TSM-CSPNeXt: causal shift within
# training clips in every block with an identity path, frame by frame with
# per-video caches at test time.
_base_ = './vid_rtmdet_tiny_2d.py'

model = dict(
    backbone=dict(
        type='StreamingTSMCSPNeXt',
        num_segments={{_base_.clip_len}},
        shift_div=8,
        direction='causal'))
