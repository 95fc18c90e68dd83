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

Each video is its own draw (a clip and its reverse are never both written:
such pairs cancel the gradient of everything order-invariant, which stalled
a from-scratch TSM on a simple moving-square set here).

Output layout (MMAction2 ``RawframeDataset``, ``filename_tmpl``
``img_{:05}.jpg``, ``start_index=1``)::

    OUT/rawframes/video_00000/img_00001.jpg ...
    OUT/train_list.txt, OUT/val_list.txt   lines ``<video> <frames> <label>``
    OUT/classes.txt                        one class name per line
"""
import os
import os.path as osp
import shutil
import tempfile
from typing import Dict, List, Sequence, Tuple

import cv2
import mmcv
import numpy as np
from mmengine.logging import print_log
from mmengine.utils import track_iter_progress

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
FILENAME_TMPL = 'img_{:05}.jpg'

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


def toy_classes(attributes: Sequence[str] = ATTRIBUTES) -> Tuple[str, ...]:
    """The class names when ``attributes`` are the ones that change.

    Args:
        attributes (Sequence[str]): Distinct names of :data:`ATTRIBUTES`.

    Returns:
        tuple[str, ...]: ``2 * len(attributes)`` names, decreasing first.
    """
    names = {attr: (dec, inc) for attr, dec, inc in PAIRS}
    unknown = [attr for attr in attributes if attr not in names]
    if unknown or not attributes or len(set(attributes)) != len(attributes):
        raise ValueError(f'attributes={tuple(attributes)} must be distinct '
                         f'names of {ATTRIBUTES}')
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
    attributes: Sequence[str] = ATTRIBUTES
) -> Tuple[dict, Dict[str, np.ndarray]]:
    """Draw the appearance and the trajectory of one clip of class ``label``.

    Every attribute gets a trajectory ``mid + change * (t / (T-1) - 1/2)``
    with ``change > 0``. The attribute of the class keeps it (reversed in
    time for the decreasing class of the pair); the others of
    ``attributes`` are frozen at a uniformly random frame of theirs, and
    the rest hold :data:`NEUTRAL`. Both classes of a pair consume ``rng``
    identically, so from equal generators they give the same frames in
    opposite orders.

    Args:
        rng (np.random.Generator): Source of randomness.
        label (int): Class index into :func:`toy_classes` ``(attributes)``.
        frames (int): T, the number of frames.
        attributes (Sequence[str]): The attributes that are classes.

    Returns:
        tuple[dict, dict[str, np.ndarray]]: The appearance (see
        :func:`sample_appearance`) and the states: attribute name -> values
        of shape (T,).
    """
    pair, increasing = divmod(label, 2)
    if not 0 <= pair < len(toy_classes(attributes)) // 2:
        raise ValueError(f'label={label} is not a class of {attributes}')
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
    appearance = sample_appearance(rng)
    return appearance, states


def sample_appearance(rng: np.random.Generator) -> dict:
    """Draw an asymmetric polygon, its colour and a background texture.

    Args:
        rng (np.random.Generator): Source of randomness.

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
    vertices = np.stack([np.cos(angles), np.sin(angles)], axis=1) * radii[:,
                                                                          None]
    background = rng.uniform(0, 255, 3)
    while True:  # the object must stand out from the background
        colour = rng.uniform(0, 255, 3)
        if np.linalg.norm(colour - background) >= _MIN_CONTRAST:
            break
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


def _write_list(path: str, rows: Sequence[Tuple[str, int, int]]) -> None:
    with open(path, 'w') as f:
        f.writelines(f'{video} {num} {label}\n' for video, num, label in rows)


