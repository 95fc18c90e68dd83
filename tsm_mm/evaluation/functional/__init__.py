from .vid_map import (
    FGFA_MOTION_RANGES,
    MOTION_RULES,
    devkit_iou_thresholds,
    motion_iou,
    pairwise_box_iou,
    vid_map,
    voc_area_ap,
)
from .video_bootstrap import paired_video_bootstrap

__all__ = [
    'FGFA_MOTION_RANGES', 'MOTION_RULES', 'devkit_iou_thresholds',
    'motion_iou', 'pairwise_box_iou', 'paired_video_bootstrap', 'vid_map',
    'voc_area_ap'
]
