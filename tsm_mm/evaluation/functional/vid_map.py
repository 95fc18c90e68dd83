"""ImageNet-VID detection mAP (devkit rule) with FGFA's motion-speed split.

Pure numpy. The shape follows mmdet ``evaluation/functional/mean_ap.py``:
IoU as array operations (here over all detection/GT pairs of all frames at
once), one sort of all detections by score, TP/FP by cumulative sums and the
VOC area AP. The devkit's greedy matching, sequential per frame, runs in a
few vectorized rounds (see ``_greedy_match``); no Python loop per box.

References: ILSVRC2015 devkit ``evaluation/eval_vid_detection.m``, FGFA
``lib/dataset/imagenet_vid_eval_motion.py`` (Zhu et al., ICCV 2017) and
mega.pytorch ``mega_core/data/datasets/evaluation/vid/vid_eval.py`` (the
per-class variant of FGFA's motion split, see ``motion_rule``).
"""
from typing import Dict, Mapping, Optional, Sequence, Tuple

import numpy as np

# FGFA's ranges are closed at both ends ([0, .7], [.7, .9], [.9, 1]), so a
# box with motion IoU exactly 0.7 or 0.9 counts in both neighbouring bins.
FGFA_MOTION_RANGES: Dict[str, Tuple[float, float]] = {
    'slow': (0.9, 1.0),
    'medium': (0.7, 0.9),
    'fast': (0.0, 0.7),
}
MOTION_RULES = ('fgfa', 'mega')


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


def voc_area_ap(tp: np.ndarray, fp: np.ndarray, num_pos: float) -> float:
    """VOC area AP (all-point interpolation, the devkit's ``VOCap``).

    Args:
        tp (np.ndarray): (K,) TP weight of each detection, by score.
        fp (np.ndarray): (K,) FP weight of each detection, by score.
        num_pos (float): number of GT boxes (> 0).

    Returns:
        float: area under the interpolated precision/recall curve.
    """
    tp_cum = np.cumsum(tp)
    fp_cum = np.cumsum(fp)
    recall = tp_cum / num_pos
    precision = tp_cum / np.maximum(tp_cum + fp_cum, np.finfo(np.float64).eps)
    mrec = np.concatenate(([0.0], recall, [1.0]))
    mpre = np.concatenate(([0.0], precision, [0.0]))
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    step = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[step + 1] - mrec[step]) * mpre[step + 1]))


def _greedy_match(pair_det: np.ndarray, pair_gt: np.ndarray,
                  pair_iou: np.ndarray, num_dets: int) -> np.ndarray:
    """Devkit greedy matching, run in vectorized rounds.

    The devkit walks each frame's detections by descending score; each takes
    the unmatched GT of its class with the highest IoU above the GT's
    threshold (ties: lowest GT index). The pairs given are exactly those
    candidates, detections indexed by rank. In a round every unresolved
    detection proposes its best free GT; a proposal is final when no earlier
    unresolved detection has that GT among its candidates (then no earlier
    detection can take it, and later ones only remove other options), which
    always holds for the earliest unresolved detection of each frame.

    Returns:
        np.ndarray: (num_dets,) matched GT index, -1 when unmatched.
    """
    matched = np.full(num_dets, -1, dtype=np.int64)
    if pair_det.size == 0:
        return matched
    num_gts = int(pair_gt.max()) + 1
    order = np.lexsort((pair_gt, -pair_iou, pair_det))
    det, gt = pair_det[order], pair_gt[order]
    while det.size:
        first = np.ones(det.size, dtype=bool)
        first[1:] = det[1:] != det[:-1]
        prop_det, prop_gt = det[first], gt[first]
        earliest = np.full(num_gts, num_dets, dtype=np.int64)
        np.minimum.at(earliest, gt, det)
        final = earliest[prop_gt] == prop_det
        matched[prop_det[final]] = prop_gt[final]
        taken = np.zeros(num_gts, dtype=bool)
        taken[prop_gt[final]] = True
        keep = (~taken[gt]) & (matched[det] < 0)
        det, gt = det[keep], gt[keep]
    return matched


def _pack(arrays: Sequence, dtype, width: Optional[int] = None) -> np.ndarray:
    """Concatenate per-frame arrays into one flat (or (N, width)) array."""
    shape = (-1, ) if width is None else (-1, width)
    parts = [np.asarray(a, dtype=dtype).reshape(shape) for a in arrays]
    if not parts:
        return np.zeros((0, ) if width is None else (0, width), dtype=dtype)
    return np.concatenate(parts)


