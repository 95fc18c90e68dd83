"""ILSVRC2015 VID/DET with FGFA's lists -> CocoVID json (mmtracking schema).

Everything is parsed and checked first; the json files are written only
then, all or none: each goes to a temporary file beside its target, and
the targets are replaced only once every temporary file is complete.
"""
import logging
import os
import os.path as osp
import re
import tempfile
import xml.etree.ElementTree as ET
from typing import Dict, List, Optional, Sequence, Set, Tuple

from mmengine.fileio import dump
from mmengine.logging import print_log
from mmengine.utils import ProgressBar

from .vid_classes import VID_CLASSES, VID_SYNSETS

# FGFA keeps its lists in ImageSets/, mmtracking in Lists/.
LIST_DIRS = ('ImageSets', 'Lists')
SPLIT_LISTS = {
    'train': 'VID_train_15frames.txt',
    'val': 'VID_val_videos.txt',
    'det': 'DET_train_30classes.txt',
}
SPLIT_JSONS = {
    'train': 'imagenet_vid_train.json',
    'val': 'imagenet_vid_val.json',
    'det': 'imagenet_det_train.json',
}
CATEGORY_IDS = {synset: i for i, synset in enumerate(VID_SYNSETS, 1)}
_SYNSET = re.compile(r'n\d{8}')


def vid_categories() -> List[dict]:
    """The 30 categories: ``id`` 1..30, ``name``, ``encode_name`` (WNID)."""
    return [
        dict(id=i, name=name, encode_name=synset)
        for i, (name, synset) in enumerate(zip(VID_CLASSES, VID_SYNSETS), 1)
    ]


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
    """Sorted frame ids of the ``%06d<ext>`` files in ``folder``."""
    try:
        names = [e.name for e in os.scandir(folder)]
    except FileNotFoundError:
        raise FileNotFoundError(f'{folder}: video folder does not exist') \
            from None
    return sorted(
        int(n[:-len(ext)]) for n in names
        if n.endswith(ext) and n[:-len(ext)].isdigit())


def check_video_frames(folder: str, ext: str, num_frames: int,
                       list_path: str) -> None:
    """Check that ``folder`` holds exactly frames 0..num_frames-1.

    Raises:
        FileNotFoundError: The folder, or a listed frame at its end, is
            missing.
        ValueError: The folder is empty, has a gap in its frame ids, or
            holds more frames than listed.
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
        to the image: see :func:`fit_box`), ``trackid`` (VID; None for
        DET), ``occluded``, ``generated``.

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


def fit_box(xyxy: Sequence[int], width: int,
            height: int) -> Optional[List[int]]:
    """Clip a box to the image; None if nothing of positive area is left.

    Coordinates are continuous (``w = xmax - xmin``, as the json stores
    them), so the image spans ``[0, width] x [0, height]``.

    Args:
        xyxy (Sequence[int]): ``xmin, ymin, xmax, ymax``.
        width (int): Image width.
        height (int): Image height.

    Returns:
        list[int] | None: The clipped corners, or None for an inverted,
        zero-area or wholly outside box.
    """
    x1, y1, x2, y2 = xyxy
    x1, x2 = min(max(x1, 0), width), min(max(x2, 0), width)
    y1, y2 = min(max(y1, 0), height), min(max(y2, 0), height)
    if x2 <= x1 or y2 <= y1:
        return None
    return [x1, y1, x2, y2]


class _CocoVID:
    """Accumulates videos, images and annotations with ids from 1."""

    def __init__(self) -> None:
        self.videos: List[dict] = []
        self.images: List[dict] = []
        self.annotations: List[dict] = []
        self.num_instances = 0
        self.num_clipped = self.num_dropped = 0
        self.fixed_files: List[str] = []  # where boxes were clipped/dropped

    def add_video(self, name: str) -> int:
        self.videos.append(dict(id=len(self.videos) + 1, name=name))
        return len(self.videos)

    def add_image(self, video_id: int, frame_id: int, file_name: str,
                  width: int, height: int, is_vid_train_frame: bool,
                  objects: List[dict], instance_ids: Dict,
                  xml_path: str) -> None:
        """Add an image and its objects (boxes fitted by :func:`fit_box`);
        ``instance_ids`` maps a trackid (None: always fresh) to this
        file's instance id."""
        image_id = len(self.images) + 1
        self.images.append(
            dict(id=image_id, video_id=video_id, frame_id=frame_id,
                 file_name=file_name, height=height, width=width,
                 is_vid_train_frame=is_vid_train_frame))
        num_fixed = self.num_clipped + self.num_dropped
        for obj in objects:
            xyxy = fit_box(obj['xyxy'], width, height)
            if xyxy is None:
                self.num_dropped += 1
                continue
            self.num_clipped += xyxy != obj['xyxy']
            key = obj['trackid']
            if key is None or key not in instance_ids:
                self.num_instances += 1
                if key is not None:
                    instance_ids[key] = self.num_instances
            instance_id = (self.num_instances
                           if key is None else instance_ids[key])
            x, y = xyxy[:2]
            w, h = xyxy[2] - x, xyxy[3] - y
            self.annotations.append(
                dict(id=len(self.annotations) + 1, image_id=image_id,
                     video_id=video_id, category_id=obj['category_id'],
                     instance_id=instance_id, bbox=[x, y, w, h],
                     area=w * h, iscrowd=False, occluded=obj['occluded'],
                     generated=obj['generated']))
        if self.num_clipped + self.num_dropped > num_fixed:
            self.fixed_files.append(xml_path)

    def warn_fixed_boxes(self, split: str) -> None:
        """One warning: how many boxes were clipped or dropped, and where."""
        if not self.fixed_files:
            return
        shown = ', '.join(self.fixed_files[:3])
        more = len(self.fixed_files) - 3
        print_log(
            f'{split}: {self.num_clipped} boxes clipped to their image, '
            f'{self.num_dropped} inverted, zero-area or outside boxes '
            f'dropped, in {len(self.fixed_files)} files: {shown}'
            + (f' and {more} more' if more > 0 else ''),
            logger='current', level=logging.WARNING)

    def to_dict(self) -> dict:
        return dict(categories=vid_categories(), videos=self.videos,
                    images=self.images, annotations=self.annotations)


