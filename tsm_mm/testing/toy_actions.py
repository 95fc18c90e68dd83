"""Toy action clips whose class lives only in the temporal order.

Each clip shows one random polygon (shape, colour, size, opacity, pose) on
a random textured background. One attribute of the object changes steadily
over the clip; the class is which attribute and in which direction:

==========  ==========================  =========================
attribute   decreasing (even label)     increasing (odd label)
==========  ==========================  =========================
x           moving_left                 moving_right
y           moving_up                   moving_down
log scale   receding                    approaching
angle       rotating_anticlockwise      rotating_clockwise
opacity     disappearing                appearing
==========  ==========================  =========================

Why no single frame tells the class:

* The two classes of a pair are one random draw played forwards or
  backwards: from equal generators they give the same frames, reversed.
* The attributes that do not change are frozen at a uniformly random frame
  of a trajectory drawn exactly like the changing one. A frame taken at a
  random time therefore has the same distribution of position, scale,
  angle, opacity and appearance in every class.

``attributes`` picks the pairs that are classes (all five by default;
label ``2 * p`` / ``2 * p + 1`` for the ``p``-th picked attribute). An
attribute left out never changes: it is held at :data:`NEUTRAL` (the angle,
a pose, stays frozen at a random value), the same in every class, so the
fewer attributes vary, the easier the set.

``static=True`` writes the control set where time does not matter: the
same clips, but class ``k`` of ``K`` is the object's colour family (a
saturated hue within ``0.3 / K`` of ``k / K``), visible in any one frame,
and the motion is that of a random class of the temporal set.

Each video is its own draw (a clip and its reverse are never both written:
such pairs cancel the gradient of everything order-invariant, which stalled
a from-scratch TSM on a simple moving-square set here).

Output layout (MMAction2 ``RawframeDataset``, ``filename_tmpl``
``img_{:05}.jpg``, ``start_index=1``)::

    OUT/rawframes/video_00000/img_00001.jpg ...
    OUT/train_list.txt, OUT/val_list.txt   lines ``<video> <frames> <label>``
    OUT/classes.txt                        one class name per line
"""
import colorsys
import itertools
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import mmcv
import numpy as np
from mmengine.logging import print_log
from mmengine.utils import track_iter_progress

from ..utils import atomic_dir
from .rawframe_lists import FILENAME_TMPL, write_rawframe_lists

# (attribute, name when it decreases, name when it increases); label of
# pair p is 2 * p (decreasing) and 2 * p + 1 (increasing).
PAIRS = (
    ('x', 'moving_left', 'moving_right'),
    ('y', 'moving_up', 'moving_down'),
    ('log_scale', 'receding', 'approaching'),
    ('angle', 'rotating_anticlockwise', 'rotating_clockwise'),
    ('opacity', 'disappearing', 'appearing'),
)
CLASSES = tuple(name for _, dec, inc in PAIRS for name in (dec, inc))
ATTRIBUTES = tuple(attr for attr, _, _ in PAIRS)

# What an attribute that is not a class holds: centred, unscaled, opaque
# (no entry: frozen at a random frame, like a class's other attributes)
NEUTRAL = {'x': 0.5, 'y': 0.5, 'log_scale': 0.0, 'opacity': 1.0}

# Per attribute: (lowest value, highest value, smallest and largest change
# over the whole clip). Positions and radii are in units of the image size;
# the angle is in degrees and grows clockwise on screen (y points down).
_RANGES = {
    'x': (0.15, 0.85, 0.5, 0.6),
    'y': (0.15, 0.85, 0.5, 0.6),
    'log_scale': (-0.35, 0.35, 0.55, 0.7),
    'angle': (-np.inf, np.inf, 140.0, 200.0),
    'opacity': (0.6, 1.0, 0.3, 0.4),
}
_BASE_RADIUS = (0.15, 0.2)  # object radius at log_scale 0, image units
_MIN_CONTRAST = 160.0  # object vs background mean colour, L2 over RGB
# Full-resolution chroma (4:4:4): OpenCV's default 4:2:0 is off by up to 100
# levels on the object's colour edges; with 4:4:4 every pixel is within 32
_JPEG_PARAMS = [
    cv2.IMWRITE_JPEG_QUALITY, 95, cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
    cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444
]


