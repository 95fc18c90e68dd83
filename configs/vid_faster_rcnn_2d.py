# Faster R-CNN R-50-FPN with a single-frame 2D ResNet on ImageNet-VID: the
# baseline of vid_faster_rcnn_tsm.py, trained on the very same clips.
_base_ = [
    './_base_/video_faster_rcnn_r50_fpn.py', './_base_/imagenet_vid.py',
    './_base_/schedule_vid_7e.py'
]
