# RetinaNet R-50-FPN with a single-frame 2D ResNet on ImageNet-VID: the
# baseline of vid_retinanet_r50_tsm.py, trained on the very same clips.
# MMDetection's RetinaNet made a video detector by one change of its model.
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py', './_base_/imagenet_vid.py',
    './_base_/schedule_vid_7e.py'
]

model = dict(
    type='VideoDetector',
    detector='RetinaNet',  # the base's other keys are RetinaNet's arguments
    bbox_head=dict(num_classes=30))
