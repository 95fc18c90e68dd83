from .video_faster_rcnn import VideoFasterRCNN

__all__ = ['VideoFasterRCNN']
