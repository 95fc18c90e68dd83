"""Ranking, devkit matching and AP accumulation of the VID metric.

The shape of mmdet ``evaluation/functional/mean_ap.py``: all detections
sorted once by score, the devkit's greedy matching in a few vectorized
rounds (no Python loop per box), TP/FP by cumulative sums per class and the
VOC area AP. Unmatched detections of the motion split are weighed by
FGFA's or mega.pytorch's rule (:func:`motion_fp_weight`).
"""
from typing import Tuple

import numpy as np


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


def greedy_match(pair_det: np.ndarray, pair_gt: np.ndarray,
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


def rank_detections(scores: np.ndarray, frames: np.ndarray,
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


class ClasswiseAP:
    """Per-class AP, recall and GT count of ranked, matched detections.

    Args:
        match (np.ndarray): (D,) GT index of each ranked detection, -1 for
            none (:func:`greedy_match`).
        det_labels (np.ndarray): (D,) labels of the ranked detections.
        gt_labels (np.ndarray): (G,) labels of the GT.
        num_classes (int): Number of classes.
    """

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
        """Score with GT ``gt_ignored`` left out: detections matched to
        them count neither TP nor FP, unmatched ones ``fp_weight`` FP.

        Returns:
            dict: per-class ``ap`` (nan without GT), ``num_gts``, ``recall``.
        """
        tp = self.is_matched.copy()  # (no GT at all: nothing matched)
        tp[tp] = ~gt_ignored[self.match_gt[tp]]
        tp = tp.astype(float)
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


def motion_fp_weight(rule: str, ignored: np.ndarray, in_range: np.ndarray,
                     gt: dict, det_frame: np.ndarray, det_labels: np.ndarray,
                     num_classes: int, pair_det: np.ndarray,
                     pair_gt: np.ndarray, pair_iou: np.ndarray,
                     det_pair_start: np.ndarray,
                     pairs_per_det: np.ndarray) -> np.ndarray:
    """FP weight of every detection if unmatched, under FGFA's or mega's
    rule: 1 nearer a kept GT, 0 nearer an ignored one, else a tie weight.

    Args:
        rule (str): ``'fgfa'`` or ``'mega'`` (see :func:`.vid_map`).
        ignored (np.ndarray): (G,) GT ignored in this motion range.
        in_range (np.ndarray): (G,) GT whose motion IoU is in the range.
        gt (dict): The flat GT of :func:`.flatten_vid_inputs`.
        det_frame, det_labels (np.ndarray): (D,) of the ranked detections.
        num_classes (int): Number of classes.
        pair_det, pair_gt, pair_iou (np.ndarray): Every (detection, GT of
            its frame) pair and its IoU, grouped by detection.
        det_pair_start, pairs_per_det (np.ndarray): (D,) where each
            detection's pairs start, and how many it has.

    Returns:
        np.ndarray: (D,) FP weight in [0, 1].
    """
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
