"""ILSVRC2015 VID/DET with FGFA's lists -> CocoVID json (mmtracking schema).

Everything is parsed and checked first (:mod:`.ilsvrc_files`, built by
:class:`.cocovid_builder.CocoVIDBuilder`); the json files are written only
then, as one stamped set (:func:`.conversion_stamp.dump_stamped_set`).
"""
import logging
import os
import os.path as osp
from typing import Dict, Optional, Sequence, Tuple

from mmengine.logging import print_log
from mmengine.utils import ProgressBar

from .cocovid_builder import CocoVIDBuilder, fit_box, vid_categories
from .conversion_stamp import MANIFEST, dump_stamped_set
from .ilsvrc_files import (
    check_video_frames,
    find_list,
    image_size,
    parse_xml,
    read_image_list,
    read_video_list,
)

__all__ = [
    'SPLIT_JSONS', 'SPLIT_LISTS', 'convert_det_split',
    'convert_imagenet_vid', 'convert_vid_split', 'fit_box', 'vid_categories'
]

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


def _warn(message: Optional[str]) -> None:
    if message:
        print_log(message, logger='current', level=logging.WARNING)


class _JpegSizes:
    """Image sizes from the JPEG headers, and those that differ from their
    XML, counted for one warning (per video, or per DET split)."""

    def __init__(self) -> None:
        self.num_images = self.num_differ = 0
        self.first = ''

    def size(self, image: str, xml_path: str, xml_size: Tuple[int, int]
             ) -> Tuple[int, int]:
        """The JPEG's (width, height), counted if not ``xml_size``."""
        real = image_size(image)
        self.num_images += 1
        if real != xml_size and not self.num_differ:
            self.first = (f'{image} is {real[0]}x{real[1]}, {xml_path} says '
                          f'{xml_size[0]}x{xml_size[1]}')
        self.num_differ += real != xml_size
        return real

    def message(self, what: str, unit: str) -> Optional[str]:
        """The warning for ``what`` (a video or split); None if all
        matched."""
        if not self.num_differ:
            return None
        return (f'{what}: {self.num_differ} of {self.num_images} {unit} are '
                f'not the size their XML says (first: {self.first}); the '
                "json takes the JPEG's size, boxes are fitted to it")


def convert_vid_split(root: str,
                      split: str,
                      mmtracking_key_frames: bool = False) -> dict:
    """Parse the VID ``'train'`` or ``'val'`` videos of FGFA's list.

    Train keeps every frame of each listed video and marks FGFA's key
    frames ``is_vid_train_frame=True`` (0-based indices, as given). Frames
    must be named ``%06d.JPEG`` / ``%06d.xml`` from 0; each JPEG's size is
    read from its header and kept where the XML says another (one warning
    per such video); an empty or unreadable JPEG is refused.

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
    coco = CocoVIDBuilder()
    progress = ProgressBar(len(videos))
    for snippet, (num_frames, key_frames) in videos.items():
        data_dir = osp.join(root, 'Data', 'VID', snippet)
        ann_dir = osp.join(root, 'Annotations', 'VID', snippet)
        check_video_frames(data_dir, '.JPEG', num_frames, list_path)
        check_video_frames(ann_dir, '.xml', num_frames, list_path)
        video_id = coco.add_video(snippet)
        instance_ids: Dict[str, int] = {}
        sizes = _JpegSizes()
        for frame_id in range(num_frames):
            xml_path = osp.join(ann_dir, f'{frame_id:06d}.xml')
            width, height, objects = parse_xml(xml_path)
            width, height = sizes.size(
                osp.join(data_dir, f'{frame_id:06d}.JPEG'), xml_path,
                (width, height))
            coco.add_image(
                video_id, frame_id, f'{snippet}/{frame_id:06d}.JPEG', width,
                height, split == 'train' and frame_id + shift in key_frames,
                objects, instance_ids, xml_path)
        _warn(sizes.message(snippet, 'frames'))
        progress.update()
    _warn(coco.fixed_boxes_message(split))
    return coco.to_dict()


def convert_det_split(root: str) -> dict:
    """Parse the DET images of ``DET_train_30classes.txt``.

    Each image is its own one-frame video (``frame_id`` 0) so a video
    dataset can read it; each object is its own instance; objects outside
    the 30 VID classes are left out. Image sizes come from the JPEG
    headers, as in :func:`convert_vid_split` (one warning for the split).

    Returns:
        dict: The CocoVID content (categories, videos, images, annotations).
    """
    list_path = find_list(root, SPLIT_LISTS['det'])
    names = read_image_list(list_path)
    coco = CocoVIDBuilder()
    sizes = _JpegSizes()
    progress = ProgressBar(len(names))
    for name in names:
        image = osp.join(root, 'Data', 'DET', f'{name}.JPEG')
        if not osp.isfile(image):
            raise FileNotFoundError(f'{image}: missing, listed in '
                                    f'{list_path}')
        xml_path = osp.join(root, 'Annotations', 'DET', f'{name}.xml')
        width, height, objects = parse_xml(xml_path, video=False)
        width, height = sizes.size(image, xml_path, (width, height))
        video_id = coco.add_video(name)
        coco.add_image(video_id, 0, f'{name}.JPEG', width, height, True,
                       objects, {}, xml_path)
        progress.update()
    _warn(sizes.message('det', 'images'))
    _warn(coco.fixed_boxes_message('det'))
    return coco.to_dict()


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
    replaced all or none, as one set: each json carries the conversion's
    id in ``info`` and ``out_dir/conversion.json`` records it, so that a
    dataset refuses a file of a set whose switch a crash interrupted
    (:mod:`.conversion_stamp`). Image sizes are the JPEGs' (a differing XML
    size is warned about, once per video). Boxes reaching outside their
    image are clipped, inverted or zero-area ones dropped, with one
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
    conversion_id = dump_stamped_set(
        {paths[split]: content for split, content in contents.items()})
    for split, content in contents.items():
        num_keys = sum(i['is_vid_train_frame'] for i in content['images'])
        num_instances = len({a['instance_id']
                             for a in content['annotations']})
        print_log(
            f'{split}: {len(content["videos"])} videos, '
            f'{len(content["images"])} images ({num_keys} train frames), '
            f'{len(content["annotations"])} boxes, {num_instances} '
            f'instances -> {paths[split]}', logger='current')
    print_log(f'conversion {conversion_id}, recorded in '
              f'{osp.join(out_dir, MANIFEST)}', logger='current')
    return paths
