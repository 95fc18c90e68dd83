"""Scenes of the toy ImageNet-VID: objects and their tracks, bursts and
occluders, decoys, and painting a frame with its annotations.

Three real VID classes (zebra, horse, tiger) share one shape and colour and
differ only by the orientation of their stripes. Every object is shown
clearly for a few frames, then goes through bursts of 2-5 frames of heavy
blur, dimming or occlusion in which its stripes (its class) cannot be read
from that frame alone. Decoys look like objects in one frame but not over
time. Boxes are inclusive pixel boxes (the devkit's +1 widths).

Written by hand: nothing in the mm ecosystem draws such data.
"""
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

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
SIZE_RANGE = (20, 44)  # box side in pixels

_BODY = np.array([110., 170., 215.], np.float32)  # BGR, tan
_DARK = np.array([40., 45., 55.], np.float32)  # BGR, stripes


@dataclass
class Track:
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


def random_half(rng: np.random.Generator) -> Tuple[float, float]:
    """Half axes of an ellipse whose box is 20-44 px a side."""
    lo, hi = SIZE_RANGE
    side = rng.uniform(lo + 4, hi - 4)
    aspect = rng.uniform(0.75, 1.35)
    w = float(np.clip(side * np.sqrt(aspect), lo, hi))
    h = float(np.clip(side / np.sqrt(aspect), lo, hi))
    return w / 2, h / 2


def plan_track(rng: np.random.Generator, name: str, speed: str,
               num_frames: int, size: Tuple[int, int]) -> Track:
    """Draw one object's size, look, trajectory and bursts.

    Args:
        rng (np.random.Generator): The video's generator.
        name (str): One of :data:`TOY_CLASSES`.
        speed (str): One of :data:`SPEED_BINS`.
        num_frames (int): Frames of the video.
        size (tuple[int, int]): (width, height) of the frames.

    Returns:
        Track: The object, frame by frame.
    """
    width, height = size
    a, b = random_half(rng)
    lo_x, hi_x = 0.4 * a, width - 1 - 0.4 * a
    lo_y, hi_y = 0.4 * b, height - 1 - 0.4 * b
    x0 = rng.uniform(a, width - 1 - a)
    y0 = rng.uniform(b, height - 1 - b)
    rate = rng.uniform(*SPEED_BINS[speed]) * 2 * np.sqrt(a * b)
    theta = rng.uniform(0, 2 * np.pi)
    t = np.arange(num_frames)
    xs = _fold(x0 + rate * np.cos(theta) * t, lo_x, hi_x)
    ys = _fold(y0 + rate * np.sin(theta) * t, lo_y, hi_y)
    track = Track(name, speed, (a, b), np.stack([xs, ys], 1),
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


def pixel_box(cx: float, cy: float, a: float, b: float,
              size: Tuple[int, int]) -> Tuple[int, int, int, int]:
    """Inclusive pixel box (xmin, ymin, xmax, ymax) clipped to the image."""
    width, height = size
    cx, cy = float(cx), float(cy)
    return (min(max(round(cx - a), 0), width - 1),
            min(max(round(cy - b), 0), height - 1),
            min(max(round(cx + a), 0), width - 1),
            min(max(round(cy + b), 0), height - 1))


def paint_ellipse(frame: np.ndarray, cx: float, cy: float, a: float,
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


def paint_background(rng: np.random.Generator,
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


def plan_decoys(rng: np.random.Generator, tracks: List[Track],
                num_frames: int, size: Tuple[int, int]) -> Tuple[dict, Any]:
    """Flashing striped decoys (one frame, never two frames in a row) and
    at most one static blob that is always blurred or dim.

    Returns:
        tuple: ``flashes`` (frame -> (spot, angle, look)) and ``static``
        ((spot, angle, look, burst kind), or None).
    """
    width, height = size

    def free_spot(frames_):
        for _ in range(20):
            a, b = random_half(rng)
            cx = rng.uniform(a, width - 1 - a)
            cy = rng.uniform(b, height - 1 - b)
            box = pixel_box(cx, cy, a, b, size)
            if all(
                    _iou(box, pixel_box(*tr.centers[f], *tr.half, size)) <
                    0.05 for tr in tracks for f in frames_):
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


def render_frame(rng: np.random.Generator, background: np.ndarray,
                 tracks: List[Track], flashes: dict, static: Any, f: int,
                 size: Tuple[int, int]) -> Tuple[np.ndarray, List[dict]]:
    """Draw frame ``f`` of a video planned by :func:`plan_track` and
    :func:`plan_decoys`.

    Returns:
        tuple: The frame (H, W, 3) uint8 BGR, and per track a dict with
        ``trackid``, ``synset``, ``box`` (inclusive pixels), ``occluded``
        and ``burst`` ('' or one of :data:`BURST_KINDS`).
    """
    frame = background.copy()
    if static is not None:  # looks like an object in a blur or dim burst
        (cx, cy, a, b), angle, look, kind = static
        paint_ellipse(frame, cx, cy, a, b, angle=angle,
                      **_burst_style(rng, kind), **look)
    if f in flashes:
        (cx, cy, a, b), angle, look = flashes[f]
        paint_ellipse(frame, cx, cy, a, b, angle=angle, **look)
    boxes, on_top = [], []  # on_top: (object index, is occluder, rect)
    for i, tr in enumerate(tracks):
        cx, cy = tr.centers[f]
        a, b = tr.half
        kind = tr.bursts[f]
        paint_ellipse(frame, cx, cy, a, b, angle=STRIPE_ANGLES[tr.name],
                      **_burst_style(rng, kind), **tr.look)
        box = pixel_box(cx, cy, a, b, size)
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
            dict(trackid=i, synset=synset_of(tr.name), box=box,
                 occluded=max(covers, default=0.0) >= 0.3,
                 burst=tr.bursts[f]))
    return image, objects


def synset_of(name: str) -> str:
    """The WordNet id of a VID class name."""
    return VID_SYNSETS[VID_CLASSES.index(name)]
