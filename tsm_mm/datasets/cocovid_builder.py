"""Building CocoVID json content (the mmtracking schema) frame by frame.

Ids count from 1 in the order things are added; boxes are fitted to their
image (clipped, or dropped when nothing of positive area is left) and the
builder keeps count of what it fixed, for one warning per split.
"""
from typing import Dict, List, Optional, Sequence

from .vid_classes import VID_CLASSES, VID_SYNSETS


def vid_categories() -> List[dict]:
    """The 30 categories: ``id`` 1..30, ``name``, ``encode_name`` (WNID)."""
    return [
        dict(id=i, name=name, encode_name=synset)
        for i, (name, synset) in enumerate(zip(VID_CLASSES, VID_SYNSETS), 1)
    ]


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


class CocoVIDBuilder:
    """Accumulates videos, images and annotations with ids from 1."""

    def __init__(self) -> None:
        self.videos: List[dict] = []
        self.images: List[dict] = []
        self.annotations: List[dict] = []
        self.num_instances = 0
        self.num_clipped = self.num_dropped = 0
        self.fixed_files: List[str] = []  # where boxes were clipped/dropped

    def add_video(self, name: str) -> int:
        """Add a video; return its id."""
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

    def fixed_boxes_message(self, split: str) -> Optional[str]:
        """How many boxes were clipped or dropped, and where; None if none
        was."""
        if not self.fixed_files:
            return None
        shown = ', '.join(self.fixed_files[:3])
        more = len(self.fixed_files) - 3
        return (f'{split}: {self.num_clipped} boxes clipped to their image, '
                f'{self.num_dropped} inverted, zero-area or outside boxes '
                f'dropped, in {len(self.fixed_files)} files: {shown}' +
                (f' and {more} more' if more > 0 else ''))

    def to_dict(self) -> dict:
        """The CocoVID content: categories, videos, images, annotations."""
        return dict(categories=vid_categories(), videos=self.videos,
                    images=self.images, annotations=self.annotations)
