from .vid_map import (
    FGFA_MOTION_RANGES,
    MOTION_RULES,
    devkit_iou_thresholds,
    motion_iou,
    pairwise_box_iou,
    vid_map,
    voc_area_ap,
)

__all__ = [
    'FGFA_MOTION_RANGES', 'MOTION_RULES', 'devkit_iou_thresholds',
    'motion_iou', 'pairwise_box_iou', 'vid_map', 'voc_area_ap'
]