def convert_vid_split(root: str,
                      split: str,
                      mmtracking_key_frames: bool = False) -> dict:
    """Parse the VID ``'train'`` or ``'val'`` videos of FGFA's list.

    Train keeps every frame of each listed video and marks FGFA's key
    frames ``is_vid_train_frame=True`` (0-based indices, as given).

    Args:
        root (str): The ILSVRC2015 folder.
        split (str): ``'train'`` or ``'val'``.
        mmtracking_key_frames (bool): Mark the frame before each listed
            one instead (a listed frame 0 marks none), as mmtracking's
            ``imagenet2coco_vid.py`` does, to reproduce its numbers.

    Returns:
        dict: The CocoVID content (categories, videos, images, annotations).
    """
    list_path = find_list(root, SPLIT_LISTS[split])
    videos = read_video_list(list_path)
    shift = 1 if mmtracking_key_frames else 0
    coco = _CocoVID()
    progress = ProgressBar(len(videos))
    for snippet, (num_frames, key_frames) in videos.items():
        data_dir = osp.join(root, 'Data', 'VID', snippet)
        ann_dir = osp.join(root, 'Annotations', 'VID', snippet)
        check_video_frames(data_dir, '.JPEG', num_frames, list_path)
        check_video_frames(ann_dir, '.xml', num_frames, list_path)
        video_id = coco.add_video(snippet)
        instance_ids: Dict[str, int] = {}
        for frame_id in range(num_frames):
            xml_path = osp.join(ann_dir, f'{frame_id:06d}.xml')
            width, height, objects = parse_xml(xml_path)
            coco.add_image(
                video_id, frame_id, f'{snippet}/{frame_id:06d}.JPEG', width,
                height, split == 'train' and frame_id + shift in key_frames,
                objects, instance_ids, xml_path)
        progress.update()
    coco.warn_fixed_boxes(split)
    return coco.to_dict()


def convert_det_split(root: str) -> dict:
    """Parse the DET images of ``DET_train_30classes.txt``.

    Each image is its own one-frame video (``frame_id`` 0) so a video
    dataset can read it; each object is its own instance; objects outside
    the 30 VID classes are left out.

    Returns:
        dict: The CocoVID content (categories, videos, images, annotations).
    """
    list_path = find_list(root, SPLIT_LISTS['det'])
    names = []
    with open(list_path) as f:
        for line in f:
            if line.split():
                names.append(line.split()[0])
    if not names:
        raise ValueError(f'{list_path} lists no image')
    names = list(dict.fromkeys(names))  # drop repeats, keep the order
    coco = _CocoVID()
    progress = ProgressBar(len(names))
    for name in names:
        image = osp.join(root, 'Data', 'DET', f'{name}.JPEG')
        if not osp.isfile(image):
            raise FileNotFoundError(f'{image}: missing, listed in '
                                    f'{list_path}')
        xml_path = osp.join(root, 'Annotations', 'DET', f'{name}.xml')
        width, height, objects = parse_xml(xml_path, video=False)
        video_id = coco.add_video(name)
        coco.add_image(video_id, 0, f'{name}.JPEG', width, height, True,
                       objects, {}, xml_path)
        progress.update()
    coco.warn_fixed_boxes('det')
    return coco.to_dict()