def toy_classes(attributes: Sequence[str] = ATTRIBUTES,
                static: bool = False) -> Tuple[str, ...]:
    """The class names when ``attributes`` are the ones that change.

    Args:
        attributes (Sequence[str]): Distinct names of :data:`ATTRIBUTES`.
        static (bool): Name the static set's colour families instead
            (``hue_<degrees>``).

    Returns:
        tuple[str, ...]: ``2 * len(attributes)`` names, decreasing first.
    """
    names = {attr: (dec, inc) for attr, dec, inc in PAIRS}
    unknown = [attr for attr in attributes if attr not in names]
    if unknown or not attributes or len(set(attributes)) != len(attributes):
        raise ValueError(f'attributes={tuple(attributes)} must be distinct '
                         f'names of {ATTRIBUTES}')
    if static:
        num = 2 * len(attributes)
        return tuple(f'hue_{round(360 * k / num):03d}' for k in range(num))
    return tuple(name for attr in attributes for name in names[attr])


def video_label(index: int, num_pairs: int = len(PAIRS)) -> int:
    """The class of video ``index``: every ``2 * num_pairs`` consecutive
    videos hold each class once, so any whole number of blocks is
    balanced."""
    return (index % num_pairs) * 2 + (index // num_pairs) % 2


def sample_clip(
    rng: np.random.Generator,
    label: int,
    frames: int,
    attributes: Sequence[str] = ATTRIBUTES,
    static: bool = False
) -> Tuple[dict, Dict[str, np.ndarray]]:
    """Draw the appearance and the trajectory of one clip of class ``label``.

    Every attribute gets a trajectory ``mid + change * (t / (T-1) - 1/2)``
    with ``change > 0``. The attribute of the class keeps it (reversed in
    time for the decreasing class of the pair); the others of
    ``attributes`` are frozen at a uniformly random frame of theirs, and
    the rest hold :data:`NEUTRAL`. Both classes of a pair consume ``rng``
    identically, so from equal generators they give the same frames in
    opposite orders. ``static``: the motion is a random class's, and
    ``label`` picks the object's colour family.

    Args:
        rng (np.random.Generator): Source of randomness.
        label (int): Class index into :func:`toy_classes` ``(attributes)``.
        frames (int): T, the number of frames.
        attributes (Sequence[str]): The attributes that are classes.
        static (bool): Draw a clip of the static set.

    Returns:
        tuple[dict, dict[str, np.ndarray]]: The appearance (see
        :func:`sample_appearance`) and the states: attribute name -> values
        of shape (T,).
    """
    num = len(toy_classes(attributes))
    if not 0 <= label < num:
        raise ValueError(f'label={label} is not a class of {attributes}')
    pair, increasing = divmod(
        int(rng.integers(num)) if static else label, 2)
    phase = np.linspace(-0.5, 0.5, frames)
    states = {}
    for attr in ATTRIBUTES:  # all drawn: the same rng use for any subset
        low, high, min_change, max_change = _RANGES[attr]
        change = rng.uniform(min_change, max_change)
        if np.isinf(low):
            mid = rng.uniform(0.0, 360.0)
        else:
            mid = rng.uniform(low + change / 2, high - change / 2)
        values = mid + change * phase
        if attr != attributes[pair]:
            values = np.full(frames, values[rng.integers(frames)])
            if attr not in attributes and attr in NEUTRAL:
                values = np.full(frames, NEUTRAL[attr])
        states[attr] = values if increasing else values[::-1].copy()
    appearance = sample_appearance(rng, (label / num, 0.3 / num)
                                   if static else None)
    return appearance, states


def sample_appearance(rng: np.random.Generator,
                      hue: Optional[Tuple[float, float]] = None) -> dict:
    """Draw an asymmetric polygon, its colour and a background texture.

    Args:
        rng (np.random.Generator): Source of randomness.
        hue (tuple[float, float], optional): Centre and half width (in
            turns) of the object's hue; None: any colour.

    Returns:
        dict: ``vertices`` (V, 2) of the polygon at unit radius and angle 0,
        ``radius`` (image units at log_scale 0), ``colour`` (3,) RGB,
        ``background`` (3,) RGB mean colour, ``texture`` (8, 8, 3) and
        ``grain`` (4,) parameters of the background pattern.
    """
    num_vertices = int(rng.integers(5, 8))
    step = 2 * np.pi / num_vertices
    angles = step * np.arange(num_vertices) + rng.uniform(
        -0.3 * step, 0.3 * step, num_vertices)
    radii = rng.uniform(0.45, 1.0, num_vertices)
    radii[rng.integers(num_vertices)] = 1.0  # a tip that shows the angle
    vertices = np.stack([np.cos(angles), np.sin(angles)], 1) * radii[:, None]
    background = rng.uniform(0, 255, 3)
    while True:  # the object must stand out from the background
        if hue is None:
            colour = rng.uniform(0, 255, 3)
        else:  # a saturated colour of the family
            colour = 255 * np.array(colorsys.hsv_to_rgb(
                (hue[0] + rng.uniform(-hue[1], hue[1])) % 1.0,
                *rng.uniform(0.6, 1.0, 2)))
        if np.linalg.norm(colour - background) >= _MIN_CONTRAST:
            break
        if hue is not None:  # a family may lack contrast with it: redraw
            background = rng.uniform(0, 255, 3)
    return dict(
        vertices=vertices,
        radius=rng.uniform(*_BASE_RADIUS),
        colour=colour,
        background=background,
        texture=rng.normal(0.0, 12.0, (8, 8, 3)),
        grain=rng.normal(0.0, 4.0, (16, 16, 3)))


def render_background(appearance: dict, size: int) -> np.ndarray:
    """The static background of a clip: a colour with a smooth texture.

    Args:
        appearance (dict): As returned by :func:`sample_appearance`.
        size (int): Image side S in pixels.

    Returns:
        np.ndarray: Float RGB image (S, S, 3).
    """
    smooth = cv2.resize(appearance['texture'], (size, size),
                        interpolation=cv2.INTER_CUBIC)
    fine = cv2.resize(appearance['grain'], (size, size),
                      interpolation=cv2.INTER_NEAREST)
    return appearance['background'] + smooth + fine


def render_frame(appearance: dict, state: Dict[str, float], size: int,
                 background: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Draw the object in one state over the background.

    Args:
        appearance (dict): As returned by :func:`sample_appearance`.
        state (dict[str, float]): One value per attribute of
            :data:`ATTRIBUTES`.
        size (int): Image side S in pixels.
        background (np.ndarray): From :func:`render_background`.

    Returns:
        tuple[np.ndarray, np.ndarray]: The RGB frame (S, S, 3) uint8 and
        the object's alpha (S, S) float in [0, 1].
    """
    theta = np.deg2rad(state['angle'])
    rotation = np.array([[np.cos(theta), -np.sin(theta)],
                         [np.sin(theta), np.cos(theta)]])
    radius = appearance['radius'] * np.exp(state['log_scale']) * size
    centre = np.array([state['x'], state['y']]) * size
    points = appearance['vertices'] @ rotation.T * radius + centre
    coverage = np.zeros((size, size), np.uint8)
    # 4 fractional bits: sub-pixel motion with anti-aliased edges
    cv2.fillPoly(coverage, [np.round(points * 16).astype(np.int32)], 255,
                 lineType=cv2.LINE_AA, shift=4)
    alpha = coverage.astype(np.float64) / 255.0 * state['opacity']
    image = background * (1 - alpha[..., None]) + (
        appearance['colour'] * alpha[..., None])
    return np.clip(np.round(image), 0, 255).astype(np.uint8), alpha


def render_clip(appearance: dict, states: Dict[str, np.ndarray],
                size: int) -> List[np.ndarray]:
    """Draw all frames of a clip.

    Args:
        appearance (dict): As returned by :func:`sample_appearance`.
        states (dict[str, np.ndarray]): Attribute -> values (T,).
        size (int): Image side S in pixels.

    Returns:
        list[np.ndarray]: T RGB frames (S, S, 3) uint8.
    """
    background = render_background(appearance, size)
    num_frames = len(states['x'])
    return [
        render_frame(appearance, {k: v[t] for k, v in states.items()}, size,
                     background)[0] for t in range(num_frames)
    ]


def clip_rng(seed: int, draw: int) -> np.random.Generator:
    """The generator of draw ``draw``: independent of how many are made."""
    return np.random.default_rng(np.random.SeedSequence([seed, draw]))


def _check_args(out_dir: str, videos: int, frames: int, size: int,
                val_fraction: float, num_classes: int) -> None:
    """Raise a ValueError naming the first bad argument."""
    if videos < num_classes or videos % num_classes:
        raise ValueError(f'videos={videos} must be a positive multiple of '
                         f'{num_classes} (the number of classes)')
    if frames < 2:
        raise ValueError(f'frames={frames} must be at least 2')
    if size < 16:
        raise ValueError(f'size={size} must be at least 16 pixels')
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f'val_fraction={val_fraction} must be in [0, 1)')
    if osp.exists(out_dir) and (not osp.isdir(out_dir) or os.listdir(out_dir)):
        raise FileExistsError(
            f'out_dir {out_dir!r} exists and is not an empty directory')
    blocks = videos // num_classes
    num_val = _val_blocks(blocks, val_fraction)
    if val_fraction > 0 and not 0 < num_val < blocks:
        fewest = next(b for b in itertools.count(1)
                      if 0 < _val_blocks(b, val_fraction) < b)
        raise ValueError(
            f'videos={videos} with val_fraction={val_fraction} gives '
            f'{num_val} val and {blocks - num_val} train clips per class '
            f'({blocks} blocks of {num_classes} classes); both splits need '
            f'one: use at least {fewest * num_classes} videos, or '
            'val_fraction=0 for no val split')


def _val_blocks(blocks: int, val_fraction: float) -> int:
    """How many of ``blocks`` blocks of one video per class are held out
    for validation (the last ones)."""
    return round(val_fraction * blocks)


def make_toy_actions(out_dir: str,
                     *,
                     videos: int = 4000,
                     frames: int = 8,
                     seed: int = 0,
                     size: int = 32,
                     val_fraction: float = 0.1,
                     progress: bool = False,
                     attributes: Sequence[str] = ATTRIBUTES,
                     static: bool = False) -> dict:
    """Write a toy rawframe dataset whose classes differ only in time.

    Video ``i`` has class :func:`video_label` ``(i, len(attributes))`` and
    is drawn from :func:`clip_rng` ``(seed, i)``. With K classes, the last
    ``round(val_fraction * videos / K)`` blocks of K videos form the
    validation list, so every class has the same count in each split. The
    output is the same bytes for the same arguments, and appears at
    ``out_dir`` only when complete.

    Args:
        out_dir (str): Output folder; must not exist or be empty.
        videos (int): Number of clips, a multiple of the classes; with
            ``val_fraction > 0``, enough for a clip of each class in both
            splits.
        frames (int): Frames per clip.
        seed (int): Seed of all randomness.
        size (int): Side of the square frames in pixels.
        val_fraction (float): Share of each class held out for validation.
        progress (bool): Show a progress bar.
        attributes (Sequence[str]): The attributes whose pairs are the
            classes (see :func:`toy_classes`); the others do not change.
        static (bool): Write the control set instead: the class is the
            object's colour family, seen in any frame (see the module).

    Returns:
        dict: ``classes``, ``num_train``, ``num_val``, ``num_frames`` (files
        written) and ``per_class``: ``{'train': [...], 'val': [...]}``
        counts indexed by label.
    """
    out_dir = osp.abspath(out_dir)
    attributes = tuple(attributes)
    classes = toy_classes(attributes, static)
    _check_args(out_dir, videos, frames, size, val_fraction, len(classes))
    blocks = videos // len(classes)
    first_val = (blocks - _val_blocks(blocks, val_fraction)) * len(classes)

    with atomic_dir(out_dir) as tmp_dir:  # complete or absent
        rows = {'train': [], 'val': []}
        indices = range(videos)
        for index in track_iter_progress(indices) if progress else indices:
            label = video_label(index, len(attributes))
            video = f'video_{index:05d}'
            clip = render_clip(*sample_clip(clip_rng(seed, index), label,
                                            frames, attributes, static),
                                size)
            for t, rgb in enumerate(clip):
                mmcv.imwrite(
                    rgb[..., ::-1],
                    osp.join(tmp_dir, 'rawframes', video,
                             FILENAME_TMPL.format(t + 1)),
                    params=_JPEG_PARAMS)
            split = 'val' if index >= first_val else 'train'
            rows[split].append((video, frames, label))
        write_rawframe_lists(tmp_dir, rows, classes)

    stats = dict(classes=list(classes), num_train=len(rows['train']),
                 num_val=len(rows['val']), num_frames=videos * frames,
                 per_class={split: np.bincount([r[2] for r in split_rows],
                                               minlength=len(classes)).tolist()
                            for split, split_rows in rows.items()})
    print_log(
        f'toy actions: {videos} clips x {frames} frames of {size}x{size} '
        f'-> {out_dir} (train {stats["num_train"]}, val {stats["num_val"]})',
        logger='current')
    return stats
