# Online (causal) twin of ./tsm_r18_toy_actions.py: only the past moves in,
# so the trained model runs frame by frame (tools/online_recognition.py).
_base_ = './tsm_r18_toy_actions.py'

model = dict(backbone=dict(direction='causal'))
