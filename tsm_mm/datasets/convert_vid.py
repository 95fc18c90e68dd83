"""ILSVRC2015 VID/DET with FGFA's lists -> CocoVID json (mmtracking schema).

Everything is parsed and checked first; the json files are written only
then, each atomically, so a bad input leaves no json behind.
"""
import os
import os.path as osp
import re
import tempfile
import xml.etree.ElementTree as ET
from typing import Dict, List, Sequence, Set, Tuple

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
        ``category_id``, ``bbox`` (x, y, w, h with w = xmax - xmin),
        ``trackid`` (VID; None for DET), ``occluded``, ``generated``.
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
    objects = []
    for obj in root.iter('object'):
        synset = _text(obj, 'name', path)
        if synset not in CATEGORY_IDS:
            if video or not _SYNSET.fullmatch(synset):
                raise ValueError(f'{path}: unknown synset {synset!r}')
            continue  # a DET class outside the 30 of VID
        box = obj.find('bndbox')
        if box is None:
            raise ValueError(f'{path}: missing <bndbox> in <object>')
        x1, y1 = _int(box, 'xmin', path), _int(box, 'ymin', path)
        x2, y2 = _int(box, 'xmax', path), _int(box, 'ymax', path)
        if x2 < x1 or y2 < y1:
            raise ValueError(f'{path}: inverted box xmin={x1} xmax={x2} '
                             f'ymin={y1} ymax={y2}')
        flags = {}
        for tag in ('occluded', 'generated'):
            if video or obj.find(tag) is not None:
                flags[tag] = _text(obj, tag, path) == '1'
            else:
                flags[tag] = False
        objects.append(
            dict(category_id=CATEGORY_IDS[synset],
                 bbox=[x1, y1, x2 - x1, y2 - y1],
                 trackid=_text(obj, 'trackid', path) if video else None,
                 **flags))
    return width, height, objects


class _CocoVID:
    """Accumulates videos, images and annotations with ids from 1."""

    def __init__(self) -> None:
        self.videos: List[dict] = []
        self.images: List[dict] = []
        self.annotations: List[dict] = []
        self.num_instances = 0

    def add_video(self, name: str) -> int:
        self.videos.append(dict(id=len(self.videos) + 1, name=name))
        return len(self.videos)

    def add_image(self, video_id: int, frame_id: int, file_name: str,
                  width: int, height: int, is_vid_train_frame: bool,
                  objects: List[dict], instance_ids: Dict) -> None:
        """Add an image and its objects; ``instance_ids`` maps a trackid
        (None: always fresh) to this file's instance id."""
        image_id = len(self.images) + 1
        self.images.append(
            dict(id=image_id, video_id=video_id, frame_id=frame_id,
                 file_name=file_name, height=height, width=width,
                 is_vid_train_frame=is_vid_train_frame))
        for obj in objects:
            key = obj['trackid']
            if key is None or key not in instance_ids:
                self.num_instances += 1
                if key is not None:
                    instance_ids[key] = self.num_instances
            instance_id = (self.num_instances
                           if key is None else instance_ids[key])
            x, y, w, h = obj['bbox']
            self.annotations.append(
                dict(id=len(self.annotations) + 1, image_id=image_id,
                     video_id=video_id, category_id=obj['category_id'],
                     instance_id=instance_id, bbox=[x, y, w, h],
                     area=w * h, iscrowd=False, occluded=obj['occluded'],
                     generated=obj['generated']))

    def to_dict(self) -> dict:
        return dict(categories=vid_categories(), videos=self.videos,
                    images=self.images, annotations=self.annotations)


def convert_vid_split(root: str, split: str) -> dict:
    """Parse the VID ``'train'`` or ``'val'`` videos of FGFA's list.

    Train keeps every frame of each listed video and marks FGFA's key
    frames ``is_vid_train_frame=True`` (0-based indices, as given).

    Returns:
        dict: The CocoVID content (categories, videos, images, annotations).
    """
    list_path = find_list(root, SPLIT_LISTS[split])
    videos = read_video_list(list_path)
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
            width, height, objects = parse_xml(
                osp.join(ann_dir, f'{frame_id:06d}.xml'))
            coco.add_image(
                video_id, frame_id, f'{snippet}/{frame_id:06d}.JPEG', width,
                height, split == 'train' and frame_id in key_frames,
                objects, instance_ids)
        progress.update()
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
        width, height, objects = parse_xml(
            osp.join(root, 'Annotations', 'DET', f'{name}.xml'), video=False)
        video_id = coco.add_video(name)
        coco.add_image(video_id, 0, f'{name}.JPEG', width, height, True,
                       objects, {})
        progress.update()
    return coco.to_dict()


def _dump_atomic(content: dict, path: str) -> None:
    """Write json to a temporary file beside ``path``, then rename it."""
    fd, tmp = tempfile.mkstemp(dir=osp.dirname(path), suffix='.json.tmp')
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes it private
        with os.fdopen(fd, 'w') as f:
            dump(content, f, file_format='json')
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def convert_imagenet_vid(root: str,
                         out_dir: str,
                         splits: Sequence[str] = ('train', 'val', 'det')
                         ) -> Dict[str, str]:
    """Convert ILSVRC2015 VID (and DET) to CocoVID json files.

    Reads ``Data/``, ``Annotations/`` and FGFA's lists under ``ImageSets/``
    (or ``Lists/``) and writes ``imagenet_vid_train.json``,
    ``imagenet_vid_val.json`` and ``imagenet_det_train.json`` to
    ``out_dir``. ``file_name`` is relative to ``Data/VID`` or ``Data/DET``.
    All splits are parsed before any file is written.

    Args:
        root (str): The ILSVRC2015 folder.
        out_dir (str): Where the json files go (created if needed).
        splits (Sequence[str]): Some of ``'train'``, ``'val'``, ``'det'``.

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
            convert_det_split(root)
            if split == 'det' else convert_vid_split(root, split))
    os.makedirs(out_dir, exist_ok=True)
    paths = {}
    for split, content in contents.items():
        paths[split] = osp.join(out_dir, SPLIT_JSONS[split])
        _dump_atomic(content, paths[split])
        num_keys = sum(i['is_vid_train_frame'] for i in content['images'])
        num_instances = len({a['instance_id']
                             for a in content['annotations']})
        print_log(
            f'{split}: {len(content["videos"])} videos, '
            f'{len(content["images"])} images ({num_keys} train frames), '
            f'{len(content["annotations"])} boxes, {num_instances} '
            f'instances -> {paths[split]}', logger='current')
    return paths
