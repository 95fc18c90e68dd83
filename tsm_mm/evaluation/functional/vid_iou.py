"""Box overlaps of the ImageNet-VID devkit and FGFA's motion IoU.

Boxes are xyxy with the devkit's +1 pixel widths (``w = x2 - x1 + 1``).
Pure numpy, one array operation over all pairs.
"""
from typing import Optional

import numpy as np


def pairwise_box_iou(boxes1: np.ndarray,
                     boxes2: np.ndarray,
                     index1: Optional[np.ndarray] = None,
                     index2: Optional[np.ndarray] = None) -> np.ndarray:
    """IoU of aligned rows ``boxes1[index1]`` and ``boxes2[index2]``.

    Boxes are (N, 4) xyxy, with the devkit's widths ``x2 - x1 + 1``; boxes
    that do not overlap (intersection width or height <= 0) have IoU 0.
    Indices (default: all rows) are gathered column by column, so the
    (pairs, 4) arrays are never built.
    """

    def column(boxes, index, j):
        return boxes[:, j] if index is None else boxes[index, j]

    x1a, y1a, x2a, y2a = (column(boxes1, index1, j) for j in range(4))
    x1b, y1b, x2b, y2b = (column(boxes2, index2, j) for j in range(4))
    iw = np.minimum(x2a, x2b) - np.maximum(x1a, x1b) + 1
    ih = np.minimum(y2a, y2b) - np.maximum(y1a, y1b) + 1
    overlap = (iw > 0) & (ih > 0)
    inter = np.where(overlap, iw * ih, 0.0)
    union = (x2a - x1a + 1) * (y2a - y1a + 1) + (x2b - x1b + 1) * (
        y2b - y1b + 1) - inter
    return inter / np.where(overlap, union, 1.0)


def devkit_iou_thresholds(gt_bboxes: np.ndarray,
                          iou_thr: float = 0.5,
                          pixel_tolerance: float = 10) -> np.ndarray:
    """Per-GT IoU threshold ``min(iou_thr, wh / ((w + t)(h + t)))``.

    ``w, h`` are the devkit (+1) width and height of each (N, 4) xyxy box,
    ``t`` the pixel tolerance: small boxes may match at a lower IoU.
    """
    w = gt_bboxes[:, 2] - gt_bboxes[:, 0] + 1
    h = gt_bboxes[:, 3] - gt_bboxes[:, 1] + 1
    relaxed = (w * h) / ((w + pixel_tolerance) * (h + pixel_tolerance))
    return np.minimum(iou_thr, relaxed)


def motion_iou(bboxes: np.ndarray,
               video_ids: np.ndarray,
               frame_ids: np.ndarray,
               instance_ids: np.ndarray,
               max_offset: int = 10,
               lone_value: float = 1.0) -> np.ndarray:
    """FGFA motion IoU of every GT box.

    The motion IoU of a box is the mean IoU (devkit +1 widths) between it
    and the boxes of the same instance (same video, same instance id) at
    frames ``t - max_offset .. t + max_offset``, ``t`` excluded, over the
    frames where that instance is annotated.

    Args:
        bboxes (np.ndarray): (N, 4) GT boxes, xyxy.
        video_ids (np.ndarray): (N,) video of each box.
        frame_ids (np.ndarray): (N,) frame index of each box in its video.
        instance_ids (np.ndarray): (N,) instance (track) id; negative ids
            mean "no track" and get ``lone_value``.
        max_offset (int): neighbourhood half-width in frames. Defaults to 10.
        lone_value (float): value for a box with no neighbour: 1.0 (slow,
            our contract) by default; FGFA's loader reads an empty entry of
            its motion-IoU table as 0 (fast), whose maker is not public.

    Returns:
        np.ndarray: (N,) float64 motion IoU.
    """
    bboxes = np.asarray(bboxes, dtype=np.float64).reshape(-1, 4)
    num = len(bboxes)
    video_ids = np.asarray(video_ids, dtype=np.int64).reshape(num)
    frame_ids = np.asarray(frame_ids, dtype=np.int64).reshape(num)
    instance_ids = np.asarray(instance_ids, dtype=np.int64).reshape(num)
    result = np.full(num, float(lone_value))
    tracked = np.flatnonzero(instance_ids >= 0)
    if tracked.size == 0:
        return result
    # one integer key per (track, frame): track * span + shifted frame
    _, track = np.unique(
        np.stack([video_ids[tracked], instance_ids[tracked]], axis=1),
        axis=0,
        return_inverse=True)
    frames = frame_ids[tracked] - frame_ids[tracked].min() + max_offset
    span = int(frames.max()) + max_offset + 1
    keys = track.reshape(-1).astype(np.int64) * span + frames
    order = np.argsort(keys, kind='stable')
    sorted_keys = keys[order]
    dup = np.flatnonzero(sorted_keys[1:] == sorted_keys[:-1])
    if dup.size:
        i = tracked[order[dup[0]]]
        raise ValueError(
            f'instance_id {instance_ids[i]} appears twice in frame '
            f'{frame_ids[i]} of video {video_ids[i]}')
    own = bboxes[tracked]
    iou_sum = np.zeros(tracked.size)
    count = np.zeros(tracked.size)
    for offset in range(-max_offset, max_offset + 1):
        if offset == 0:
            continue
        pos = np.searchsorted(sorted_keys, keys + offset)
        pos = np.minimum(pos, len(sorted_keys) - 1)
        found = sorted_keys[pos] == keys + offset
        src = np.flatnonzero(found)
        nbr = tracked[order[pos[src]]]
        iou_sum[src] += pairwise_box_iou(own[src], bboxes[nbr])
        count[src] += 1
    has_nbr = count > 0
    result[tracked[has_nbr]] = iou_sum[has_nbr] / count[has_nbr]
    return result
