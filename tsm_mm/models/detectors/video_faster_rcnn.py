"""Faster R-CNN over clips in training and over streams at test time."""
from mmdet.models.detectors import FasterRCNN
from mmdet.registry import MODELS

from .video_detector_mixin import VideoDetectorMixin


@MODELS.register_module()
class VideoFasterRCNN(VideoDetectorMixin, FasterRCNN):
    """Faster R-CNN for video: clips in, every frame supervised.

    The preset of :class:`~tsm_mm.models.VideoDetector` for
    ``FasterRCNN``, with FasterRCNN's own config keys (``backbone``,
    ``rpn_head``, ``roi_head``, ...): see
    :class:`~tsm_mm.models.detectors.video_detector_mixin.VideoDetectorMixin`
    for what it does with clips and streams.
    """
