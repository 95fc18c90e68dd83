# Toy twin of ../vid_faster_rcnn_tsm.py: ./vid_faster_rcnn_2d_toy.py with the
# streaming TSM backbone (causal shift over the 8-frame training clips).
_base_ = './vid_faster_rcnn_2d_toy.py'

model = dict(
    backbone=dict(
        type='StreamingTSMResNet',
        num_segments={{_base_.clip_len}},
        shift_div=8,
        direction='causal'))