def _pack_optional(frames: Sequence[dict], counts: np.ndarray, key: str,
                   dtype, default) -> np.ndarray:
    """Flat ``key`` of every frame; frames without it give ``default``."""
    if not any(key in f for f in frames):
        return np.full(int(counts.sum()), default, dtype=dtype)
    flat = _pack([
        f[key] if key in f else np.full(n, default, dtype=dtype)
        for f, n in zip(frames, counts)
    ], dtype)
    if len(flat) != counts.sum():
        raise ValueError(f'gt_annotations: {key} must have one entry per box')
    return flat


def _frame_error(name: str, k: int, frame_order: np.ndarray,
                 ids: Sequence[Tuple[int, int]], what: str) -> ValueError:
    """Error naming frame ``k`` (canonical order) by input index and ids."""
    return ValueError(f'{name}[{int(frame_order[k])}] '
                      f'(video_id, frame_id)={ids[k]}: {what}')


def _check_lengths(name: str, frames: Sequence[dict], keys: Sequence[str],
                   frame_order: np.ndarray,
                   ids: Sequence[Tuple[int, int]]) -> np.ndarray:
    """Per-frame lengths of ``keys[0]``; all keys must agree."""
    lengths = np.array([len(f[keys[0]]) for f in frames], dtype=np.int64)
    for key in keys[1:]:
        other = np.array([len(f[key]) for f in frames], dtype=np.int64)
        bad = np.flatnonzero(other != lengths)
        if bad.size:
            k = bad[0]
            raise _frame_error(
                name, k, frame_order, ids,
                f'{lengths[k]} {keys[0]} but {other[k]} {key}')
    return lengths


def _check_values(name: str,
                  box_frame: np.ndarray,
                  frame_order: np.ndarray,
                  ids: Sequence[Tuple[int, int]],
                  bboxes: np.ndarray,
                  labels: np.ndarray,
                  num_classes: int,
                  scores: Optional[np.ndarray] = None) -> None:
    """Raise a ValueError naming the first frame with a bad box."""
    bad = ~np.isfinite(bboxes).all(axis=1)
    bad |= (labels < 0) | (labels >= num_classes)
    what = f'labels in [0, {num_classes}) and finite boxes'
    if scores is not None:
        bad |= ~np.isfinite(scores)
        what += ' and scores'
    else:
        bad |= (bboxes[:, 2] < bboxes[:, 0]) | (bboxes[:, 3] < bboxes[:, 1])
        what += ' with x2 >= x1, y2 >= y1'
    if bad.any():
        raise _frame_error(name, box_frame[np.argmax(bad)], frame_order, ids,
                           f'expected {what}')


