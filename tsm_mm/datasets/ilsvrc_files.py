"""Reading the ILSVRC2015 layout: FGFA's lists, frame folders, the size of
each JPEG (from its header), and the per-frame (VID) or per-image (DET)
annotation XML.

Every reader checks what it reads and names the file (and line) at fault.
"""
import os
import os.path as osp
import re
import xml.etree.ElementTree as ET
from typing import Dict, List, Set, Tuple

from PIL import Image, UnidentifiedImageError

from .vid_classes import VID_SYNSETS

# FGFA keeps its lists in ImageSets/, mmtracking in Lists/.
LIST_DIRS = ('ImageSets', 'Lists')
CATEGORY_IDS = {synset: i for i, synset in enumerate(VID_SYNSETS, 1)}
_SYNSET = re.compile(r'n\d{8}')
_FRAME_STEM = re.compile(r'\d{6}')


def find_list(root: str, name: str) -> str:
    """Path of the list ``name`` under ``root/ImageSets`` or ``root/Lists``."""
    for folder in LIST_DIRS:
        path = osp.join(root, folder, name)
        if osp.isfile(path):
            return path
    raise FileNotFoundError(f'{name} is in neither {root}/ImageSets nor '
                            f'{root}/Lists')


def read_video_list(path: str) -> Dict[str, Tuple[int, Set[int]]]:
    """Read an FGFA video list (``<snippet> <id> <frame> <num_frames>``).

    Args:
        path (str): ``VID_train_15frames.txt`` or ``VID_val_videos.txt``.

    Returns:
        dict: snippet (e.g. ``'val/ILSVRC2015_val_00000000'``) ->
        (num_frames, the 0-based frame indices listed), in list order.
    """
    videos: Dict[str, Tuple[int, Set[int]]] = {}
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            try:
                snippet, _, frame, num = fields
                frame, num = int(frame), int(num)
            except ValueError:
                raise ValueError(
                    f'{path}:{lineno}: expected "<snippet> <id> <frame> '
                    f'<num_frames>", got {line.strip()!r}') from None
            if num < 1:
                raise ValueError(f'{path}:{lineno}: {snippet} is an empty '
                                 f'video (num_frames={num})')
            if not 0 <= frame < num:
                raise ValueError(f'{path}:{lineno}: frame {frame} is outside '
                                 f'{snippet} (num_frames={num})')
            num_seen, frames = videos.setdefault(snippet, (num, set()))
            if num_seen != num:
                raise ValueError(f'{path}:{lineno}: {snippet} has '
                                 f'num_frames={num} here, {num_seen} above')
            frames.add(frame)
    if not videos:
        raise ValueError(f'{path} lists no video')
    return videos


def _frame_ids(folder: str, ext: str) -> List[int]:
    """Sorted frame ids of the ``%06d<ext>`` files in ``folder``; another
    name ending with ``ext`` is refused."""
    try:
        names = sorted(e.name for e in os.scandir(folder))
    except FileNotFoundError:
        raise FileNotFoundError(f'{folder}: video folder does not exist') \
            from None
    names = [n for n in names if n.endswith(ext)]
    for name in names:
        if not _FRAME_STEM.fullmatch(name[:-len(ext)]):
            raise ValueError(f'{folder}: frame {name!r} is not named '
                             f'%06d{ext} (000000{ext}, 000001{ext}, ...)')
    return [int(n[:-len(ext)]) for n in names]


def check_video_frames(folder: str, ext: str, num_frames: int,
                       list_path: str) -> None:
    """Check that ``folder`` holds exactly frames 0..num_frames-1.

    Raises:
        FileNotFoundError: The folder, or a listed frame at its end, is
            missing.
        ValueError: The folder is empty, has a gap in its frame ids, holds
            more frames than listed, or a file ending with ``ext`` that is
            not named ``%06d<ext>``.
    """
    ids = _frame_ids(folder, ext)
    if not ids:
        raise ValueError(f'{folder}: empty video (no *{ext} frames)')
    for expected, found in enumerate(ids):
        if found != expected:
            raise ValueError(
                f'{osp.join(folder, f"{expected:06d}{ext}")}: missing, a '
                f'frame-id gap ({found:06d}{ext} exists)')
    if len(ids) < num_frames:
        raise FileNotFoundError(
            f'{osp.join(folder, f"{len(ids):06d}{ext}")}: missing, '
            f'{list_path} lists {num_frames} frames')
    if len(ids) > num_frames:
        raise ValueError(f'{folder} holds {len(ids)} frames, {list_path} '
                         f'lists {num_frames}')