def make_toy_actions(out_dir: str,
                     videos: int = 4000,
                     frames: int = 8,
                     seed: int = 0,
                     size: int = 32,
                     val_fraction: float = 0.1,
                     progress: bool = False,
                     attributes: Sequence[str] = ATTRIBUTES) -> dict:
    """Write a toy rawframe dataset whose classes differ only in time.

    Video ``i`` has class :func:`video_label` ``(i, len(attributes))`` and
    is drawn from :func:`clip_rng` ``(seed, i)``. With K classes, the last
    ``round(val_fraction * videos / K)`` blocks of K videos form the
    validation list, so every class has the same count in each split. The
    output is the same bytes for the same arguments, and appears at
    ``out_dir`` only when complete.

    Args:
        out_dir (str): Output folder; must not exist or be empty.
        videos (int): Number of clips, a multiple of the classes.
        frames (int): Frames per clip.
        seed (int): Seed of all randomness.
        size (int): Side of the square frames in pixels.
        val_fraction (float): Share of each class held out for validation.
        progress (bool): Show a progress bar.
        attributes (Sequence[str]): The attributes whose pairs are the
            classes (see :func:`toy_classes`); the others do not change.

    Returns:
        dict: ``classes``, ``num_train``, ``num_val``, ``num_frames`` (files
        written) and ``per_class``: ``{'train': [...], 'val': [...]}``
        counts indexed by label.
    """
    out_dir = osp.abspath(out_dir)
    attributes = tuple(attributes)
    classes = toy_classes(attributes)
    _check_args(out_dir, videos, frames, size, val_fraction, len(classes))
    blocks = videos // len(classes)
    first_val = (blocks - round(val_fraction * blocks)) * len(classes)

    parent = osp.dirname(out_dir)
    os.makedirs(parent, exist_ok=True)
    tmp_dir = tempfile.mkdtemp(prefix=f'.{osp.basename(out_dir)}.', dir=parent)
    try:
        rows = {'train': [], 'val': []}
        indices = range(videos)
        for index in track_iter_progress(indices) if progress else indices:
            label = video_label(index, len(attributes))
            video = f'video_{index:05d}'
            clip = render_clip(*sample_clip(clip_rng(seed, index), label,
                                            frames, attributes), size)
            for t, rgb in enumerate(clip):
                mmcv.imwrite(
                    rgb[..., ::-1],
                    osp.join(tmp_dir, 'rawframes', video,
                             FILENAME_TMPL.format(t + 1)),
                    params=_JPEG_PARAMS)
            split = 'val' if index >= first_val else 'train'
            rows[split].append((video, frames, label))
        for split, split_rows in rows.items():
            _write_list(osp.join(tmp_dir, f'{split}_list.txt'), split_rows)
        with open(osp.join(tmp_dir, 'classes.txt'), 'w') as f:
            f.writelines(f'{name}\n' for name in classes)
        os.chmod(tmp_dir, 0o755)  # mkdtemp makes it private
        os.replace(tmp_dir, out_dir)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise

    per_class = {
        split: np.bincount([label for _, _, label in split_rows],
                           minlength=len(classes)).tolist()
        for split, split_rows in rows.items()
    }
    stats = dict(
        classes=list(classes),
        num_train=len(rows['train']),
        num_val=len(rows['val']),
        num_frames=videos * frames,
        per_class=per_class)
    print_log(
        f'toy actions: {videos} clips x {frames} frames of {size}x{size} '
        f'-> {out_dir} (train {stats["num_train"]}, val {stats["num_val"]})',
        logger='current')
    return stats


def read_rawframe_list(path: str) -> List[Tuple[str, int, int]]:
    """Parse ``<video> <num_frames> <label>`` lines.

    Args:
        path (str): A list file written by :func:`make_toy_actions`.

    Returns:
        list[tuple[str, int, int]]: (video, num_frames, label) per line.
    """
    rows = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            fields = line.split()
            if len(fields) != 3:
                raise ValueError(f'{path}:{number}: expected "<video> '
                                 f'<num_frames> <label>", got {line!r}')
            rows.append((fields[0], int(fields[1]), int(fields[2])))
    return rows


def render_contact_sheet(data_dir: str,
                         png_path: str,
                         split: str = 'train') -> np.ndarray:
    """Save one clip per class as a PNG: a row per class, frames in order.

    Args:
        data_dir (str): Output folder of :func:`make_toy_actions`.
        png_path (str): Where to write the PNG (replaced atomically).
        split (str): ``'train'`` or ``'val'``: the list to take clips from.

    Returns:
        np.ndarray: The sheet as a BGR image.
    """
    with open(osp.join(data_dir, 'classes.txt')) as f:
        classes = [line.strip() for line in f if line.strip()]
    first = {}
    for video, num, label in read_rawframe_list(
            osp.join(data_dir, f'{split}_list.txt')):
        first.setdefault(label, (video, num))
    rows = []
    for label, name in enumerate(classes):
        if label not in first:
            raise ValueError(f'no clip of class {label} ({name}) in the '
                             f'{split} list of {data_dir}')
        video, num = first[label]
        frames = [
            mmcv.imread(
                osp.join(data_dir, 'rawframes', video,
                         FILENAME_TMPL.format(i + 1))) for i in range(num)
        ]
        height = frames[0].shape[0]
        caption = np.full((height, 200, 3), 255, np.uint8)
        cv2.putText(caption, f'{label} {name}', (4, height // 2 + 4),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1,
                    cv2.LINE_AA)
        gaps = [np.full((height, 2, 3), 255, np.uint8)] * len(frames)
        rows.append(np.hstack([caption] +
                              [x for pair in zip(frames, gaps)
                               for x in pair]))
    sheet = np.vstack(
        [x for row in rows for x in (row, np.full((2, ) + row.shape[1:],
                                                  255, np.uint8))])
    directory = osp.dirname(osp.abspath(png_path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(suffix='.png', dir=directory)
    os.close(fd)
    try:
        mmcv.imwrite(sheet, tmp_path)
        os.replace(tmp_path, png_path)
    except BaseException:
        os.remove(tmp_path)
        raise
    return sheet
