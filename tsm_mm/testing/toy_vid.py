"""A toy ImageNet-VID in the exact ILSVRC2015 layout, where time matters.

Three real VID classes (zebra, horse, tiger) share one shape and colour and
differ only by the orientation of their stripes. Every object is shown
clearly for a few frames, then goes through bursts of 2-5 frames of heavy
blur, dimming or occlusion in which its stripes (its class) cannot be read
from that frame alone. Unannotated decoys look like objects in one frame
but not over time: striped blobs that flash for a single frame, and
static blobs that always look like an object in a burst. Speeds are
spread over FGFA's slow / medium / fast motion-IoU bins. A detector that
sees past frames can resolve what a single-frame detector cannot.

Written by hand: nothing in the mm ecosystem draws such data.
"""
import os
import os.path as osp
import shutil
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from tsm_mm.datasets.vid_classes import VID_CLASSES, VID_SYNSETS

TOY_CLASSES = ('zebra', 'horse', 'tiger')
# Angle of the stripes' normal: zebra bars are vertical, horse horizontal.
STRIPE_ANGLES = {'zebra': 0.0, 'horse': 90.0, 'tiger': 45.0}
# Speed per frame as a fraction of the box size (sqrt of its area); these
# ranges land in FGFA's motion-IoU bins (> 0.9, 0.7-0.9, < 0.7).
SPEED_BINS = {
    'slow': (0.0, 0.003),
    'medium': (0.012, 0.022),
    'fast': (0.05, 0.09),
}
BURST_KINDS = ('blur', 'dim', 'occlude')
NUM_KEY_FRAMES = 15  # FGFA's VID_train_15frames.txt
OTHER_DET_SYNSET = 'n00007846'  # person: a DET class outside the 30 of VID

_SIZE_RANGE = (20, 44)  # box side in pixels
_BODY = np.array([110., 170., 215.], np.float32)  # BGR, tan
_DARK = np.array([40., 45., 55.], np.float32)  # BGR, stripes
_JPEG_QUALITY = 90
_VIDEOS_PER_BATCH = 1000  # ILSVRC2015_VID_train_000k holds <= 1000 snippets


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


@dataclass
class _Track:
    """One object of a video: what it is and where it is at each frame."""
    name: str
    speed: str
    half: Tuple[float, float]  # half axes (a, b) of the ellipse
    centers: np.ndarray  # (T, 2) x, y
    bursts: List[str]  # per frame: '' (clear) or one of BURST_KINDS
    look: dict  # period, phase, body colour
    occluders: Dict[int, tuple] = field(default_factory=dict)


