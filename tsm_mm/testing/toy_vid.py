"""A toy ImageNet-VID in the exact ILSVRC2015 layout, where time matters.

Three real VID classes (zebra, horse, tiger) differ only by the orientation
of their stripes, which bursts of blur, dimming or occlusion hide for a few
frames; decoys look like objects in one frame but not over time; speeds are
spread over FGFA's slow / medium / fast motion-IoU bins. A detector that
sees past frames can resolve what a single-frame detector cannot. The
scenes are planned and painted in :mod:`.toy_vid_scenes`, the files written
as ILSVRC does in :mod:`.ilsvrc_layout`.
"""
import os.path as osp
from collections import defaultdict
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from ..utils.atomic_write import atomic_dir, atomic_path
from .ilsvrc_layout import (
    NUM_KEY_FRAMES,
    annotation_xml,
    fgfa_key_frames,
    jpeg_bytes,
    snippet_name,
    write_file,
    write_lists,
)
from .toy_vid_scenes import (
    SIZE_RANGE,
    SPEED_BINS,
    STRIPE_ANGLES,
    TOY_CLASSES,
    paint_background,
    paint_ellipse,
    pixel_box,
    plan_decoys,
    plan_track,
    random_half,
    render_frame,
    synset_of,
)

__all__ = [
    'NUM_KEY_FRAMES', 'OTHER_DET_SYNSET', 'SPEED_BINS', 'TOY_CLASSES',
    'fgfa_key_frames', 'make_toy_vid'
]

OTHER_DET_SYNSET = 'n00007846'  # person: a DET class outside the 30 of VID


def _balanced_pairs(rng: np.random.Generator,
                    count: int) -> List[Tuple[str, str]]:
    """(class, speed) for ``count`` objects: every 9 hold each pair once."""
    combos = [(c, s) for c in TOY_CLASSES for s in SPEED_BINS]
    pairs = []
    while len(pairs) < count:
        pairs += [combos[i] for i in rng.permutation(len(combos))]
    return pairs[:count]


def _make_videos(root: str, split: str, seq: np.random.SeedSequence,
                 num_videos: int, num_frames: int, size: Tuple[int, int],
                 sheet: Optional[list]) -> Tuple[dict, list]:
    """Write one VID split; return its stats and [(snippet, classes)]."""
    split_seq, *video_seqs = seq.spawn(num_videos + 1)
    split_rng = np.random.default_rng(split_seq)
    counts = split_rng.choice([1, 2, 3], num_videos, p=[0.35, 0.4, 0.25])
    pairs = iter(_balanced_pairs(split_rng, int(counts.sum())))
    stats = dict(videos=num_videos, frames=0, boxes=0, instances=0,
                 burst_boxes=0, occluded_boxes=0, flash_decoys=0,
                 static_decoys=0)
    snippets = []
    for v in range(num_videos):
        rng = np.random.default_rng(video_seqs[v])
        tracks = [
            plan_track(rng, *next(pairs), num_frames, size)
            for _ in range(counts[v])
        ]
        flashes, static = plan_decoys(rng, tracks, num_frames, size)
        background = paint_background(rng, size)
        snippet = snippet_name(split, v)
        folder = snippet.split('/', 1)[1]
        for f in range(num_frames):
            image, objects = render_frame(rng, background, tracks, flashes,
                                          static, f, size)
            name = f'{snippet}/{f:06d}'
            write_file(osp.join(root, 'Data/VID', name + '.JPEG'),
                       jpeg_bytes(image))
            write_file(osp.join(root, 'Annotations/VID', name + '.xml'),
                       annotation_xml(folder, f'{f:06d}', size, objects))
            stats['boxes'] += len(objects)
            stats['burst_boxes'] += sum(bool(o['burst']) for o in objects)
            stats['occluded_boxes'] += sum(o['occluded'] for o in objects)
            if sheet is not None and v < 4 and f < 8:
                sheet.append((v, image, objects))
        stats['frames'] += num_frames
        stats['instances'] += len(tracks)
        stats['flash_decoys'] += len(flashes)
        stats['static_decoys'] += static is not None
        snippets.append((snippet, sorted({tr.name for tr in tracks})))
    return stats, snippets


def _make_det(root: str, seq: np.random.SeedSequence, num_images: int,
              size: Tuple[int, int]) -> Tuple[dict, list]:
    """Write DET train images: clear toy objects; every third image also
    holds a 'person', a DET class outside the 30 of VID."""
    split_seq, *image_seqs = seq.spawn(num_images + 1)
    split_rng = np.random.default_rng(split_seq)
    counts = split_rng.choice([1, 2, 3], num_images, p=[0.4, 0.4, 0.2])
    pairs = iter(_balanced_pairs(split_rng, int(counts.sum())))
    stats = dict(videos=num_images, frames=num_images, boxes=0, instances=0,
                 other_boxes=0)
    names = []
    for n in range(num_images):
        rng = np.random.default_rng(image_seqs[n])
        frame = paint_background(rng, size)
        objects = []
        if n % 3 == 1:  # a non-VID DET class, drawn as a grey slab
            a, b = random_half(rng)
            cx = rng.uniform(a, size[0] - 1 - a)
            cy = rng.uniform(b, size[1] - 1 - b)
            box = pixel_box(cx, cy, a, b, size)
            frame[box[1]:box[3] + 1, box[0]:box[2] + 1] = 150.0
            objects.append(dict(synset=OTHER_DET_SYNSET, box=box))
            stats['other_boxes'] += 1
        for _ in range(counts[n]):
            name, _speed = next(pairs)
            track = plan_track(rng, name, 'slow', 1, size)
            cx, cy = track.centers[0]
            a, b = track.half
            paint_ellipse(frame, cx, cy, a, b, angle=STRIPE_ANGLES[name],
                          **track.look)
            objects.append(dict(synset=synset_of(name),
                                box=pixel_box(cx, cy, a, b, size)))
            stats['boxes'] += 1
        frame += 3 * rng.standard_normal(frame.shape, np.float32)
        image = np.clip(frame + 0.5, 0, 255).astype(np.uint8)
        folder = f'ILSVRC2014_train_{n // 1000:04d}'
        stem = f'ILSVRC2014_train_{n:08d}'
        name_ = f'train/{folder}/{stem}'
        write_file(osp.join(root, 'Data/DET', name_ + '.JPEG'),
                   jpeg_bytes(image))
        write_file(osp.join(root, 'Annotations/DET', name_ + '.xml'),
                   annotation_xml(folder, stem, size, objects, video=False))
        names.append(name_)
    stats['instances'] = stats['boxes']
    return stats, names


