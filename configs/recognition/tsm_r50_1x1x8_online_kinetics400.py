# Online (causal) TSM: only the past moves in, so the trained model runs
# frame by frame with TSMResNet.forward_stream (tools/online_recognition.py).
_base_ = './tsm_r50_1x1x8_50e_kinetics400.py'

model = dict(backbone=dict(direction='causal'))
