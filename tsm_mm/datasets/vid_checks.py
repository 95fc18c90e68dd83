"""The checks of :class:`.ImageNetVIDDataset`, whose errors name the
annotation file, video or image at fault and say what to do."""
import os.path as osp
import re
from typing import Iterable, List, Optional

import mmcv
import mmengine.fileio as fileio
import numpy as np

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
        test_mode (bool): Require ``frame_id``s ``0..n-1``.

    Raises:
        ValueError: A repeated ``frame_id``; ``frame_id``s that do not
            step with the file names' frame numbers; in test mode,
            ``frame_id``s other than ``0..n-1``.
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
    if test_mode and (frame_ids[0] != 0
                      or frame_ids[-1] != len(frame_ids) - 1):
        gap = np.flatnonzero(frame_ids != np.arange(len(frame_ids)))[0]
        raise ValueError(
            f'{where} has frame_ids {frame_ids[0]}..{frame_ids[-1]} over '
            f'{len(frame_ids)} frames; frame_id {gap} is missing. A test '
            'video streams frame by frame: its frame_ids must be 0, 1, '
            '..., n-1')


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
