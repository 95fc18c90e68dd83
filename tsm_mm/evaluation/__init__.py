from .dump_video_results import (
    DumpVideoResults,
    keep_every_frame_in_mmdet_dumps,
)
from .functional import motion_iou, vid_map
from .vid_metric import VIDMetric

keep_every_frame_in_mmdet_dumps()

__all__ = ['DumpVideoResults', 'VIDMetric', 'motion_iou', 'vid_map']
