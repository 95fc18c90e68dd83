"""Paired bootstrap over videos of the difference of two detectors' mAPs."""
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .vid_iou import motion_iou
from .vid_map import FGFA_MOTION_RANGES, vid_map

Frames = Tuple[Sequence[dict], Sequence[dict]]  # (det_results, gts)


def _with_motion(gts: Sequence[dict], lone_motion_iou: float) -> List[dict]:
    """GT frames with ``motion_ious`` filled in once, from these frames."""
    if all('motion_ious' in g for g in gts):
        return list(gts)
    counts = [len(g['labels']) for g in gts]
    motion = motion_iou(
        np.concatenate([np.asarray(g['bboxes'], np.float64).reshape(-1, 4)
                        for g in gts]),
        np.repeat([g['video_id'] for g in gts], counts),
        np.repeat([g['frame_id'] for g in gts], counts),
        np.concatenate([np.asarray(g.get('instance_ids', [-1] * n),
                                   np.int64).reshape(-1)
                        for g, n in zip(gts, counts)]),
        lone_value=lone_motion_iou)
    parts = np.split(motion, np.cumsum(counts)[:-1])
    return [dict(g, motion_ious=m) for g, m in zip(gts, parts)]


def _by_video(frames: Frames) -> Dict[int, List[Tuple[dict, dict]]]:
    """(det, gt) pairs of each video, in input order."""
    videos: Dict[int, List[Tuple[dict, dict]]] = {}
    for det, gt in zip(*frames):
        videos.setdefault(int(gt['video_id']), []).append((det, gt))
    return videos


def paired_video_bootstrap(
        frames_a: Frames,
        frames_b: Frames,
        num_classes: int,
        num_draws: int = 1000,
        seed: int = 0,
        motion_ranges: Optional[Mapping[str, Tuple[float, float]]] = (
            FGFA_MOTION_RANGES),
        lone_motion_iou: float = 1.0,
        motion_rule: str = 'fgfa',
        level: float = 0.95) -> Dict[str, dict]:
    """Interval of ``mAP(b) - mAP(a)`` by resampling videos, paired.

    Each draw takes as many videos as there are, with replacement, and
    scores both detectors on the same draw (a video drawn twice counts
    twice, under new video ids); motion IoUs are those of the full set.
    Videos, not frames, are the unit: frames of one video are correlated.

    Args:
        frames_a (tuple): ``(det_results, gt_annotations)`` of detector a,
            as :func:`vid_map` takes them (GT with ``video_id``/``frame_id``).
        frames_b (tuple): The same for detector b, on the same frames.
        num_classes (int): Number of classes.
        num_draws (int): Bootstrap draws. Defaults to 1000.
        seed (int): Seed of the draws. Defaults to 0.
        motion_ranges (Mapping, optional): As :func:`vid_map`.
        lone_motion_iou (float): As :func:`vid_map`. Defaults to 1.0.
        motion_rule (str): As :func:`vid_map`. Defaults to ``'fgfa'``.
        level (float): Coverage of the interval. Defaults to 0.95.

    Returns:
        dict: Per metric (``mAP``, ``mAP_<range>``): ``delta`` (b - a on
        all videos), ``low`` and ``high`` (percentile interval) and
        ``draws`` (the valid draws' differences; a draw without GT in a
        range gives nan there and is left out).
    """
    videos_a = _by_video((frames_a[0], _with_motion(frames_a[1],
                                                    lone_motion_iou)))
    videos_b = _by_video((frames_b[0], _with_motion(frames_b[1],
                                                    lone_motion_iou)))
    if sorted(videos_a) != sorted(videos_b) or any(
            len(videos_a[v]) != len(videos_b[v]) for v in videos_a):
        raise ValueError('the two detectors must be scored on the same '
                         'videos and frames')
    ids = sorted(videos_a)
    kwargs = dict(num_classes=num_classes, motion_ranges=motion_ranges,
                  lone_motion_iou=lone_motion_iou, motion_rule=motion_rule)
    keys = ['mAP'] + [f'mAP_{n}' for n in (motion_ranges or {})]

    def score(videos, draw) -> np.ndarray:
        dets, gts = [], []
        for slot, v in enumerate(draw):
            for det, gt in videos[v]:
                dets.append(det)
                gts.append(dict(gt, video_id=slot))
        result = vid_map(dets, gts, **kwargs)
        return np.array([result[k] for k in keys])

    full = score(videos_b, ids) - score(videos_a, ids)
    rng = np.random.default_rng(seed)
    diffs = np.empty((num_draws, len(keys)))
    for i in range(num_draws):
        draw = [ids[j] for j in rng.integers(0, len(ids), len(ids))]
        diffs[i] = score(videos_b, draw) - score(videos_a, draw)
    tail = 100 * (1 - level) / 2
    out = {}
    for k, key in enumerate(keys):
        valid = diffs[~np.isnan(diffs[:, k]), k]
        low, high = (np.percentile(valid, [tail, 100 - tail])
                     if valid.size else (np.nan, np.nan))
        out[key] = dict(delta=float(full[k]), low=float(low),
                        high=float(high), draws=valid)
    return out
