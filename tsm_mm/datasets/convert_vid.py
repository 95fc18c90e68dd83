"""ILSVRC2015 VID/DET with FGFA's lists -> CocoVID json (mmtracking schema).

Everything is parsed and checked first (:mod:`.ilsvrc_files`, built by
:class:`.cocovid_builder.CocoVIDBuilder`); the json files are written only
then, all or none (:func:`tsm_mm.utils.atomic_paths`).
"""
import logging
import os
import os.path as osp
from typing import Dict, Optional, Sequence

from mmengine.fileio import dump
from mmengine.logging import print_log
from mmengine.utils import ProgressBar

from ..utils.atomic_write import atomic_paths, naming_target
from .cocovid_builder import CocoVIDBuilder, fit_box, vid_categories
from .ilsvrc_files import (
    check_video_frames,
    find_list,
    parse_xml,
    read_image_list,
    read_video_list,
)

__all__ = [
    'SPLIT_JSONS', 'SPLIT_LISTS', 'convert_det_split',
    'convert_imagenet_vid', 'convert_vid_split', 'dump_all_or_none',
    'fit_box', 'vid_categories'
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
    coco = CocoVIDBuilder()
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
    _warn(coco.fixed_boxes_message(split))
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
    names = read_image_list(list_path)
    coco = CocoVIDBuilder()
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
    _warn(coco.fixed_boxes_message('det'))
    return coco.to_dict()


def dump_all_or_none(contents: Dict[str, dict]) -> None:
    """Write several json files so that either all or none change.

    Args:
        contents (dict[str, dict]): Target path -> json content.

    Raises:
        OSError: A file cannot be written (the message names it) or a
            target is a folder (refused before anything is written).
    """
    with atomic_paths(list(contents)) as temps:
        for (path, content), tmp in zip(contents.items(), temps):
            with open(tmp, 'w') as f, naming_target(path):
                dump(content, f, file_format='json')


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
