"""The frames :class:`.VIDMetric` is given: each one checked and kept as
numpy arrays (errors name the frame), and the checks over all of them that
warn before a score would be silently wrong."""
import logging
from typing import List, Optional, Sequence

import numpy as np
from mmengine.logging import print_log

__all__ = ['check_inverted_boxes', 'frame_record', 'warn_missing_frames']


def _frame_name(frame: dict) -> str:
    """``VIDMetric: frame (img_id=.., video_id=.., frame_id=..)``."""
    return (f'VIDMetric: frame (img_id={frame.get("img_id")!r}, '
            f'video_id={frame.get("video_id")!r}, '
            f'frame_id={frame.get("frame_id")!r})')


def _integer(frame: dict, key: str) -> int:
    """``frame[key]`` as an int: an int, numpy integer or one-element
    integer tensor, else an error naming the frame."""
    value = frame[key]
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(()).item() if value.dtype.kind in 'iu' else (
            value)
    if isinstance(value, (int, np.integer)) and not isinstance(
            value, (bool, np.bool_)):
        return int(value)
    raise ValueError(f'{_frame_name(frame)}: {key} must be an integer, got '
                     f'{value!r}')


def _numpy(value, dtype, width: Optional[int], what: str,
           frame: dict) -> np.ndarray:
    """Tensor / array / list -> numpy array of ``dtype``, (N, ``width``) or
    (N,) when ``width`` is None; an error naming the frame otherwise."""
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    expected = '(N,)' if width is None else f'(N, {width})'
    try:
        array = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as err:
        raise ValueError(f'{_frame_name(frame)}: {what} is not an array of '
                         f'shape {expected} ({err})') from None
    if array.size == 0:
        return array.reshape((0, ) if width is None else (0, width))
    if array.shape[1:] != (() if width is None else (width, )):
        raise ValueError(f'{_frame_name(frame)}: {what} has shape '
                         f'{tuple(array.shape)}; expected {expected}')
    return array


def _gt_boxes(instances: Sequence[dict], frame: dict) -> np.ndarray:
    """(N, 4) xyxy of a frame's raw GT ``instances``."""
    for k, instance in enumerate(instances):
        if np.shape(instance.get('bbox')) != (4, ):
            raise ValueError(
                f'{_frame_name(frame)}: instances bbox has shape '
                f'{np.shape(instance.get("bbox"))} in instance {k}; '
                'expected 4 numbers (x1, y1, x2, y2)')
    return _numpy([i['bbox'] for i in instances], np.float64, 4,
                  'instances bbox', frame)


def frame_record(frame: dict, with_gt: bool) -> dict:
    """The numpy arrays of one frame that :class:`.VIDMetric` keeps.

    Args:
        frame (dict): A ``DetDataSample`` as a dict: metainfo
            ``video_id``, ``frame_id`` (``img_id`` without GT), optional
            ``ori_video_length``, ``pred_instances`` and, with GT, the raw
            ``instances``.
        with_gt (bool): Keep the GT of ``instances`` too.

    Returns:
        dict: ``video_id``, ``frame_id``, ``img_id``, ``ori_video_length``
        (or None), ``bboxes`` (N, 4), ``scores``, ``labels`` and, with GT,
        ``gt``.

    Raises:
        KeyError | ValueError: Naming the frame.
    """
    missing = [k for k in ('video_id', 'frame_id') if k not in frame]
    if not with_gt and 'img_id' not in frame:
        missing.append('img_id')
    if missing:
        raise KeyError(f'VIDMetric: frame (img_id={frame.get("img_id")}) '
                       f'lacks metainfo {missing}')
    if 'pred_instances' not in frame:
        raise KeyError('VIDMetric: frame (video_id, frame_id)='
                       f'({frame["video_id"]}, {frame["frame_id"]}) '
                       'has no pred_instances')
    pred = frame['pred_instances']
    record = dict(
        video_id=_integer(frame, 'video_id'),
        frame_id=_integer(frame, 'frame_id'),
        img_id=frame.get('img_id'),
        ori_video_length=(_integer(frame, 'ori_video_length')
                          if 'ori_video_length' in frame else None),
        **{
            key: _numpy(pred[key], dtype, width,
                        f'pred_instances.{key}', frame)
            for key, dtype, width in (('bboxes', np.float32, 4),
                                      ('scores', np.float32, None),
                                      ('labels', np.int64, None))
        })
    if with_gt:
        if 'instances' not in frame:
            raise KeyError(
                'VIDMetric: frame (video_id, frame_id)='
                f'({record["video_id"]}, {record["frame_id"]}) has no GT '
                '`instances`; keep them in the data sample or set '
                'ann_file')
        instances = frame['instances']
        missing = [k for k, i in enumerate(instances)
                   if 'bbox_label' not in i]
        if missing:
            raise ValueError(f'{_frame_name(frame)}: instance '
                             f'{missing[0]} has no bbox_label')
        record['gt'] = dict(
            bboxes=_gt_boxes(instances, frame),
            **{
                key: _numpy([i.get(name, default) for i in instances],
                            dtype, None, f'instances {name}', frame)
                for key, name, dtype, default in (
                    ('labels', 'bbox_label', np.int64, None),
                    ('instance_ids', 'instance_id', np.int64, -1),
                    ('ignore_flags', 'ignore_flag', bool, 0))
            })
    return record


