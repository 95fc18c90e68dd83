"""Checking and flattening the per-frame inputs of :func:`.vid_map`.

Frames are put in (video_id, frame_id) order and every array of every frame
into one flat array; a bad frame is named by its input index and ids.
"""
from typing import Optional, Sequence, Tuple

import numpy as np

from .vid_iou import motion_iou


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
    """Per-frame lengths of ``keys[0]``; all keys must agree, and
    ``bboxes`` be (N, 4) (or empty)."""
    for k, frame in enumerate(frames):
        boxes = frame['bboxes']
        shape = getattr(boxes, 'shape', None) or np.shape(boxes)
        if tuple(shape[1:]) != (4, ) and tuple(shape) != (0, ):
            raise _frame_error(name, k, frame_order, ids,
                               f'bboxes has shape {tuple(shape)}; expected '
                               '(N, 4)')
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


def flatten_vid_inputs(det_results: Sequence[dict],
                       gt_annotations: Sequence[dict], num_classes: int,
                       with_motion: bool,
                       lone_motion_iou: float) -> Tuple[dict, dict]:
    """Checked flat arrays of all detections and all GT.

    Frames go in (video_id, frame_id) order (``frame`` is that index), GT
    inside a frame in (x1, y1, x2, y2, label, instance_id) order.

    Args:
        det_results, gt_annotations, num_classes: As :func:`.vid_map`.
        with_motion (bool): Give GT a ``motion`` (given ``motion_ious`` or
            :func:`.motion_iou`); zeros when False.
        lone_motion_iou (float): See :func:`.motion_iou`.

    Returns:
        tuple[dict, dict]: detections (``frame``, ``bboxes``, ``scores``,
        ``labels``) and GT (``counts`` per frame, ``frame``, ``bboxes``,
        ``labels``, ``ignore``, ``instance``, ``motion``).

    Raises:
        ValueError: Naming the first bad frame or a repeated frame.
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