def _fold(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Reflect a free trajectory into [lo, hi] (bouncing off the walls)."""
    span = hi - lo
    x = np.mod(x - lo, 2 * span)
    return lo + np.where(x > span, 2 * span - x, x)


def _burst_schedule(rng: np.random.Generator, num_frames: int) -> List[str]:
    """Clear for 3-5 frames, then bursts of 2-5 frames between clear runs."""
    bursts = [''] * num_frames
    t = int(rng.integers(3, 6))
    while t < num_frames:
        kind = BURST_KINDS[int(rng.integers(len(BURST_KINDS)))]
        length = int(rng.integers(2, 6))
        bursts[t:t + length] = [kind] * len(bursts[t:t + length])
        t += length + int(rng.integers(3, 6))
    return bursts


def _random_look(rng: np.random.Generator) -> dict:
    """Stripe period/phase and body colour, drawn the same for all classes."""
    return dict(
        period=float(rng.uniform(5.5, 7.0)),
        phase=float(rng.uniform(0, 1)),
        body=_BODY + rng.uniform(-15, 15, 3).astype(np.float32))


def _random_half(rng: np.random.Generator) -> Tuple[float, float]:
    """Half axes of an ellipse whose box is 20-44 px a side."""
    lo, hi = _SIZE_RANGE
    side = rng.uniform(lo + 4, hi - 4)
    aspect = rng.uniform(0.75, 1.35)
    w = float(np.clip(side * np.sqrt(aspect), lo, hi))
    h = float(np.clip(side / np.sqrt(aspect), lo, hi))
    return w / 2, h / 2


def _plan_track(rng: np.random.Generator, name: str, speed: str,
                num_frames: int, size: Tuple[int, int]) -> _Track:
    """Draw one object's size, look, trajectory and bursts."""
    width, height = size
    a, b = _random_half(rng)
    lo_x, hi_x = 0.4 * a, width - 1 - 0.4 * a
    lo_y, hi_y = 0.4 * b, height - 1 - 0.4 * b
    x0 = rng.uniform(a, width - 1 - a)
    y0 = rng.uniform(b, height - 1 - b)
    rate = rng.uniform(*SPEED_BINS[speed]) * 2 * np.sqrt(a * b)
    theta = rng.uniform(0, 2 * np.pi)
    t = np.arange(num_frames)
    xs = _fold(x0 + rate * np.cos(theta) * t, lo_x, hi_x)
    ys = _fold(y0 + rate * np.sin(theta) * t, lo_y, hi_y)
    track = _Track(name, speed, (a, b), np.stack([xs, ys], 1),
                   _burst_schedule(rng, num_frames), _random_look(rng))
    occluder = None  # one per occlusion burst: side, coverage, overhang,
    for f, kind in enumerate(track.bursts):  # colour
        if kind != 'occlude':
            occluder = None
            continue
        if occluder is None:
            occluder = (int(rng.integers(4)), float(rng.uniform(0.75, 0.95)),
                        float(rng.uniform(4, 8)),
                        rng.uniform(70, 130, 3).astype(np.float32))
        track.occluders[f] = occluder
    return track


def _box(cx: float, cy: float, a: float, b: float,
         size: Tuple[int, int]) -> Tuple[int, int, int, int]:
    """Inclusive pixel box (xmin, ymin, xmax, ymax) clipped to the image."""
    width, height = size
    cx, cy = float(cx), float(cy)
    return (min(max(round(cx - a), 0), width - 1),
            min(max(round(cy - b), 0), height - 1),
            min(max(round(cx + a), 0), width - 1),
            min(max(round(cy + b), 0), height - 1))


def _paint_ellipse(frame: np.ndarray, cx: float, cy: float, a: float,
                   b: float, *, angle: Optional[float], period: float,
                   phase: float, body: np.ndarray, contrast: float = 1.0,
                   gain: float = 1.0, blur: float = 0.0) -> None:
    """Draw a (striped) ellipse over ``frame`` in place, antialiased.

    Stripes follow the object (their phase is tied to its centre); ``blur``
    is a Gaussian sigma applied to the object alone (premultiplied alpha).
    """
    height, width = frame.shape[:2]
    margin = 1 + int(np.ceil(3 * blur))
    x0, x1 = max(int(cx - a) - margin, 0), min(int(cx + a) + margin + 2,
                                               width)
    y0, y1 = max(int(cy - b) - margin, 0), min(int(cy + b) + margin + 2,
                                               height)
    if x0 >= x1 or y0 >= y1:
        return
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    dx, dy = xs - cx, ys - cy
    radius = np.sqrt((dx / a)**2 + (dy / b)**2)
    alpha = np.clip((1 - radius) * min(a, b) + 0.5, 0, 1)
    colour = np.broadcast_to(body, alpha.shape + (3, )).astype(np.float32)
    if angle is not None:
        rad = np.deg2rad(angle)
        u = (dx * np.cos(rad) + dy * np.sin(rad)) / period + phase
        stripes = np.clip(0.5 + 1.5 * np.sin(2 * np.pi * u), 0, 1)
        stripes = (contrast * stripes)[..., None]
        colour = colour * (1 - stripes) + _DARK * stripes
    colour = gain * colour * alpha[..., None]
    if blur > 0:
        colour = cv2.GaussianBlur(colour, (0, 0), blur)
        alpha = cv2.GaussianBlur(alpha, (0, 0), blur)
    patch = frame[y0:y1, x0:x1]
    patch *= 1 - alpha[..., None]
    patch += colour


def _paint_occluder(frame: np.ndarray, box: Tuple[int, int, int, int],
                    occluder: tuple) -> Tuple[int, int, int, int]:
    """Cover ``coverage`` of the box from one side; return the rect drawn."""
    side, coverage, overhang, colour = occluder
    x0, y0, x1, y1 = box
    w, h = x1 - x0 + 1, y1 - y0 + 1
    if side == 0:  # from the left
        rect = (x0 - overhang, y0 - overhang, x0 + coverage * w, y1 + overhang)
    elif side == 1:  # from the right
        rect = (x1 + 1 - coverage * w, y0 - overhang, x1 + overhang,
                y1 + overhang)
    elif side == 2:  # from the top
        rect = (x0 - overhang, y0 - overhang, x1 + overhang, y0 + coverage * h)
    else:  # from the bottom
        rect = (x0 - overhang, y1 + 1 - coverage * h, x1 + overhang,
                y1 + overhang)
    height, width = frame.shape[:2]
    rx0, ry0 = max(int(round(rect[0])), 0), max(int(round(rect[1])), 0)
    rx1, ry1 = min(int(round(rect[2])), width), min(int(round(rect[3])),
                                                    height)
    # A smooth vertical shade, so the occluder adds no fine texture.
    shade = np.linspace(0.85, 1.15, max(ry1 - ry0, 1), dtype=np.float32)
    frame[ry0:ry1, rx0:rx1] = shade[:ry1 - ry0, None, None] * colour
    return rx0, ry0, rx1 - 1, ry1 - 1


def _background(rng: np.random.Generator,
                size: Tuple[int, int]) -> np.ndarray:
    """A smooth random field in greens, blues or greys, (H, W, 3) float32."""
    width, height = size
    base = rng.choice([[90, 120, 80], [130, 110, 80], [110, 110, 110],
                       [70, 100, 100]]).astype(np.float32)
    base = base * rng.uniform(0.8, 1.2)
    coarse = rng.uniform(-30, 30, (3, 4, 3)).astype(np.float32)
    field_ = cv2.resize(coarse, (width, height),
                        interpolation=cv2.INTER_CUBIC)
    return np.clip(base + field_, 0, 255)


def _area(box) -> int:
    return (box[2] - box[0] + 1) * (box[3] - box[1] + 1)


def _intersection(box, other) -> int:
    """Pixels shared by two inclusive boxes (xmin, ymin, xmax, ymax)."""
    iw = min(box[2], other[2]) - max(box[0], other[0]) + 1
    ih = min(box[3], other[3]) - max(box[1], other[1]) + 1
    return max(iw, 0) * max(ih, 0)


def _coverage(box, other) -> float:
    """Fraction of ``box`` covered by ``other``."""
    return _intersection(box, other) / _area(box)


def _iou(box, other) -> float:
    inter = _intersection(box, other)
    return inter / (_area(box) + _area(other) - inter)


def _plan_decoys(rng: np.random.Generator, tracks: List[_Track],
                 num_frames: int, size: Tuple[int, int]):
    """Flashing striped decoys (one frame, never two frames in a row) and
    at most one static blob that is always blurred or dim."""
    width, height = size

    def free_spot(frames_):
        for _ in range(20):
            a, b = _random_half(rng)
            cx = rng.uniform(a, width - 1 - a)
            cy = rng.uniform(b, height - 1 - b)
            box = _box(cx, cy, a, b, size)
            if all(
                    _iou(box, _box(*tr.centers[f], *tr.half, size)) < 0.05
                    for tr in tracks for f in frames_):
                return cx, cy, a, b
        return None

    flashes = {}
    for f in range(num_frames):
        if f - 1 in flashes or rng.random() >= 0.5:
            continue
        spot = free_spot(range(max(f - 1, 0), min(f + 2, num_frames)))
        if spot is not None:
            name = TOY_CLASSES[int(rng.integers(len(TOY_CLASSES)))]
            flashes[f] = (spot, STRIPE_ANGLES[name], _random_look(rng))
    static = None
    if rng.random() < 0.6:
        spot = free_spot([0])
        if spot is not None:
            name = TOY_CLASSES[int(rng.integers(len(TOY_CLASSES)))]
            kind = ('blur', 'dim')[int(rng.integers(2))]
            static = (spot, STRIPE_ANGLES[name], _random_look(rng), kind)
    return flashes, static


def _burst_style(rng: np.random.Generator, kind: str) -> dict:
    """How a burst changes the drawing: stripes washed out by blur or dark."""
    if kind == 'blur':
        return dict(blur=float(rng.uniform(3.0, 4.0)))
    if kind == 'dim':
        return dict(contrast=0.08, gain=0.5)
    return {}


def _render_frame(rng: np.random.Generator, background: np.ndarray,
                  tracks: List[_Track], flashes: dict, static,
                  f: int, size: Tuple[int, int]):
    """Draw frame ``f``; return it (uint8 BGR) and its annotations."""
    frame = background.copy()
    if static is not None:  # looks like an object in a blur or dim burst
        (cx, cy, a, b), angle, look, kind = static
        _paint_ellipse(frame, cx, cy, a, b, angle=angle,
                       **_burst_style(rng, kind), **look)
    if f in flashes:
        (cx, cy, a, b), angle, look = flashes[f]
        _paint_ellipse(frame, cx, cy, a, b, angle=angle, **look)
    boxes, on_top = [], []  # on_top: (object index, is occluder, rect)
    for i, tr in enumerate(tracks):
        cx, cy = tr.centers[f]
        a, b = tr.half
        kind = tr.bursts[f]
        _paint_ellipse(frame, cx, cy, a, b, angle=STRIPE_ANGLES[tr.name],
                       **_burst_style(rng, kind), **tr.look)
        box = _box(cx, cy, a, b, size)
        boxes.append(box)
        on_top.append((i, False, box))
        if kind == 'occlude':
            on_top.append(
                (i, True, _paint_occluder(frame, box, tr.occluders[f])))
    frame += 3 * rng.standard_normal(frame.shape, np.float32)
    image = np.clip(frame + 0.5, 0, 255).astype(np.uint8)
    objects = []
    for i, (tr, box) in enumerate(zip(tracks, boxes)):
        # Occluded: >= 30% covered by its occluder or later objects.
        covers = [
            _coverage(box, rect) for j, is_occluder, rect in on_top
            if j > i or (j == i and is_occluder)
        ]
        objects.append(
            dict(trackid=i, synset=_synset(tr.name), box=box,
                 occluded=max(covers, default=0.0) >= 0.3,
                 burst=tr.bursts[f]))
    return image, objects


def _synset(name: str) -> str:
    return VID_SYNSETS[VID_CLASSES.index(name)]


def _vid_xml(folder: str, filename: str, size: Tuple[int, int],
             objects: List[dict]) -> str:
    """Per-frame XML as ILSVRC2015 VID writes it (bndbox: xmax, xmin, ...)."""
    root = ET.Element('annotation')
    ET.SubElement(root, 'folder').text = folder
    ET.SubElement(root, 'filename').text = filename
    ET.SubElement(ET.SubElement(root, 'source'),
                  'database').text = 'ILSVRC_2015'
    size_el = ET.SubElement(root, 'size')
    ET.SubElement(size_el, 'width').text = str(size[0])
    ET.SubElement(size_el, 'height').text = str(size[1])
    for obj in objects:
        el = ET.SubElement(root, 'object')
        ET.SubElement(el, 'trackid').text = str(obj['trackid'])
        ET.SubElement(el, 'name').text = obj['synset']
        bndbox = ET.SubElement(el, 'bndbox')
        xmin, ymin, xmax, ymax = obj['box']
        for tag, value in (('xmax', xmax), ('xmin', xmin), ('ymax', ymax),
                           ('ymin', ymin)):
            ET.SubElement(bndbox, tag).text = str(value)
        ET.SubElement(el, 'occluded').text = str(int(obj['occluded']))
        ET.SubElement(el, 'generated').text = '0'
    ET.indent(root, space='\t')
    return ET.tostring(root, encoding='unicode') + '\n'


def _det_xml(folder: str, filename: str, size: Tuple[int, int],
             objects: List[dict]) -> str:
    """Per-image XML as ILSVRC DET writes it (no trackid)."""
    root = ET.Element('annotation')
    ET.SubElement(root, 'folder').text = folder
    ET.SubElement(root, 'filename').text = filename
    ET.SubElement(ET.SubElement(root, 'source'),
                  'database').text = 'ILSVRC_2014'
    size_el = ET.SubElement(root, 'size')
    ET.SubElement(size_el, 'width').text = str(size[0])
    ET.SubElement(size_el, 'height').text = str(size[1])
    for obj in objects:
        el = ET.SubElement(root, 'object')
        ET.SubElement(el, 'name').text = obj['synset']
        bndbox = ET.SubElement(el, 'bndbox')
        for tag, value in zip(('xmin', 'ymin', 'xmax', 'ymax'), obj['box']):
            ET.SubElement(bndbox, tag).text = str(value)
    ET.indent(root, space='\t')
    return ET.tostring(root, encoding='unicode') + '\n'


def _write(path: str, data) -> None:
    folder = osp.dirname(path)
    if not osp.isdir(folder):
        os.makedirs(folder)
    mode = 'wb' if isinstance(data, bytes) else 'w'
    with open(path, mode) as f:
        f.write(data)


def _jpeg(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode('.JPEG', image,
                           [cv2.IMWRITE_JPEG_QUALITY, _JPEG_QUALITY])
    assert ok, 'JPEG encoding failed'
    return buf.tobytes()


def _balanced_pairs(rng: np.random.Generator,
                    count: int) -> List[Tuple[str, str]]:
    """(class, speed) for ``count`` objects: every 9 hold each pair once."""
    combos = [(c, s) for c in TOY_CLASSES for s in SPEED_BINS]
    pairs = []
    while len(pairs) < count:
        pairs += [combos[i] for i in rng.permutation(len(combos))]
    return pairs[:count]


def _snippet(split: str, index: int) -> str:
    """Path of a snippet under ``Data/VID`` as ILSVRC2015 names it."""
    if split == 'train':
        batch = f'ILSVRC2015_VID_train_{index // _VIDEOS_PER_BATCH:04d}'
        return f'train/{batch}/ILSVRC2015_train_{index:05d}000'
    return f'val/ILSVRC2015_val_{index:08d}'


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
            _plan_track(rng, *next(pairs), num_frames, size)
            for _ in range(counts[v])
        ]
        flashes, static = _plan_decoys(rng, tracks, num_frames, size)
        background = _background(rng, size)
        snippet = _snippet(split, v)
        folder = snippet.split('/', 1)[1]
        for f in range(num_frames):
            image, objects = _render_frame(rng, background, tracks, flashes,
                                           static, f, size)
            _write(osp.join(root, 'Data/VID', snippet, f'{f:06d}.JPEG'),
                   _jpeg(image))
            _write(osp.join(root, 'Annotations/VID', snippet, f'{f:06d}.xml'),
                   _vid_xml(folder, f'{f:06d}', size, objects))
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
        frame = _background(rng, size)
        objects = []
        if n % 3 == 1:  # a non-VID DET class, drawn as a grey slab
            a, b = _random_half(rng)
            cx = rng.uniform(a, size[0] - 1 - a)
            cy = rng.uniform(b, size[1] - 1 - b)
            box = _box(cx, cy, a, b, size)
            frame[box[1]:box[3] + 1, box[0]:box[2] + 1] = 150.0
            objects.append(dict(synset=OTHER_DET_SYNSET, box=box))
            stats['other_boxes'] += 1
        for _ in range(counts[n]):
            name, _speed = next(pairs)
            track = _plan_track(rng, name, 'slow', 1, size)
            cx, cy = track.centers[0]
            a, b = track.half
            _paint_ellipse(frame, cx, cy, a, b, angle=STRIPE_ANGLES[name],
                           **track.look)
            objects.append(dict(synset=_synset(name),
                                box=_box(cx, cy, a, b, size)))
            stats['boxes'] += 1
        frame += 3 * rng.standard_normal(frame.shape, np.float32)
        image = np.clip(frame + 0.5, 0, 255).astype(np.uint8)
        folder = f'ILSVRC2014_train_{n // 1000:04d}'
        stem = f'ILSVRC2014_train_{n:08d}'
        name_ = f'train/{folder}/{stem}'
        _write(osp.join(root, 'Data/DET', name_ + '.JPEG'), _jpeg(image))
        _write(osp.join(root, 'Annotations/DET', name_ + '.xml'),
               _det_xml(folder, stem, size, objects))
        names.append(name_)
    stats['instances'] = stats['boxes']
    return stats, names


def _write_lists(root: str, train: list, val: list, num_frames: int,
                 det: list) -> None:
    """ImageSets as ILSVRC2015 has them, plus FGFA's lists."""
    sets = osp.join(root, 'ImageSets')
    per_class = {k: [] for k in range(1, len(VID_CLASSES) + 1)}
    for snippet, names in train:
        for name in names:
            per_class[VID_CLASSES.index(name) + 1].append(
                snippet.split('/', 1)[1] + ' 1\n')
    for k, lines in per_class.items():
        _write(osp.join(sets, 'VID', f'train_{k}.txt'), ''.join(lines))
    _write(
        osp.join(sets, 'VID', 'val.txt'), ''.join(
            f"{snippet.split('/', 1)[1]}/{f:06d} {v * num_frames + f + 1}\n"
            for v, (snippet, _) in enumerate(val)
            for f in range(num_frames)))
    _write(
        osp.join(sets, 'VID_train_15frames.txt'), ''.join(
            f'{snippet} 1 {f} {num_frames}\n' for snippet, _ in train
            for f in fgfa_key_frames(num_frames)))
    _write(
        osp.join(sets, 'VID_val_videos.txt'), ''.join(
            f'{snippet} {v * num_frames + 1} 0 {num_frames}\n'
            for v, (snippet, _) in enumerate(val)))
    _write(
        osp.join(sets, 'DET_train_30classes.txt'),
        ''.join(f'{name} {n + 1}\n' for n, name in enumerate(det)))


def _contact_sheet(path: str, tiles: list) -> None:
    """A grid of frames, one row per video, 2x, with boxes and tags."""
    colours = {
        _synset('zebra'): (255, 255, 255),
        _synset('horse'): (0, 255, 255),
        _synset('tiger'): (255, 0, 255),
    }
    initials = {_synset(name): name[0] for name in TOY_CLASSES}
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
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    if not cv2.imwrite(path, grid):
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
    if size[0] < 2 * _SIZE_RANGE[1] or size[1] < 2 * _SIZE_RANGE[1]:
        raise ValueError(f'size={size} is too small for {_SIZE_RANGE[1]} px '
                         'objects')
    out_dir = osp.abspath(out_dir)
    if osp.exists(out_dir) and (not osp.isdir(out_dir) or os.listdir(out_dir)):
        raise FileExistsError(f'{out_dir} exists and is not an empty folder')
    parent = osp.dirname(out_dir)
    os.makedirs(parent, exist_ok=True)
    tmp = osp.join(parent, f'.{osp.basename(out_dir)}.tmp{os.getpid()}')
    shutil.rmtree(tmp, ignore_errors=True)
    train_seq, val_seq, det_seq = np.random.SeedSequence(seed).spawn(3)
    sheet = [] if contact_sheet else None
    try:
        train_stats, train = _make_videos(tmp, 'train', train_seq,
                                          train_videos, frames, size, sheet)
        val_stats, val = _make_videos(tmp, 'val', val_seq, val_videos, frames,
                                      size, None)
        det_stats, det = _make_det(tmp, det_seq, det_images, size)
        _write_lists(tmp, train, val, frames, det)
        train_stats['key_frames'] = train_videos * len(
            fgfa_key_frames(frames))
        os.replace(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if sheet:
        _contact_sheet(contact_sheet, sheet)
    return dict(train=train_stats, val=val_stats, det=det_stats)