def check_inverted_boxes(frames: List[dict]) -> None:
    """Warn about predicted boxes with x2 < x1 or y2 < y1 (they match no
    GT), counted, the first named; refuse when every box is so.

    Args:
        frames (list[dict]): :func:`frame_record` results.

    Raises:
        ValueError: Every predicted box is inverted (not xyxy, surely).
    """
    boxes = np.concatenate([f['bboxes'] for f in frames])
    inverted = (boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])
    if not inverted.any():
        return
    first = int(np.argmax(inverted))
    frame = frames[int(np.searchsorted(
        np.cumsum([len(f['bboxes']) for f in frames]), first, 'right'))]
    where = (f'(first: frame (video_id, frame_id)=({frame["video_id"]}, '
             f'{frame["frame_id"]}), box {boxes[first].tolist()})')
    if inverted.all():
        raise ValueError(
            f'VIDMetric: every one of the {len(boxes)} predicted boxes has '
            f'x2 < x1 or y2 < y1 {where}: they can match no ground truth. '
            'Predictions must be xyxy in original image pixels')
    print_log(
        f'VIDMetric: {int(inverted.sum())} of {len(boxes)} predicted boxes '
        f'have x2 < x1 or y2 < y1 {where}; they match no ground truth and '
        'count as false positives', logger='current', level=logging.WARNING)


def warn_missing_frames(frames: List[dict]) -> None:
    """Warn when frames of a video are missing, by its
    ``ori_video_length``: without ``ann_file`` only the frames given are
    scored, and their motion IoUs see only those.

    Args:
        frames (list[dict]): :func:`frame_record` results (frames without
            ``ori_video_length`` are not counted).
    """
    lengths, seen = {}, {}
    for frame in frames:
        if frame['ori_video_length'] is not None:
            lengths[frame['video_id']] = frame['ori_video_length']
            seen.setdefault(frame['video_id'], set()).add(frame['frame_id'])
    short = {}
    for video, length in sorted(lengths.items()):
        given = sum(0 <= f < length for f in seen[video])
        if given < length:
            short[video] = length - given
    if not short:
        return
    video = next(iter(short))
    gone = min(set(range(lengths[video])) - seen[video])
    print_log(
        f'VIDMetric: {sum(short.values())} frames of {len(short)} of '
        f'{len(lengths)} videos were not scored: their frame_ids fall short '
        f'of ori_video_length (first: video_id {video} has '
        f'{lengths[video] - short[video]} of {lengths[video]} frames, '
        f'frame_id {gone} missing). Only the frames given are scored, and '
        'motion IoUs only see those; test every frame, or set ann_file to '
        'refuse a subset', logger='current', level=logging.WARNING)
