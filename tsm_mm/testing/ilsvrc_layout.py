"""Writing files in the ILSVRC2015 layout: snippet names, per-frame (VID)
and per-image (DET) annotation XML, JPEG frames, and the ``ImageSets``
lists, FGFA's included.

Written by hand: nothing in the mm ecosystem writes this layout.
"""
import os
import os.path as osp
import xml.etree.ElementTree as ET
from typing import List, Sequence, Tuple, Union

import cv2
import numpy as np

from tsm_mm.datasets.vid_classes import VID_CLASSES

NUM_KEY_FRAMES = 15  # FGFA's VID_train_15frames.txt
_JPEG_QUALITY = 90
_VIDEOS_PER_BATCH = 1000  # ILSVRC2015_VID_train_000k holds <= 1000 snippets
_CORNERS = ('xmin', 'ymin', 'xmax', 'ymax')


def fgfa_key_frames(num_frames: int,
                    num_keys: int = NUM_KEY_FRAMES) -> List[int]:
    """FGFA's training key frames: the centres of ``num_keys`` equal parts.

    A 300-frame snippet gives 10, 30, ..., 290, as in
    ``VID_train_15frames.txt``; a snippet shorter than ``num_keys`` gives
    all its frames.

    Args:
        num_frames (int): Frames of the snippet.
        num_keys (int): Key frames wanted.

    Returns:
        list[int]: Sorted 0-based frame indices.
    """
    k = min(num_keys, num_frames)
    return sorted({num_frames * (2 * i + 1) // (2 * k) for i in range(k)})


def snippet_name(split: str, index: int) -> str:
    """Path of a snippet under ``Data/VID`` as ILSVRC2015 names it."""
    if split == 'train':
        batch = f'ILSVRC2015_VID_train_{index // _VIDEOS_PER_BATCH:04d}'
        return f'train/{batch}/ILSVRC2015_train_{index:05d}000'
    return f'val/ILSVRC2015_val_{index:08d}'


def annotation_xml(folder: str,
                   filename: str,
                   size: Tuple[int, int],
                   objects: List[dict],
                   video: bool = True) -> str:
    """One annotation file as ILSVRC writes it.

    Args:
        folder (str): The ``<folder>`` text.
        filename (str): The ``<filename>`` text (no extension).
        size (tuple[int, int]): (width, height).
        objects (list[dict]): ``synset`` and inclusive pixel ``box``
            (xmin, ymin, xmax, ymax); for VID also ``trackid`` and
            ``occluded``.
        video (bool): A VID frame (ILSVRC_2015: ``trackid``, the bndbox
            corners as xmax, xmin, ymax, ymin, ``occluded``, ``generated``)
            or a DET image (ILSVRC_2014: no track, corners xmin ... ymax).

    Returns:
        str: The XML text, tab-indented, ending with a newline.
    """
    root = ET.Element('annotation')
    ET.SubElement(root, 'folder').text = folder
    ET.SubElement(root, 'filename').text = filename
    ET.SubElement(ET.SubElement(root, 'source'), 'database').text = (
        'ILSVRC_2015' if video else 'ILSVRC_2014')
    size_el = ET.SubElement(root, 'size')
    ET.SubElement(size_el, 'width').text = str(size[0])
    ET.SubElement(size_el, 'height').text = str(size[1])
    order = ('xmax', 'xmin', 'ymax', 'ymin') if video else _CORNERS
    for obj in objects:
        el = ET.SubElement(root, 'object')
        if video:
            ET.SubElement(el, 'trackid').text = str(obj['trackid'])
        ET.SubElement(el, 'name').text = obj['synset']
        bndbox = ET.SubElement(el, 'bndbox')
        corners = dict(zip(_CORNERS, obj['box']))
        for tag in order:
            ET.SubElement(bndbox, tag).text = str(corners[tag])
        if video:
            ET.SubElement(el, 'occluded').text = str(int(obj['occluded']))
            ET.SubElement(el, 'generated').text = '0'
    ET.indent(root, space='\t')
    return ET.tostring(root, encoding='unicode') + '\n'


def write_file(path: str, data: Union[str, bytes]) -> None:
    """Write text or bytes to ``path``, creating its folder."""
    folder = osp.dirname(path)
    if not osp.isdir(folder):
        os.makedirs(folder)
    mode = 'wb' if isinstance(data, bytes) else 'w'
    with open(path, mode) as f:
        f.write(data)


def jpeg_bytes(image: np.ndarray) -> bytes:
    """A BGR uint8 image encoded as ILSVRC's JPEG frames (quality 90)."""
    ok, buf = cv2.imencode('.JPEG', image,
                           [cv2.IMWRITE_JPEG_QUALITY, _JPEG_QUALITY])
    if not ok:
        raise ValueError(f'cannot encode a {image.shape} {image.dtype} '
                         'image as JPEG')
    return buf.tobytes()


def write_lists(root: str, train: Sequence[Tuple[str, List[str]]],
                val: Sequence[Tuple[str, List[str]]], num_frames: int,
                det: Sequence[str]) -> None:
    """``ImageSets/`` as ILSVRC2015 has it, plus FGFA's lists.

    Args:
        root (str): The ILSVRC2015 folder.
        train (Sequence[tuple]): (snippet, class names in it) per video.
        val (Sequence[tuple]): The same for val.
        num_frames (int): Frames of every snippet.
        det (Sequence[str]): DET image names (``train/<folder>/<stem>``).
    """
    sets = osp.join(root, 'ImageSets')
    per_class = {k: [] for k in range(1, len(VID_CLASSES) + 1)}
    for snippet, names in train:
        for name in names:
            per_class[VID_CLASSES.index(name) + 1].append(
                snippet.split('/', 1)[1] + ' 1\n')
    for k, lines in per_class.items():
        write_file(osp.join(sets, 'VID', f'train_{k}.txt'), ''.join(lines))
    write_file(
        osp.join(sets, 'VID', 'val.txt'), ''.join(
            f"{snippet.split('/', 1)[1]}/{f:06d} {v * num_frames + f + 1}\n"
            for v, (snippet, _) in enumerate(val)
            for f in range(num_frames)))
    write_file(
        osp.join(sets, 'VID_train_15frames.txt'), ''.join(
            f'{snippet} 1 {f} {num_frames}\n' for snippet, _ in train
            for f in fgfa_key_frames(num_frames)))
    write_file(
        osp.join(sets, 'VID_val_videos.txt'), ''.join(
            f'{snippet} {v * num_frames + 1} 0 {num_frames}\n'
            for v, (snippet, _) in enumerate(val)))
    write_file(
        osp.join(sets, 'DET_train_30classes.txt'),
        ''.join(f'{name} {n + 1}\n' for n, name in enumerate(det)))
