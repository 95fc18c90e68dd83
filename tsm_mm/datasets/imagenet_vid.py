"""ImageNet-VID (ILSVRC2015 VID) on MMDetection's video dataset.

Training reads T-frame clips of consecutive frames around a key frame; testing
reads every frame of every video once, in video order, one frame per item.
"""
import logging
from typing import Any, Dict, List, Optional, Tuple, Union

import mmengine.fileio as fileio
import numpy as np
from mmdet.datasets import BaseVideoDataset
from mmdet.datasets.api_wrappers import COCO
from mmdet.registry import DATASETS
from mmengine.logging import print_log

from .clip_sampling import CLIP_ANCHORS, clip_frame_indices
from .cocovid_json import load_cocovid_json
from .conversion_stamp import check_conversion_stamp
from .frame_items import clip_item, is_clip_pipeline
from .vid_checks import (
    check_clip_pipeline,
    check_frame_ids,
    dropped_boxes_message,
    missing_ann_file_message,
    unreadable_image,
)
from .vid_classes import VID_CLASSES

__all__ = ['CLIP_ANCHORS', 'ImageNetVIDDataset', 'KEY_FRAME_RULES',
           'clip_frame_indices']

KEY_FRAME_RULES = ('fgfa', 'all')


@DATASETS.register_module()
class ImageNetVIDDataset(BaseVideoDataset):
    """ImageNet-VID (and its DET subset) from CocoVID json.

    The json follows the mmtracking schema: ``videos``, ``images`` with
    ``video_id``, 0-based ``frame_id`` and ``is_vid_train_frame``, and
    ``annotations`` with ``instance_id``. An image without ``video_id``
    (e.g. a DET image) is a one-frame video of its own.

    * ``test_mode=False``: item ``i`` is the ``i``-th clip; the pipeline gets
      dict-of-lists over the clip's T frames (each frame with its own
      annotations) plus ``key_frame_flags``, ``video_length`` (T) and
      ``ori_video_length`` (the video's length). ``len()`` is the number of
      clips: one per key frame. Key frames with ``key_frames='fgfa'`` are the
      frames flagged ``is_vid_train_frame`` (an image without the flag counts
      as one); ``'all'`` takes every frame. ``filter_cfg`` (``filter_empty_gt``
      and ``min_size``, off by default as in mmdet's ``CocoDataset``) drops
      key frames, never the frames of a clip, which stay consecutive. Sample
      with ``DefaultSampler``; an index may also be an explicit
      ``(video_idx, key_frame_idx)``.
    * ``test_mode=True``: as ``BaseVideoDataset``, ``len()`` is the number of
      videos and ``(video_idx, frame_idx)`` gives one frame, in the order of
      mmdet's ``TrackImgSampler``; its metainfo carries ``video_id``,
      ``frame_id``, ``ori_video_length`` and the raw ``instances``. A
      pipeline that does not start with ``TransformBroadcaster`` is an
      image pipeline (``LoadImageFromFile`` ... ``PackDetInputs``, as
      MMDetection's inference APIs take it): it runs on each frame as a
      dict of its own, and the frames are packed as ``PackTrackInputs``
      packs them (:func:`~tsm_mm.datasets.frame_items.clip_item`), so the
      item is the same either way.

    Unlike ``BaseVideoDataset``, labels follow the order of
    ``metainfo['classes']`` (matched by name; a class missing from the json
    is an error; an order other than the json's is warned about, since
    mmdet's own pieces number labels in the json's order), videos are
    sorted by ``video_id`` and each video's frames by ``frame_id``. The
    annotation file is read as json only (any other suffix, e.g. a pickle,
    is refused unread) and every record is checked
    (:func:`~tsm_mm.datasets.cocovid_json.check_cocovid`), errors naming
    the file and the record; boxes that mmdet's ``parse_data_info`` drops
    (under 1 pixel, outside the image) are counted in a warning. Loading
    checks each video (naming it): ``frame_id``s are unique and
    consecutive (a gap would give clips wrong neighbours), they step with
    the frame numbers that end the file names (``000012.JPEG``; an offset
    is allowed, e.g. 1-based names), and in test mode they are exactly
    ``0..n-1``, as streaming needs. An image that is empty or cannot be
    decoded is named in the error.

    Args:
        clip_len (int): Frames per training clip (T). Defaults to 1.
        key_frames (str): ``'fgfa'`` or ``'all'``. Defaults to ``'fgfa'``.
        clip_anchor (str): Where the key frame sits in its clip,
            ``'center'`` or ``'end'``; see :func:`clip_frame_indices`.
            Defaults to ``'center'``.
        *args, **kwargs: Those of ``BaseVideoDataset`` (``ann_file``,
            ``data_root``, ``data_prefix=dict(img_path=...)``,
            ``metainfo``, ``filter_cfg``, ``pipeline``, ``test_mode``, ...).
    """

    METAINFO = dict(classes=VID_CLASSES)

    def __init__(self,
                 *args,
                 clip_len: int = 1,
                 key_frames: str = 'fgfa',
                 clip_anchor: str = 'center',
                 **kwargs) -> None:
        if not isinstance(clip_len, int) or clip_len < 1:
            raise ValueError(f'clip_len must be an int >= 1, got {clip_len!r}')
        if key_frames not in KEY_FRAME_RULES:
            raise ValueError(f'key_frames must be one of {KEY_FRAME_RULES}, '
                             f'got {key_frames!r}')
        if clip_anchor not in CLIP_ANCHORS:
            raise ValueError(f'clip_anchor must be one of {CLIP_ANCHORS}, '
                             f'got {clip_anchor!r}')
        self.clip_len = clip_len
        self.key_frames = key_frames
        self.clip_anchor = clip_anchor
        self.clip_index = np.zeros((0, 2), dtype=np.int64)
        check_clip_pipeline(kwargs.get('pipeline'),
                            f'{type(self).__name__}({kwargs.get("ann_file")})')
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read the json into one dict per video, frames sorted by frame_id.

        Returns:
            list[dict]: ``dict(video_id, video_length, images)`` per video,
            ``images`` being ``parse_data_info`` results.
        """
        if not self.ann_file or not fileio.exists(
                self.ann_file, backend_args=self.backend_args):
            raise FileNotFoundError(
                f'{type(self).__name__}: ' + missing_ann_file_message(
                    self.ann_file or '', self.data_root))
        # json only, every record checked (naming the file and record)
        coco = COCO()
        coco.dataset = load_cocovid_json(
            self.ann_file, self.backend_args,
            image_keys=('width', 'height'), annotation_keys=('area', ))
        check_conversion_stamp(self.ann_file, coco.dataset, self.backend_args)
        coco.createIndex()
        self.cat_ids = self._cat_ids_by_name(coco)
        self.cat2label = {cat: label for label, cat in enumerate(self.cat_ids)}
        dropped = dropped_boxes_message(coco.dataset, self.cat_ids,
                                        self.ann_file)
        if dropped:
            print_log(dropped, 'current', logging.WARNING)

        videos: Dict[Any, List[dict]] = {}
        for img_id in coco.get_img_ids():
            img_info = dict(coco.load_imgs([img_id])[0], img_id=img_id)
            if 'video_id' not in img_info:  # a still image: its own video
                img_info.update(frame_id=0, video_id=None)
            ann_ids = coco.get_ann_ids(img_ids=[img_id], cat_ids=self.cat_ids)
            frame = self.parse_data_info(
                dict(raw_img_info=img_info,
                     raw_ann_info=coco.load_anns(ann_ids)))
            key = ('image', img_id) if frame['video_id'] is None else (
                'video', frame['video_id'])
            videos.setdefault(key, []).append(frame)

        names = {v.get('id'): v.get('name') for v in coco.dataset.get(
            'videos', [])}
        # ids for still images, after the largest real video id
        next_id = max((k[1] for k in videos if k[0] == 'video'), default=0)
        data_list = []
        for key, frames in videos.items():
            if key[0] == 'image':
                next_id += 1
                frames[0]['video_id'] = next_id
            else:
                frames.sort(key=lambda frame: frame['frame_id'])
                check_frame_ids(
                    frames, f'{self.ann_file}: video {names.get(key[1])!r} '
                    f'(video_id {key[1]})', self.test_mode)
            data_list.append(
                dict(video_id=frames[0]['video_id'],
                     video_length=len(frames),
                     images=frames))
        return sorted(data_list, key=lambda video: video['video_id'])

    def _cat_ids_by_name(self, coco: COCO) -> List[int]:
        """Category ids of ``metainfo['classes']``, in that order."""
        name_to_id = {cat['name']: cat['id'] for cat in coco.dataset.get(
            'categories', [])}
        classes = self.metainfo['classes']
        missing = [name for name in classes if name not in name_to_id]
        if missing:
            raise ValueError(f'{self.ann_file}: classes {missing} are not '
                             'among its categories')
        json_order = tuple(cat['name'] for cat in coco.dataset['categories']
                           if cat['name'] in set(classes))
        if json_order != tuple(classes):
            print_log(
                f'{self.ann_file}: metainfo classes {tuple(classes)} are not '
                f'in the order of its categories {json_order}. Labels here '
                "follow metainfo (matched by name), but mmdet's "
                'BaseVideoDataset and CocoVideoMetric number them in the '
                "json's order and would permute them: list the classes in "
                'that order', 'current', logging.WARNING)
        return [name_to_id[name] for name in classes]

    def filter_data(self) -> List[dict]:
        """Keep whole videos: ``filter_cfg`` acts on key frames instead.

        Returns:
            list[dict]: ``self.data_list`` unchanged.
        """
        return self.data_list

    def full_init(self) -> None:
        """Load the videos, then index the training clips."""
        if self._fully_initialized:
            return
        super().full_init()
        if not self.test_mode:
            self.clip_index = self._index_clips()

    def _index_clips(self) -> np.ndarray:
        """``(video_idx, key_frame_idx)`` of each training clip, (N, 2)."""
        filter_cfg = self.filter_cfg or {}
        filter_empty_gt = filter_cfg.get('filter_empty_gt', False)
        min_size = filter_cfg.get('min_size', 0)
        clips, num_frames = [], 0
        for video_idx in range(self.num_videos):
            frames = self.get_data_info(video_idx)['images']
            num_frames += len(frames)
            for frame_idx, frame in enumerate(frames):
                if (self.key_frames == 'fgfa'
                        and not frame.get('is_vid_train_frame', True)):
                    continue
                if filter_empty_gt and not frame['instances']:
                    continue
                if min(frame['width'], frame['height']) < min_size:
                    continue
                clips.append((video_idx, frame_idx))
        print_log(
            f'{type(self).__name__}: {len(clips)} clips of {self.clip_len} '
            f'frames around {self.key_frames!r} key frames of '
            f'{self.num_videos} videos ({num_frames} frames)', 'current')
        return np.array(clips, dtype=np.int64).reshape(-1, 2)

    @property
    def num_videos(self) -> int:
        """Number of videos (DET images count as one-frame videos)."""
        return super().__len__()

    @property
    def num_all_imgs(self) -> int:
        """Number of frames of all videos."""
        return sum(
            self.get_len_per_video(i) for i in range(self.num_videos))

    def __len__(self) -> int:
        """Number of training clips, or of videos in test mode."""
        if not self._fully_initialized:
            self.full_init()
        return self.num_videos if self.test_mode else len(self.clip_index)

    def _clip(self, idx: Union[int, Tuple[int, int]]
              ) -> Tuple[dict, List[int], int]:
        """The video of clip ``idx``, its frame indices and key position."""
        if isinstance(idx, tuple):
            video_idx, key_frame = idx
        else:
            video_idx, key_frame = self.clip_index[idx]
        video = self.get_data_info(int(video_idx))
        frame_ids, key_pos = clip_frame_indices(video['video_length'],
                                                int(key_frame), self.clip_len,
                                                self.clip_anchor)
        return video, frame_ids, key_pos

    def prepare_data(self, idx: Union[int, Tuple[int, int]]) -> Any:
        """Run the pipeline on a training clip, or a test frame/video.

        Args:
            idx (int | tuple[int, int]): Clip index or ``(video_idx,
                key_frame_idx)`` in training; as ``BaseVideoDataset`` in
                test mode.

        Returns:
            Any: The pipeline's output.
        """
        try:
            if not self.test_mode:
                return self.pipeline(self._clip_results(idx))
            if is_clip_pipeline(self.pipeline):
                return super().prepare_data(idx)
            return self._test_frames(idx)
        except Exception as err:
            problem = self._unreadable_image(idx)
            if problem:
                raise ValueError(problem) from err
            raise

    def _test_frames(self, idx: Union[int, Tuple[int, int]]) -> dict:
        """A test item through a per-frame pipeline: each frame as a dict
        of its own, packed together as the clip pipeline packs them."""
        video_idx, frame_idx = idx if isinstance(idx, tuple) else (idx, None)
        video = self.get_data_info(video_idx)
        indices = range(video['video_length']) if frame_idx is None else \
            [frame_idx]
        frames = []
        for i in indices:
            # the keys BaseVideoDataset.prepare_data gives each frame
            frame = dict(video['images'][i], video_id=video['video_id'],
                         ori_video_length=video['video_length'],
                         video_length=len(indices))
            packed = self.pipeline(frame)
            if packed is None:
                raise ValueError(f'{type(self).__name__}: the test pipeline '
                                 f'dropped frame {frame["img_path"]}')
            frames.append(packed)
        return clip_item(frames)

    def _clip_results(self, idx: Union[int, Tuple[int, int]]) -> dict:
        """The pipeline's input for training clip ``idx``."""
        video, frame_ids, key_pos = self._clip(idx)
        frames = [video['images'][i] for i in frame_ids]
        # dict of lists over the clip, as mmdet's frame samplers make it
        results = {
            key: [frame[key] for frame in frames]
            for key in frames[0] if all(key in frame for frame in frames)
        }
        num = len(frames)
        results.update(
            video_id=[video['video_id']] * num,
            video_length=[num] * num,
            ori_video_length=[video['video_length']] * num,
            key_frame_flags=[pos == key_pos for pos in range(num)])
        return results

    def _unreadable_image(self, idx: Union[int, Tuple[int, int]]
                          ) -> Optional[str]:
        """After the pipeline failed on item ``idx``: an image of it that is
        empty or cannot be decoded (:func:`.vid_checks.unreadable_image`),
        with what is wrong; else None."""
        try:
            if not self.test_mode:
                video, frame_ids, _ = self._clip(idx)
            else:
                video_idx, frame_idx = (idx if isinstance(idx, tuple) else
                                        (idx, None))
                video = self.get_data_info(video_idx)
                frame_ids = (range(video['video_length'])
                             if frame_idx is None else [frame_idx])
            paths = [video['images'][i]['img_path'] for i in frame_ids]
        except Exception:  # a bad index: the pipeline's error says it
            return None
        return unreadable_image(paths, self.backend_args)

    def get_cat_ids(self, index: Union[int, Tuple[int, int]]) -> List[int]:
        """Labels of a training clip's frames, or as ``BaseVideoDataset``.

        Args:
            index (int | tuple[int, int]): As for :meth:`prepare_data`.

        Returns:
            list[int]: Labels of all instances of the clip (or frame/video).
        """
        if self.test_mode:
            return super().get_cat_ids(index)
        video, frame_ids, _ = self._clip(index)
        return [
            instance['bbox_label'] for i in frame_ids
            for instance in video['images'][i]['instances']
        ]
