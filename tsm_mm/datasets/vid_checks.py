"""The checks of :class:`.ImageNetVIDDataset`, whose errors name the
annotation file, video or image at fault and say what to do."""
import os.path as osp
import re
from operator import itemgetter
from typing import Iterable, List, Optional, Sequence

import mmcv
import mmengine.fileio as fileio
import numpy as np

from .cocovid_json import boxes_array

# the frame number a file name ends with: '.../000012.JPEG' -> 12
_FRAME_NUMBER = re.compile(r'(\d+)\.\w+$')


def missing_ann_file_message(ann_file: str, data_root: str) -> str:
    """Where the json was expected and the commands that make one."""
    ann_file = osp.abspath(ann_file)
    root = osp.abspath(data_root or osp.dirname(osp.dirname(ann_file)))
    return (
        f'annotation file {ann_file} does not exist.\n'
        f'From an ILSVRC2015 download in {root} (Data/, Annotations/, and '
        "FGFA's lists in ImageSets/), make it with:\n"
        f'    python tools/convert_imagenet_vid.py --root {root} '
        f'--out {osp.dirname(ann_file)}\n'
        'Without the data, run on the toy VID instead:\n'
        '    python tools/compare_vid.py --toy  (or: make demo)\n'
        'or make the toy set for the configs/toy/ configs:\n'
        '    python tools/make_toy_vid.py data/toy_vid && python '
        'tools/convert_imagenet_vid.py --root data/toy_vid --out '
        'data/toy_vid/annotations')


def check_frame_ids(frames: List[dict], where: str, test_mode: bool) -> None:
    """Check the sorted ``frame_id``s of one video against its files.

    Args:
        frames (list[dict]): The video's frames, sorted by ``frame_id``,
            with ``frame_id`` and ``file_name``.
        where (str): Names the video in errors (json file and video).
        test_mode (bool): Require ``frame_id``s ``0..n-1``; else
            consecutive ones from any start.

    Raises:
        ValueError: A repeated ``frame_id``; ``frame_id``s that do not
            step with the file names' frame numbers; a missing
            ``frame_id`` (a gap, or in test mode a start other than 0).
    """
    frame_ids = np.array([frame['frame_id'] for frame in frames])
    repeated = np.flatnonzero(np.diff(frame_ids) == 0)
    if len(repeated):
        raise ValueError(f'{where} has repeated frame_id '
                         f'{frame_ids[repeated[0]]}')
    numbers = [_FRAME_NUMBER.search(frame['file_name']) for frame in frames]
    if all(numbers):
        offsets = np.array([int(n.group(1)) for n in numbers]) - frame_ids
        bad = np.flatnonzero(offsets != offsets[0])
        if len(bad):
            a, b = frames[0], frames[bad[0]]
            raise ValueError(
                f'{where}: its frame_ids disagree with the frame numbers of '
                f"its file names: frame_id {a['frame_id']} is "
                f"{a['file_name']!r} but frame_id {b['frame_id']} is "
                f"{b['file_name']!r}")
    start = 0 if test_mode else frame_ids[0]
    if frame_ids[-1] - start != len(frame_ids) - 1:  # sorted, unique
        gap = start + np.flatnonzero(
            frame_ids != start + np.arange(len(frame_ids)))[0]
        rule = ('A test video streams frame by frame: its frame_ids must '
                'be 0, 1, ..., n-1' if test_mode else
                "A training clip takes a frame's neighbours from the "
                'frames listed: its frame_ids must be consecutive')
        raise ValueError(
            f'{where} has frame_ids {frame_ids[0]}..{frame_ids[-1]} over '
            f'{len(frame_ids)} frames; frame_id {gap} is missing. {rule}')


