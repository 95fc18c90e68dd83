# YOLOX-s with a single-frame 2D CSPDarknet on ImageNet-VID: the baseline
# of vid_yolox_s_tsm.py, trained on the very same clips. The clip pipeline
# of ./_base_/imagenet_vid.py replaces YOLOX's Mosaic and MixUp, which
# paste other images into a frame (no clip can share them); SGD at YOLOX's
# learning rate per image (0.01 for 64 images, as 8 GPUs x 2 clips x 4
# frames here). No EMA and no YOLOXModeSwitchHook (its last 15 of 300
# epochs drop the mixing augmentations, which these never use): 7 epochs.
_base_ = [
    './_base_/models/yolox_s.py', './_base_/imagenet_vid.py',
    './_base_/schedule_vid_7e.py'
]

model = dict(
    type='VideoDetector',
    detector='YOLOX',  # the base's other keys are YOLOX's arguments
    bbox_head=dict(num_classes=30))
optim_wrapper = dict(
    optimizer=dict(lr=0.01, momentum=0.9, weight_decay=5e-4, nesterov=True),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.))
