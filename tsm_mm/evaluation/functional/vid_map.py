"""ImageNet-VID detection mAP (devkit rule) with FGFA's motion-speed split.

Pure numpy. The shape follows mmdet ``evaluation/functional/mean_ap.py``:
IoU as array operations (here over all detection/GT pairs of all frames at
once, :mod:`.vid_iou`), one sort of all detections by score, the devkit's
greedy matching in vectorized rounds, TP/FP by cumulative sums and the VOC
area AP (:mod:`.vid_ap`); inputs are checked in :mod:`.vid_inputs`.

References: ILSVRC2015 devkit ``evaluation/eval_vid_detection.m``, FGFA
``lib/dataset/imagenet_vid_eval_motion.py`` (Zhu et al., ICCV 2017) and
mega.pytorch ``mega_core/data/datasets/evaluation/vid/vid_eval.py`` (the
per-class variant of FGFA's motion split, see ``motion_rule``).
"""
from typing import Dict, Mapping, Optional, Sequence, Tuple

import numpy as np

from .vid_ap import (
    ClasswiseAP,
    greedy_match,
    motion_fp_weight,
    rank_detections,
)
from .vid_inputs import flatten_vid_inputs
from .vid_iou import devkit_iou_thresholds, pairwise_box_iou

# FGFA's ranges are closed at both ends ([0, .7], [.7, .9], [.9, 1]), so a
# box with motion IoU exactly 0.7 or 0.9 counts in both neighbouring bins.
FGFA_MOTION_RANGES: Dict[str, Tuple[float, float]] = {
    'slow': (0.9, 1.0),
    'medium': (0.7, 0.9),
    'fast': (0.0, 0.7),
}
MOTION_RULES = ('fgfa', 'mega')


