from .functional import motion_iou, vid_map
from .vid_metric import VIDMetric

__all__ = ['VIDMetric', 'motion_iou', 'vid_map']
