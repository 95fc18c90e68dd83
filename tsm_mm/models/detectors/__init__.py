from .clip_preprocessor import VideoDataPreprocessor
from .video_detector import VideoDetector, video_detector_class
from .video_detector_mixin import VideoDetectorMixin
from .video_faster_rcnn import VideoFasterRCNN

__all__ = [
    'VideoDataPreprocessor',
    'VideoDetector', 'VideoDetectorMixin', 'VideoFasterRCNN',
    'video_detector_class'
]
