from .vid_ap import voc_area_ap
from .vid_iou import devkit_iou_thresholds, motion_iou, pairwise_box_iou
from .vid_map import FGFA_MOTION_RANGES, MOTION_RULES, vid_map
from .video_bootstrap import paired_video_bootstrap

__all__ = [
    'FGFA_MOTION_RANGES', 'MOTION_RULES', 'devkit_iou_thresholds',
    'motion_iou', 'pairwise_box_iou', 'paired_video_bootstrap', 'vid_map',
    'voc_area_ap'
]