def image_size(path: str) -> Tuple[int, int]:
    """Width and height of an image, read from its header (PIL opens
    lazily: nothing is decoded).

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: It is empty or not an image PIL can identify.
    """
    try:
        with Image.open(path) as image:
            return image.size
    except FileNotFoundError:
        raise FileNotFoundError(f'{path}: image does not exist') from None
    except UnidentifiedImageError:
        what = ('an empty file' if osp.getsize(path) == 0 else
                'no image header PIL knows')
    except Exception as err:  # a header PIL knows but cannot parse
        what = f'{type(err).__name__}: {err}'
    raise ValueError(f'{path}: not a readable image ({what})')


def _text(el: ET.Element, tag: str, path: str) -> str:
    """Text of the child ``tag`` of ``el``; a clear error if absent."""
    child = el.find(tag)
    if child is None or child.text is None:
        raise ValueError(f'{path}: missing <{tag}> in <{el.tag}>')
    return child.text.strip()


def _int(el: ET.Element, tag: str, path: str) -> int:
    text = _text(el, tag, path)
    try:
        return int(text)
    except ValueError:
        raise ValueError(f'{path}: <{tag}> is {text!r}, not an integer') \
            from None


def parse_xml(path: str, video: bool = True) -> Tuple[int, int, List[dict]]:
    """Parse one ILSVRC annotation file.

    Args:
        path (str): The ``.xml`` file.
        video (bool): A VID frame (every object must be one of the 30
            classes and have ``trackid``, ``occluded``, ``generated``) or a
            DET image (objects of other DET classes are skipped).

    Returns:
        tuple: ``width``, ``height`` and the objects, each a dict with
        ``category_id``, ``xyxy`` (the corners as written, not yet fitted
        to the image: see :func:`.cocovid_builder.fit_box`), ``trackid``
        (VID; None for DET), ``occluded``, ``generated``.

    Raises:
        ValueError: The XML is corrupt, lacks a field, names an unknown
            synset, or (VID) repeats a ``trackid`` within the frame.
    """
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise ValueError(f'{path}: corrupt XML ({e})') from None
    except FileNotFoundError:
        raise FileNotFoundError(f'{path}: annotation does not exist') \
            from None
    size = root.find('size')
    if size is None:
        raise ValueError(f'{path}: missing <size>')
    width, height = _int(size, 'width', path), _int(size, 'height', path)
    if width < 1 or height < 1:
        raise ValueError(f'{path}: bad image size {width}x{height}')
    objects, trackids = [], set()
    for obj in root.iter('object'):
        synset = _text(obj, 'name', path)
        if synset not in CATEGORY_IDS:
            if video or not _SYNSET.fullmatch(synset):
                raise ValueError(f'{path}: unknown synset {synset!r}')
            continue  # a DET class outside the 30 of VID
        box = obj.find('bndbox')
        if box is None:
            raise ValueError(f'{path}: missing <bndbox> in <object>')
        xyxy = [_int(box, tag, path)
                for tag in ('xmin', 'ymin', 'xmax', 'ymax')]
        trackid = _text(obj, 'trackid', path) if video else None
        if trackid is not None:
            if trackid in trackids:  # two boxes of one instance
                raise ValueError(f'{path}: trackid {trackid} appears more '
                                 'than once in this frame')
            trackids.add(trackid)
        flags = {}
        for tag in ('occluded', 'generated'):
            if video or obj.find(tag) is not None:
                flags[tag] = _text(obj, tag, path) == '1'
            else:
                flags[tag] = False
        objects.append(
            dict(category_id=CATEGORY_IDS[synset], xyxy=xyxy,
                 trackid=trackid, **flags))
    return width, height, objects


def read_image_list(path: str) -> List[str]:
    """Read ``DET_train_30classes.txt`` (``<image> <id>`` per line).

    Returns:
        list[str]: The image names, in list order, each once.
    """
    with open(path) as f:
        names = [line.split()[0] for line in f if line.split()]
    if not names:
        raise ValueError(f'{path} lists no image')
    return list(dict.fromkeys(names))  # drop repeats, keep the order
