"""Rawframe annotation lists (``<video> <frames> <label>``) and a preview.

The list format of MMAction2's ``RawframeDataset``, as the toy makers write
it, and a contact sheet of one clip per class to look at a dataset.
"""
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import cv2
import mmcv
import numpy as np

from tsm_mm.utils import atomic_path

FILENAME_TMPL = 'img_{:05}.jpg'


def write_rawframe_lists(folder: str,
                         splits: Dict[str, Sequence[Tuple[str, int, int]]],
                         classes: Sequence[str]) -> None:
    """Write ``<split>_list.txt`` per split and ``classes.txt`` in place
    (not atomically: the toy makers fill a folder renamed when complete).

    Args:
        folder (str): The dataset folder.
        splits (dict): Split name -> rows (video, num_frames, label).
        classes (Sequence[str]): Class names, by label.
    """
    for split, rows in splits.items():
        with open(osp.join(folder, f'{split}_list.txt'), 'w') as f:
            f.writelines(f'{video} {num} {label}\n'
                         for video, num, label in rows)
    with open(osp.join(folder, 'classes.txt'), 'w') as f:
        f.writelines(f'{name}\n' for name in classes)


def read_rawframe_list(path: str) -> List[Tuple[str, int, int]]:
    """Parse ``<video> <num_frames> <label>`` lines.

    Args:
        path (str): A list file, e.g. written by
            :func:`~tsm_mm.testing.toy_actions.make_toy_actions`.

    Returns:
        list[tuple[str, int, int]]: (video, num_frames, label) per line.
    """
    rows = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            fields = line.split()
            if len(fields) != 3:
                raise ValueError(f'{path}:{number}: expected "<video> '
                                 f'<num_frames> <label>", got {line!r}')
            rows.append((fields[0], int(fields[1]), int(fields[2])))
    return rows


def render_contact_sheet(data_dir: str,
                         png_path: str,
                         split: str = 'train',
                         filename_tmpl: str = FILENAME_TMPL) -> np.ndarray:
    """Save one clip per class as a PNG: a row per class, frames in order.

    Args:
        data_dir (str): A folder with ``classes.txt``, ``<split>_list.txt``
            and ``rawframes/`` (as the toy makers write).
        png_path (str): Where to write the PNG (replaced atomically).
        split (str): ``'train'`` or ``'val'``: the list to take clips from.
        filename_tmpl (str): Frame file names, 1-based.

    Returns:
        np.ndarray: The sheet as a BGR image.
    """
    with open(osp.join(data_dir, 'classes.txt')) as f:
        classes = [line.strip() for line in f if line.strip()]
    first = {}
    for video, num, label in read_rawframe_list(
            osp.join(data_dir, f'{split}_list.txt')):
        first.setdefault(label, (video, num))
    rows = []
    for label, name in enumerate(classes):
        if label not in first:
            raise ValueError(f'no clip of class {label} ({name}) in the '
                             f'{split} list of {data_dir}')
        video, num = first[label]
        frames = [
            mmcv.imread(
                osp.join(data_dir, 'rawframes', video,
                         filename_tmpl.format(i + 1))) for i in range(num)
        ]
        height = frames[0].shape[0]
        caption = np.full((height, 200, 3), 255, np.uint8)
        cv2.putText(caption, f'{label} {name}', (4, height // 2 + 4),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1,
                    cv2.LINE_AA)
        gaps = [np.full((height, 2, 3), 255, np.uint8)] * len(frames)
        rows.append(np.hstack([caption] +
                              [x for pair in zip(frames, gaps)
                               for x in pair]))
    sheet = np.vstack(
        [x for row in rows for x in (row, np.full((2, ) + row.shape[1:],
                                                  255, np.uint8))])
    with atomic_path(png_path) as tmp:
        mmcv.imwrite(sheet, tmp)
    return sheet