def _rank_detections(scores: np.ndarray, frames: np.ndarray,
                     labels: np.ndarray, bboxes: np.ndarray) -> np.ndarray:
    """Order of all detections: score desc, then frame, label, x1, y1, x2, y2.

    Detections come frame by frame, so a stable sort by score settles ties
    by frame; the few ties left inside a frame are sorted by content.
    """
    rank = np.argsort(-scores, kind='stable')
    s, f = scores[rank], frames[rank]
    same = (s[1:] == s[:-1]) & (f[1:] == f[:-1])
    if same.any():
        tied = np.zeros(len(rank), dtype=bool)
        tied[1:] |= same
        tied[:-1] |= same
        slots = np.flatnonzero(tied)
        group = np.cumsum(np.concatenate(([True], ~same)))[slots]
        members = rank[slots]
        b = bboxes[members]
        rank[slots] = members[np.lexsort(
            (b[:, 3], b[:, 2], b[:, 1], b[:, 0], labels[members], group))]
    return rank


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
    det, gt = _flatten(det_results, gt_annotations, num_classes,
                       bool(motion_ranges), lone_motion_iou)

    # all detections ranked once
    rank = _rank_detections(det['scores'], det['frame'], det['labels'],
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
    match = _greedy_match(pair_det[cand], pair_gt[cand], pair_iou[cand],
                          num_dets)

    score = _ClasswiseAP(match, det_labels, gt['labels'], num_classes)
    classwise = {'all': score(gt['ignore'], np.ones(num_dets))}
    for name, (low, high) in motion_ranges.items():
        in_range = (gt['motion'] >= low) & (gt['motion'] <= high)
        ignored = gt['ignore'] | ~in_range
        fp_weight = _motion_fp_weight(
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


def _flatten(det_results: Sequence[dict], gt_annotations: Sequence[dict],
             num_classes: int, with_motion: bool,
             lone_motion_iou: float) -> Tuple[dict, dict]:
    """Checked flat arrays of all detections and all GT.

    Frames go in (video_id, frame_id) order (``frame`` is that index), GT
    inside a frame in (x1, y1, x2, y2, label, instance_id) order.
    """
    ids = [(int(g['video_id']), int(g['frame_id'])) for g in gt_annotations]
    frame_ids = np.array(ids, dtype=np.int64).reshape(-1, 2)
    frame_order = np.lexsort((frame_ids[:, 1], frame_ids[:, 0]))
    dup = np.flatnonzero(
        np.all(np.diff(frame_ids[frame_order], axis=0) == 0, axis=1))
    if dup.size:
        raise ValueError('frame (video_id, frame_id)='
                         f'{ids[frame_order[dup[0]]]} appears twice')
    num_frames = len(ids)
    dets = [det_results[i] for i in frame_order]
    gts = [gt_annotations[i] for i in frame_order]
    ids = [ids[i] for i in frame_order]

    det_counts = _check_lengths('det_results', dets,
                                ('scores', 'bboxes', 'labels'), frame_order,
                                ids)
    det = dict(
        frame=np.repeat(np.arange(num_frames), det_counts),
        bboxes=_pack([d['bboxes'] for d in dets], np.float64, 4),
        scores=_pack([d['scores'] for d in dets], np.float64),
        labels=_pack([d['labels'] for d in dets], np.int64))
    _check_values('det_results', det['frame'], frame_order, ids,
                  det['bboxes'], det['labels'], num_classes, det['scores'])

    gt_counts = _check_lengths('gt_annotations', gts, ('labels', 'bboxes'),
                               frame_order, ids)
    gt = dict(
        counts=gt_counts,
        frame=np.repeat(np.arange(num_frames), gt_counts),
        bboxes=_pack([g['bboxes'] for g in gts], np.float64, 4),
        labels=_pack([g['labels'] for g in gts], np.int64),
        ignore=_pack_optional(gts, gt_counts, 'ignore_flags', bool, False),
        instance=_pack_optional(gts, gt_counts, 'instance_ids', np.int64,
                                -1))
    _check_values('gt_annotations', gt['frame'], frame_order, ids,
                  gt['bboxes'], gt['labels'], num_classes)
    given = sum('motion_ious' in g for g in gts)
    if not with_motion:
        gt['motion'] = np.zeros(len(gt['labels']))
    elif given == len(gts):
        gt['motion'] = _pack_optional(gts, gt_counts, 'motion_ious',
                                      np.float64, np.nan)
    elif given == 0:
        gt['motion'] = motion_iou(
            gt['bboxes'],
            np.repeat(frame_ids[frame_order, 0], gt_counts),
            np.repeat(frame_ids[frame_order, 1], gt_counts),
            gt['instance'],
            lone_value=lone_motion_iou)
    else:
        raise ValueError(f'gt_annotations: motion_ious given for {given} of '
                         f'{len(gts)} frames; give all or none')

    # content order inside each frame: IoU ties do not depend on input order
    order = np.lexsort((gt['instance'], gt['labels'], gt['bboxes'][:, 3],
                        gt['bboxes'][:, 2], gt['bboxes'][:, 1],
                        gt['bboxes'][:, 0], gt['frame']))
    for key in ('frame', 'bboxes', 'labels', 'ignore', 'instance', 'motion'):
        gt[key] = gt[key][order]
    return det, gt


class _ClasswiseAP:
    """Per-class AP, recall and GT count of ranked, matched detections."""

    def __init__(self, match: np.ndarray, det_labels: np.ndarray,
                 gt_labels: np.ndarray, num_classes: int) -> None:
        self.is_matched = match >= 0
        self.match_gt = np.where(self.is_matched, match, 0)
        self.gt_labels = gt_labels
        self.num_classes = num_classes
        # detections grouped by class, score order kept
        # (int16 lets numpy's stable sort use radix sort)
        small = det_labels.astype(np.int16) if num_classes < 2**15 else (
            det_labels)
        self.by_class = np.argsort(small, kind='stable')
        self.bounds = np.concatenate(
            ([0], np.cumsum(np.bincount(det_labels, minlength=num_classes))))

    def __call__(self, gt_ignored: np.ndarray, fp_weight: np.ndarray) -> dict:
        """Detections matched to ignored GT count neither TP nor FP."""
        tp = (self.is_matched & ~gt_ignored[self.match_gt]).astype(float)
        fp = np.where(self.is_matched, 0.0, fp_weight)
        num_gts = np.bincount(
            self.gt_labels[~gt_ignored], minlength=self.num_classes)
        ap = np.full(self.num_classes, np.nan)
        recall = np.full(self.num_classes, np.nan)
        for c in np.flatnonzero(num_gts):
            sel = self.by_class[self.bounds[c]:self.bounds[c + 1]]
            ap[c] = voc_area_ap(tp[sel], fp[sel], num_gts[c])
            recall[c] = tp[sel].sum() / num_gts[c]
        return dict(ap=ap, num_gts=num_gts, recall=recall)


def _best_ious(pair_iou: np.ndarray, pair_ignored: np.ndarray,
               pair_counts: np.ndarray, det_pair_start: np.ndarray,
               num_dets: int) -> Tuple[np.ndarray, np.ndarray]:
    """Per detection, best IoU with ignored and with kept GT of its pairs
    (-1 where it has none)."""
    best_ignored = np.full(num_dets, -1.0)
    best_kept = np.full(num_dets, -1.0)
    has_pairs = pair_counts > 0
    if has_pairs.any():
        starts = det_pair_start[has_pairs]
        best_ignored[has_pairs] = np.maximum.reduceat(
            np.where(pair_ignored, pair_iou, -1.0), starts)
        best_kept[has_pairs] = np.maximum.reduceat(
            np.where(pair_ignored, -1.0, pair_iou), starts)
    return best_ignored, best_kept


def _motion_fp_weight(rule: str, ignored: np.ndarray, in_range: np.ndarray,
                      gt: dict, det_frame: np.ndarray,
                      det_labels: np.ndarray, num_classes: int,
                      pair_det: np.ndarray, pair_gt: np.ndarray,
                      pair_iou: np.ndarray, det_pair_start: np.ndarray,
                      pairs_per_det: np.ndarray) -> np.ndarray:
    """FP weight of every detection if unmatched, under FGFA's or mega's
    rule: 1 nearer a kept GT, 0 nearer an ignored one, else a tie weight."""
    num_dets = len(det_frame)
    dataset_share = in_range.mean() if in_range.size else 1.0
    if rule == 'fgfa':  # GT of any class in the frame
        best_ignored, best_kept = _best_ious(
            pair_iou, ignored[pair_gt], pairs_per_det, det_pair_start,
            num_dets)
        num_gts = gt['counts'][det_frame]
        num_ignored = np.bincount(gt['frame'], weights=ignored,
                                  minlength=len(gt['counts']))[det_frame]
        empty_weight = dataset_share
    else:  # mega: GT of the detection's own class only
        own = det_labels[pair_det] == gt['labels'][pair_gt]
        own_counts = np.bincount(pair_det[own], minlength=num_dets)
        # pairs come grouped by detection, so the own-class pairs do too
        own_start = np.cumsum(own_counts) - own_counts
        best_ignored, best_kept = _best_ious(
            pair_iou[own], ignored[pair_gt[own]], own_counts, own_start,
            num_dets)
        cell = gt['frame'] * num_classes + gt['labels']
        size = len(gt['counts']) * num_classes
        det_cell = det_frame * num_classes + det_labels
        num_gts = np.bincount(cell, minlength=size)[det_cell]
        num_ignored = np.bincount(cell, weights=ignored,
                                  minlength=size)[det_cell]
        # its code maps a weight of 0 (and of 1) to a full FP
        empty_weight = dataset_share if 0 < dataset_share < 1 else 1.0
    tie = np.where(num_gts > 0, num_ignored / np.maximum(num_gts, 1),
                   empty_weight)
    return np.where(best_kept > best_ignored, 1.0,
                    np.where(best_ignored > best_kept, 0.0, tie))