def vid_map(det_results: Sequence[dict],
            gt_annotations: Sequence[dict],
            num_classes: int,
            motion_ranges: Optional[Mapping[str, Tuple[float, float]]] = (
                FGFA_MOTION_RANGES),
            iou_thr: float = 0.5,
            pixel_tolerance: float = 10,
            lone_motion_iou: float = 1.0,
            motion_rule: str = 'fgfa') -> dict:
    """ImageNet-VID mAP (devkit) and FGFA's mAP per motion-speed range.

    Devkit rule: +1 pixel widths; a detection matches an unmatched GT of its
    class in its frame when IoU >= min(iou_thr, wh/((w+t)(h+t))) (``w, h``
    the GT's); detections are taken by descending score, each takes the free
    GT with the highest IoU; AP is the VOC area AP; mAP averages the classes
    that have GT. Score ties are broken by frame (sorted by video_id, then
    frame_id), then label, then box x1, y1, x2, y2, so results do not depend
    on input order; IoU ties go to the GT first in (x1, y1, x2, y2, label,
    instance_id) order.

    Motion ranges follow FGFA: GT outside the range (or flagged ignore) are
    ignored — detections matched to them count neither TP nor FP — and an
    unmatched detection counts as FP with FGFA's weight: 1 if its best IoU
    with an in-range GT (any class) beats its best IoU with an ignored GT,
    0 if the reverse, and on a tie the fraction of the frame's GT that is
    ignored, or, in a frame without GT, the fraction of all GT in range.
    In the overall mAP flagged GT are ignored the same way and every
    unmatched detection is a full FP (devkit).

    ``motion_rule='mega'`` weighs unmatched detections as mega.pytorch's
    ``vid_eval.py`` does (codebases derived from it report with this rule):
    the best IoUs are compared with ignored vs kept GT of the detection's
    own class only; a tie takes the ignored share of that class's GT in the
    frame, and a frame without GT of that class the dataset-wide in-range
    share (a share of exactly 0 or 1 there gives a full FP, as its code
    does). Matching and AP stay the devkit's in both rules.

    Args:
        det_results (Sequence[dict]): per frame, ``bboxes`` (n, 4) xyxy,
            ``scores`` (n,), ``labels`` (n,) in [0, num_classes).
        gt_annotations (Sequence[dict]): per frame (same order),
            ``video_id``, ``frame_id``, ``bboxes`` (m, 4) xyxy, ``labels``
            (m,); optional ``instance_ids`` (m,) (default: no track),
            ``ignore_flags`` (m,) and ``motion_ious`` (m,) (default: computed
            from these frames with :func:`motion_iou`).
        num_classes (int): number of classes.
        motion_ranges (Mapping[str, tuple], optional): name -> closed
            (low, high) motion-IoU range; None or empty skips the split.
            Defaults to FGFA's slow/medium/fast.
        iou_thr (float): the devkit's default IoU threshold. Defaults to 0.5.
        pixel_tolerance (float): the devkit's small-box tolerance.
            Defaults to 10.
        lone_motion_iou (float): motion IoU of a box with no neighbour, see
            :func:`motion_iou`. Defaults to 1.0.
        motion_rule (str): how unmatched detections are weighed in the
            motion split: ``'fgfa'`` (FGFA's ``imagenet_vid_eval_motion.py``)
            or ``'mega'`` (mega.pytorch's ``vid_eval.py``). Defaults to
            ``'fgfa'``.

    Returns:
        dict: ``mAP`` and ``mAP_<range>`` (nan without GT), ``num_dets``
        (per class) and ``classwise``: for ``'all'`` and each range a dict
        of per-class ``ap`` (nan without GT), ``num_gts`` and ``recall``.
    """
    if len(det_results) != len(gt_annotations):
        raise ValueError(f'{len(det_results)} det_results but '
                         f'{len(gt_annotations)} gt_annotations')
    if motion_rule not in MOTION_RULES:
        raise ValueError(f'motion_rule must be one of {MOTION_RULES}, got '
                         f'{motion_rule!r}')
    motion_ranges = dict(motion_ranges or {})
    for name, (low, high) in motion_ranges.items():
        if not low <= high:
            raise ValueError(f'motion range {name!r}: {low} > {high}')
    det, gt = flatten_vid_inputs(det_results, gt_annotations, num_classes,
                       bool(motion_ranges), lone_motion_iou)

    # all detections ranked once
    rank = rank_detections(det['scores'], det['frame'], det['labels'],
                            det['bboxes'])
    det_frame, det_labels = det['frame'][rank], det['labels'][rank]
    det_bboxes = det['bboxes'][rank]
    num_dets = len(rank)

    # every (detection, GT of its frame) pair, grouped by detection
    pairs_per_det = gt['counts'][det_frame]
    pair_det = np.repeat(np.arange(num_dets), pairs_per_det)
    det_pair_start = np.cumsum(pairs_per_det) - pairs_per_det
    frame_gt_start = np.cumsum(gt['counts']) - gt['counts']
    pair_gt = (np.repeat(frame_gt_start[det_frame] - det_pair_start,
                         pairs_per_det) + np.arange(len(pair_det)))
    pair_iou = pairwise_box_iou(det_bboxes, gt['bboxes'], pair_det, pair_gt)

    gt_thr = devkit_iou_thresholds(gt['bboxes'], iou_thr, pixel_tolerance)
    cand = ((det_labels[pair_det] == gt['labels'][pair_gt]) &
            (pair_iou >= gt_thr[pair_gt]))
    match = greedy_match(pair_det[cand], pair_gt[cand], pair_iou[cand],
                          num_dets)

    score = ClasswiseAP(match, det_labels, gt['labels'], num_classes)
    classwise = {'all': score(gt['ignore'], np.ones(num_dets))}
    for name, (low, high) in motion_ranges.items():
        in_range = (gt['motion'] >= low) & (gt['motion'] <= high)
        ignored = gt['ignore'] | ~in_range
        fp_weight = motion_fp_weight(
            motion_rule, ignored, in_range, gt, det_frame, det_labels,
            num_classes, pair_det, pair_gt, pair_iou, det_pair_start,
            pairs_per_det)
        classwise[name] = score(ignored, fp_weight)

    def mean_ap(ap: np.ndarray) -> float:
        valid = ~np.isnan(ap)
        return float(ap[valid].mean()) if valid.any() else float('nan')

    results = {'mAP': mean_ap(classwise['all']['ap'])}
    for name in motion_ranges:
        results[f'mAP_{name}'] = mean_ap(classwise[name]['ap'])
    results['num_dets'] = np.bincount(det_labels, minlength=num_classes)
    results['classwise'] = classwise
    return results
