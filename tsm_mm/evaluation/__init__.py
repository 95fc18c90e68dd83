from .dump_video_results import DumpVideoResults
from .functional import motion_iou, vid_map
from .vid_metric import VIDMetric

__all__ = ['DumpVideoResults', 'VIDMetric', 'motion_iou', 'vid_map']
