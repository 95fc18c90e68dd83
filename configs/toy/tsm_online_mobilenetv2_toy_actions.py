# Online (causal) twin of ./tsm_mobilenetv2_toy_actions.py: only the past
# moves in, so the trained model runs frame by frame
# (tools/online_recognition.py, tools/export_onnx.py).
_base_ = './tsm_mobilenetv2_toy_actions.py'

model = dict(backbone=dict(direction='causal'))