def dropped_boxes_message(data: dict, cat_ids: Sequence[int],
                          ann_file: str) -> Optional[str]:
    """How many boxes of ``cat_ids`` mmdet's ``parse_data_info`` will drop
    (no overlap with the image, ``area <= 0``, under 1 pixel wide or high;
    ``ignore`` boxes aside), and the first; None if none.

    Args:
        data (dict): CocoVID json checked by
            :func:`.cocovid_json.check_cocovid` (with ``width``, ``height``
            and ``area``).
        cat_ids (Sequence[int]): Category ids of the dataset's classes.
        ann_file (str): Names the file.

    Returns:
        str, optional: The warning.
    """
    anns = data['annotations']
    num = len(anns)
    cats = np.fromiter(map(itemgetter('category_id'), anns), np.int64, num)
    kept = np.isin(cats, np.asarray(cat_ids, dtype=np.int64)) & ~np.fromiter(
        (bool(a.get('ignore', False)) for a in anns), bool, num)
    if not kept.any():
        return None
    size = {img['id']: (img['width'], img['height']) for img in data['images']}
    width, height = np.array(
        [size[a['image_id']] for a in anns], dtype=np.float64).reshape(-1, 2).T
    x1, y1, w, h = boxes_array(list(map(itemgetter('bbox'), anns))).T
    area = np.fromiter(map(itemgetter('area'), anns), np.float64, num)
    inter_w = np.maximum(0, np.minimum(x1 + w, width) - np.maximum(x1, 0))
    inter_h = np.maximum(0, np.minimum(y1 + h, height) - np.maximum(y1, 0))
    dropped = kept & ((inter_w * inter_h == 0) | (area <= 0) | (w < 1) |
                      (h < 1))
    if not dropped.any():
        return None
    first = int(np.argmax(dropped))
    ann = anns[first]
    return (
        f'{ann_file}: {int(dropped.sum())} of {int(kept.sum())} boxes are '
        'dropped, as mmdet drops them (no overlap with their image, '
        'area <= 0, or under 1 pixel wide or high); first: '
        f"annotations[{first}] (id {ann['id']}): bbox {ann['bbox']}, "
        f"area {ann['area']}, in a {width[first]:g}x{height[first]:g} image")


def unreadable_image(paths: Iterable[str],
                     backend_args: Optional[dict] = None) -> Optional[str]:
    """The first of ``paths`` that is empty or cannot be decoded, with what
    is wrong; None if all decode.

    Decodes with mmcv as ``LoadImageFromFile`` does (cv2's ``!buf.empty()``
    names no file). A missing or unreadable file is skipped: mmcv's own
    error names it.
    """
    for path in dict.fromkeys(paths):
        try:
            content = fileio.get(path, backend_args=backend_args)
        except OSError:
            continue
        if not content:
            return f'{path}: an empty file (0 bytes)'
        try:
            image = mmcv.imfrombytes(content)
        except Exception:
            image = None
        if image is None:
            return f'{path}: not a decodable image'
    return None


# transforms that paste other images into a frame: no clip can share them
MIXING_TRANSFORMS = ('Mosaic', 'CachedMosaic', 'MixUp', 'CachedMixUp',
                     'CopyPaste')


def check_clip_pipeline(pipeline: Sequence, where: str) -> None:
    """Refuse image-mixing transforms anywhere in a video pipeline.

    Args:
        pipeline (Sequence): Transform configs (or built transforms),
            ``TransformBroadcaster``'s ``transforms`` searched too.
        where (str): The dataset, for the message.
    """
    for transform in pipeline or ():
        if isinstance(transform, dict):
            name = transform.get('type', '')
            name = name if isinstance(name, str) else name.__name__
            inner = transform.get('transforms', ())
        else:
            name = type(transform).__name__
            inner = getattr(transform, 'transforms', ())
        if name.split('.')[-1] in MIXING_TRANSFORMS:
            raise ValueError(
                f'{where}: {name} pastes other images into a frame, which '
                'the frames of a clip cannot share (each frame would get '
                'other images); drop it from the pipeline, and its '
                "PipelineSwitchHook if the config has one (RTMDet's)")
        if inner:
            check_clip_pipeline(inner, where)