def _contact_sheet(path: str, tiles: list) -> None:
    """A grid of frames, one row per video, 2x, with boxes and tags."""
    colours = {
        synset_of('zebra'): (255, 255, 255),
        synset_of('horse'): (0, 255, 255),
        synset_of('tiger'): (255, 0, 255),
    }
    initials = {synset_of(name): name[0] for name in TOY_CLASSES}
    rows = defaultdict(list)
    for v, image, objects in tiles:
        canvas = cv2.resize(image, None, fx=2, fy=2,
                            interpolation=cv2.INTER_NEAREST)
        for obj in objects:
            x0, y0, x1, y1 = (2 * c for c in obj['box'])
            colour = colours[obj['synset']]
            cv2.rectangle(canvas, (x0, y0), (x1 + 1, y1 + 1), colour, 1)
            cv2.putText(canvas, initials[obj['synset']] + obj['burst'][:1],
                        (x0 + 2, y0 + 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                        colour, 1)
        rows[v].append(cv2.copyMakeBorder(canvas, 1, 1, 1, 1,
                                          cv2.BORDER_CONSTANT, value=0))
    grid = np.concatenate([np.concatenate(r, 1) for r in rows.values()], 0)
    with atomic_path(path) as tmp:
        if not cv2.imwrite(tmp, grid):
            raise OSError(f'could not write the contact sheet {path}')


def make_toy_vid(out_dir: str,
                 train_videos: int = 50,
                 val_videos: int = 20,
                 frames: int = 16,
                 seed: int = 0,
                 det_images: int = 30,
                 size: Sequence[int] = (160, 120),
                 contact_sheet: Optional[str] = None) -> dict:
    """Write a toy ImageNet-VID in the ILSVRC2015 layout to ``out_dir``.

    ``out_dir`` gets ``Data/{VID,DET}``, ``Annotations/{VID,DET}`` and
    ``ImageSets/`` (``VID/train_<k>.txt``, ``VID/val.txt`` and FGFA's
    ``VID_train_15frames.txt``, ``VID_val_videos.txt``,
    ``DET_train_30classes.txt``). It is built in a temporary sibling folder
    and moved into place at the end, so it is complete or absent. The same
    arguments give the same bytes.

    Args:
        out_dir (str): Where to write; must not exist or be empty.
        train_videos (int): Train snippets.
        val_videos (int): Val snippets.
        frames (int): Frames per snippet (>= 2).
        seed (int): Seed of everything random.
        det_images (int): DET train images (0 for none).
        size (tuple[int, int]): (width, height) of every image.
        contact_sheet (str, optional): A PNG path for a grid of the first
            8 frames of the first 4 train videos with boxes drawn (tags:
            class initial, then b/d/o for a blur/dim/occlusion burst).

    Returns:
        dict: For ``'train'``, ``'val'`` and ``'det'``: ``videos``,
        ``frames``, ``boxes``, ``instances`` (DET: one video and instance
        per image and box), plus ``burst_boxes``, ``occluded_boxes``,
        ``flash_decoys``, ``static_decoys`` for VID, ``key_frames`` for
        train, and ``other_boxes`` (non-VID classes, not counted in
        ``boxes``) for DET.
    """
    size = (int(size[0]), int(size[1]))
    if min(train_videos, val_videos, det_images) < 0 or frames < 2:
        raise ValueError('need train_videos, val_videos, det_images >= 0 '
                         f'and frames >= 2, got {train_videos}, '
                         f'{val_videos}, {det_images}, {frames}')
    if size[0] < 2 * SIZE_RANGE[1] or size[1] < 2 * SIZE_RANGE[1]:
        raise ValueError(f'size={size} is too small for {SIZE_RANGE[1]} px '
                         'objects')
    train_seq, val_seq, det_seq = np.random.SeedSequence(seed).spawn(3)
    sheet = [] if contact_sheet else None
    with atomic_dir(out_dir) as tmp:  # out_dir must be new or empty
        train_stats, train = _make_videos(tmp, 'train', train_seq,
                                          train_videos, frames, size, sheet)
        val_stats, val = _make_videos(tmp, 'val', val_seq, val_videos, frames,
                                      size, None)
        det_stats, det = _make_det(tmp, det_seq, det_images, size)
        write_lists(tmp, train, val, frames, det)
    train_stats['key_frames'] = train_videos * len(fgfa_key_frames(frames))
    if sheet:
        _contact_sheet(contact_sheet, sheet)
    return dict(train=train_stats, val=val_stats, det=det_stats)
