from . import backbones, detectors  # noqa: F401
from .detectors import VideoDetector, VideoFasterRCNN

__all__ = ['VideoDetector', 'VideoFasterRCNN']