def _dump_to_temp(content: dict, path: str) -> str:
    """Write json to a new temporary file beside ``path``; return its path.

    Raises:
        OSError: The file cannot be written; the message names ``path``
            and no temporary file is left.
    """
    folder = osp.dirname(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, suffix='.json.tmp',
                                   prefix=f'.{osp.basename(path)}.')
    except OSError as err:
        raise OSError(err.errno, f'cannot write {path}: {err.strerror}') \
            from err
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes it private
        with os.fdopen(fd, 'w') as f:
            dump(content, f, file_format='json')
            f.flush()
            os.fsync(f.fileno())  # on disk before it replaces anything
    except BaseException as err:
        os.remove(tmp)
        if isinstance(err, OSError):
            raise OSError(err.errno,
                          f'cannot write {path}: {err.strerror or err}') \
                from err
        raise
    return tmp


def dump_all_or_none(contents: Dict[str, dict]) -> None:
    """Write several json files so that either all or none change.

    Each file is first written to a temporary file in its own folder; only
    when all are complete are they renamed over their targets
    (``os.replace``, atomic per file). If a write fails, the temporary
    files are removed and every target keeps its previous content. (The
    renames are not one transaction, but a rename within a folder fails
    only if the folder changes meanwhile; folders in the way are refused
    before anything is written.)

    Args:
        contents (dict[str, dict]): Target path -> json content.

    Raises:
        OSError: A file cannot be written (the message names it) or a
            target is a folder.
    """
    for path in contents:
        if osp.isdir(path):
            raise IsADirectoryError(f'{path} is a folder, not a json file')
    temps: Dict[str, str] = {}
    try:
        for path, content in contents.items():
            temps[path] = _dump_to_temp(content, path)
    except BaseException:
        for tmp in temps.values():
            os.remove(tmp)
        raise
    for path, tmp in temps.items():
        os.replace(tmp, path)


def convert_imagenet_vid(root: str,
                         out_dir: str,
                         splits: Sequence[str] = ('train', 'val', 'det'),
                         mmtracking_key_frames: bool = False
                         ) -> Dict[str, str]:
    """Convert ILSVRC2015 VID (and DET) to CocoVID json files.

    Reads ``Data/``, ``Annotations/`` and FGFA's lists under ``ImageSets/``
    (or ``Lists/``) and writes ``imagenet_vid_train.json``,
    ``imagenet_vid_val.json`` and ``imagenet_det_train.json`` to
    ``out_dir``. ``file_name`` is relative to ``Data/VID`` or ``Data/DET``.
    All splits are parsed before any file is written, and the files are
    replaced all or none (:func:`dump_all_or_none`). Boxes reaching outside
    their image are clipped, inverted or zero-area ones dropped, with one
    warning per split saying how many and in which files.

    Args:
        root (str): The ILSVRC2015 folder.
        out_dir (str): Where the json files go (created if needed).
        splits (Sequence[str]): Some of ``'train'``, ``'val'``, ``'det'``.
        mmtracking_key_frames (bool): Train key frames one frame before
            FGFA's, as mmtracking's converter marks them (to compare with
            numbers reported by mmtracking). Defaults to False (FGFA's).

    Returns:
        dict[str, str]: split -> path of the json written.
    """
    unknown = set(splits) - set(SPLIT_JSONS)
    if unknown or not splits:
        raise ValueError(f'splits must be some of {tuple(SPLIT_JSONS)}, '
                         f'got {tuple(splits)}')
    contents = {}
    for split in dict.fromkeys(splits):
        contents[split] = (
            convert_det_split(root) if split == 'det' else
            convert_vid_split(root, split, mmtracking_key_frames))
    os.makedirs(out_dir, exist_ok=True)
    paths = {split: osp.join(out_dir, SPLIT_JSONS[split])
             for split in contents}
    dump_all_or_none({paths[split]: content
                      for split, content in contents.items()})
    for split, content in contents.items():
        num_keys = sum(i['is_vid_train_frame'] for i in content['images'])
        num_instances = len({a['instance_id']
                             for a in content['annotations']})
        print_log(
            f'{split}: {len(content["videos"])} videos, '
            f'{len(content["images"])} images ({num_keys} train frames), '
            f'{len(content["annotations"])} boxes, {num_instances} '
            f'instances -> {paths[split]}', logger='current')
    return paths
