"""Tests of the toy temporal actions (tsm_mm.testing.toy_actions)."""
import colorsys
import filecmp
import os
import os.path as osp

import mmcv
import numpy as np
import pytest
from scipy.stats import ks_2samp

import tsm_mm  # noqa: F401  (fixes mmaction's import before it is used)
from tsm_mm.testing.rawframe_lists import (
    read_rawframe_list,
    render_contact_sheet,
)
from tsm_mm.testing.toy_actions import (
    ATTRIBUTES,
    CLASSES,
    FILENAME_TMPL,
    PAIRS,
    clip_rng,
    make_toy_actions,
    render_background,
    render_clip,
    render_frame,
    sample_clip,
    toy_classes,
    video_label,
)

VIDEOS, FRAMES, SIZE = 40, 6, 48


@pytest.fixture(scope='module')
def toy_dir(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('toy') / 'actions')
    stats = make_toy_actions(
        out, videos=VIDEOS, frames=FRAMES, seed=3, size=SIZE,
        val_fraction=0.25)
    return out, stats


def _tree(root):
    return sorted(
        osp.relpath(osp.join(d, f), root) for d, _, files in os.walk(root)
        for f in files)


def test_same_seed_same_bytes(toy_dir, tmp_path):
    out, _ = toy_dir
    again = str(tmp_path / 'again')
    make_toy_actions(again, videos=VIDEOS, frames=FRAMES, seed=3, size=SIZE,
                     val_fraction=0.25)
    files = _tree(out)
    assert files == _tree(again)
    match, mismatch, errors = filecmp.cmpfiles(out, again, files,
                                               shallow=False)
    assert not mismatch and not errors and len(match) == len(files)
    other = str(tmp_path / 'other')
    make_toy_actions(other, videos=VIDEOS, frames=FRAMES, seed=4, size=SIZE,
                     val_fraction=0.25)
    _, mismatch, _ = filecmp.cmpfiles(out, other, files, shallow=False)
    assert len(mismatch) > len(files) // 2  # the seed matters


def test_layout_counts_and_balance(toy_dir):
    out, stats = toy_dir
    with open(osp.join(out, 'classes.txt')) as f:
        assert f.read().split('\n') == list(CLASSES) + ['']
    train = read_rawframe_list(osp.join(out, 'train_list.txt'))
    val = read_rawframe_list(osp.join(out, 'val_list.txt'))
    # 4 blocks of 10 videos, round(0.25 * 4) = 1 block held out
    assert len(train) == 30 and len(val) == 10
    assert stats['num_train'] == 30 and stats['num_val'] == 10
    for rows, split, per_class in ((train, 'train', 3), (val, 'val', 1)):
        counts = np.bincount([label for _, _, label in rows],
                             minlength=len(CLASSES))
        assert counts.tolist() == [per_class] * len(CLASSES)
        assert stats['per_class'][split] == counts.tolist()
    videos = [v for v, _, _ in train + val]
    assert len(set(videos)) == VIDEOS
    for video, num, _ in train + val:
        assert num == FRAMES
        names = sorted(os.listdir(osp.join(out, 'rawframes', video)))
        assert names == [FILENAME_TMPL.format(i + 1) for i in range(FRAMES)]
    assert stats['num_frames'] == VIDEOS * FRAMES
    # nothing but the output: the temporary folder was renamed away
    assert os.listdir(osp.dirname(out)) == ['actions']


def test_loads_with_mmaction_rawframe_dataset(toy_dir):
    from mmaction.datasets import RawframeDataset
    from mmengine.registry import init_default_scope
    init_default_scope('mmaction')
    out, _ = toy_dir
    pipeline = [
        dict(type='SampleFrames', clip_len=1, frame_interval=1,
             num_clips=FRAMES, test_mode=True),
        dict(type='RawFrameDecode'),
        dict(type='Resize', scale=(-1, SIZE)),
        dict(type='FormatShape', input_format='NCHW'),
        dict(type='PackActionInputs'),
    ]
    dataset = RawframeDataset(
        osp.join(out, 'val_list.txt'), pipeline,
        data_prefix=dict(img=osp.join(out, 'rawframes')), test_mode=True)
    rows = read_rawframe_list(osp.join(out, 'val_list.txt'))
    assert len(dataset) == len(rows)
    for index in (0, len(rows) - 1):
        sample = dataset[index]
        video, _, label = rows[index]
        inputs = sample['inputs']
        assert tuple(inputs.shape) == (FRAMES, 3, SIZE, SIZE)
        assert sample['data_samples'].gt_label.item() == label
        # frame t of the clip is img_{t+1}, decoded as RGB
        for t in (0, FRAMES - 1):
            bgr = mmcv.imread(osp.join(out, 'rawframes', video,
                                       FILENAME_TMPL.format(t + 1)))
            np.testing.assert_array_equal(
                inputs[t].numpy().transpose(1, 2, 0), bgr[..., ::-1])


def test_pair_classes_are_time_reversals():
    """Both classes of a pair, drawn from equal generators, are the same
    frames in opposite orders (bit for bit), for every pair."""
    for pair in range(len(PAIRS)):
        dec = render_clip(*sample_clip(clip_rng(0, 7), 2 * pair, 5), 32)
        inc = render_clip(*sample_clip(clip_rng(0, 7), 2 * pair + 1, 5), 32)
        assert len(dec) == len(inc) == 5
        for a, b in zip(dec, inc[::-1]):
            np.testing.assert_array_equal(a, b)
        assert any((a != b).any() for a, b in zip(dec, inc))


def test_frames_on_disk_keep_the_rendered_colours(toy_dir):
    """The JPEGs keep full-resolution chroma: every pixel is within 32 of
    the render (OpenCV's default 4:2:0: 35-100 on colour edges)."""
    out, _ = toy_dir
    for index in (0, 7, 13):
        clip = render_clip(*sample_clip(clip_rng(3, index),
                                        video_label(index), FRAMES), SIZE)
        for t, rgb in enumerate(clip):
            disk = mmcv.imread(
                osp.join(out, 'rawframes', f'video_{index:05d}',
                         FILENAME_TMPL.format(t + 1)), channel_order='rgb')
            error = np.abs(disk.astype(int) - rgb.astype(int)).max()
            assert error <= 32, (index, t, error)


def _frame_features(label, t, rng, size=32):
    """Per-frame features of frame ``t`` of a fresh clip of ``label``:
    object centroid x and y, area, peak opacity, orientation, mean RGB."""
    appearance, states = sample_clip(rng, label, 8)
    state = {k: v[t] for k, v in states.items()}
    image, alpha = render_frame(appearance, state, size,
                                render_background(appearance, size))
    ys, xs = np.mgrid[:size, :size]
    mass = alpha.sum()
    cx, cy = (alpha * xs).sum() / mass, (alpha * ys).sum() / mass
    mxx = (alpha * (xs - cx)**2).sum() / mass
    myy = (alpha * (ys - cy)**2).sum() / mass
    mxy = (alpha * (xs - cx) * (ys - cy)).sum() / mass
    orientation = 0.5 * np.arctan2(2 * mxy, mxx - myy)
    area = (alpha > 0).sum()
    return [cx, cy, area, alpha.max(), orientation, *image.mean((0, 1))]


FEATURES = ('centroid_x', 'centroid_y', 'area', 'opacity', 'orientation',
            'mean_r', 'mean_g', 'mean_b')


def test_no_class_identifiable_from_a_single_frame():
    """Per-frame statistics have the same distribution in every class.

    Check used: for each class, 300 clips, one frame each at a uniformly
    random time (so samples are independent); 8 features measured on the
    rendered frame and the object's alpha (centroid x/y, area, peak
    opacity, orientation, mean R/G/B); a two-sample KS test of each class
    against all other classes pooled, for every feature, must give
    p > 0.01 / 80 (Bonferroni over 10 classes x 8 features). Together with
    the exact time-reversal test above this suffices: within a pair the
    frames are literally the same set; across pairs the features that
    could tell which attribute moves (where the object is, how big, how
    opaque, how turned, the colours) are equal in distribution. The
    negative control shows the test has power: the first frames alone do
    tell the classes apart (e.g. moving_left starts on the right).
    """
    rng = np.random.default_rng(12345)
    per_class, first = [], []
    for label in range(len(CLASSES)):
        per_class.append(np.array([
            _frame_features(label, rng.integers(8), rng)
            for _ in range(300)
        ]))
        first.append(np.array(
            [_frame_features(label, 0, rng) for _ in range(100)]))
    for label, name in enumerate(CLASSES):
        rest = np.concatenate(per_class[:label] + per_class[label + 1:])
        for f, feature in enumerate(FEATURES):
            p = ks_2samp(per_class[label][:, f], rest[:, f]).pvalue
            assert p > 0.01 / 80, (name, feature, p)
    # negative control: frame 0 of moving_left vs moving_right, centroid x;
    # receding vs approaching, area; disappearing vs appearing, opacity
    for label, f in ((0, 0), (4, 2), (8, 3)):
        p = ks_2samp(first[label][:, f], first[label + 1][:, f]).pvalue
        assert p < 1e-6, (CLASSES[label], FEATURES[f], p)


def test_bad_arguments(tmp_path):
    out = str(tmp_path / 'out')
    with pytest.raises(ValueError, match='videos=15'):
        make_toy_actions(out, videos=15)
    with pytest.raises(ValueError, match='frames=1'):
        make_toy_actions(out, videos=10, frames=1)
    with pytest.raises(ValueError, match='size=8'):
        make_toy_actions(out, videos=10, size=8)
    with pytest.raises(ValueError, match='val_fraction=1.0'):
        make_toy_actions(out, videos=10, val_fraction=1.0)
    os.makedirs(out)
    open(osp.join(out, 'keep.txt'), 'w').close()
    with pytest.raises(FileExistsError, match='out'):
        make_toy_actions(out, videos=10)
    assert os.listdir(out) == ['keep.txt']
    assert sorted(os.listdir(tmp_path)) == ['out']


def test_attribute_subset(tmp_path):
    """Only the picked attributes are classes; the others never change
    (neutral pose, except the angle frozen at a random value); the pairs
    stay time reversals and the split stays balanced."""
    assert toy_classes(('y', 'x')) == ('moving_up', 'moving_down',
                                       'moving_left', 'moving_right')
    assert toy_classes() == CLASSES
    for bad in ((), ('x', 'x'), ('z', )):
        with pytest.raises(ValueError, match='attributes='):
            toy_classes(bad)
    attributes = ('x', 'y')
    for label in range(4):
        _, states = sample_clip(clip_rng(1, label), label, 6, attributes)
        moving = [k for k, v in states.items() if np.ptp(v) > 0]
        assert moving == [attributes[label // 2]]
        assert (states['log_scale'] == 0).all()
        assert (states['opacity'] == 1).all()
        step = np.diff(states[moving[0]])
        assert ((step > 0) if label % 2 else (step < 0)).all()
        dec = render_clip(*sample_clip(clip_rng(1, 9), label // 2 * 2, 5,
                                       attributes), 32)
        inc = render_clip(*sample_clip(clip_rng(1, 9), label // 2 * 2 + 1,
                                       5, attributes), 32)
        for a, b in zip(dec, inc[::-1]):
            np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match='label=4'):
        sample_clip(clip_rng(1, 0), 4, 6, attributes)

    out = str(tmp_path / 'xy')
    stats = make_toy_actions(out, videos=12, frames=3, size=16,
                             val_fraction=0.34, attributes=attributes)
    assert stats['classes'] == list(toy_classes(attributes))
    # 3 blocks of 4 videos, round(0.34 * 3) = 1 held out
    assert stats['per_class'] == {'train': [2] * 4, 'val': [1] * 4}
    with open(osp.join(out, 'classes.txt')) as f:
        assert f.read().split() == stats['classes']
    with pytest.raises(ValueError, match='multiple of 4'):
        make_toy_actions(str(tmp_path / 'bad'), videos=10,
                         attributes=attributes)


def test_contact_sheet(toy_dir, tmp_path):
    out, _ = toy_dir
    png = str(tmp_path / 'sheet.png')
    sheet = render_contact_sheet(out, png)
    np.testing.assert_array_equal(mmcv.imread(png), sheet)
    # one row per class (+2 px gaps), one column per frame
    assert sheet.shape[0] == len(CLASSES) * (SIZE + 2)
    assert sheet.shape[1] == 200 + FRAMES * (SIZE + 2)


XYS = ('x', 'y', 'log_scale')  # the tools' 6 classes; opacity stays 1


def _hue_class(rgb, num_classes):
    """The colour family (nearest ``k / K`` hue) of an RGB colour."""
    hue = colorsys.rgb_to_hsv(*(np.asarray(rgb, float) / 255))[0]
    return int(round(hue * num_classes)) % num_classes


def _object_colour(image, alpha):
    """Mean colour of the pixels fully inside the object."""
    return image[alpha > 0.999].mean(0)


def test_static_class_in_every_single_frame():
    """Static set: the hue family of the object in any one frame is the
    class (every frame of 20 clips per class); in the temporal set the
    same rule is at chance (the property does not hold there)."""
    num = len(toy_classes(XYS, static=True))
    hits = {True: 0, False: 0}
    for static in (True, False):
        for label in range(num):
            for draw in range(20):
                appearance, states = sample_clip(
                    clip_rng(5, 100 * label + draw), label, 4, XYS, static)
                background = render_background(appearance, 24)
                for t in range(4):
                    image, alpha = render_frame(
                        appearance, {k: v[t] for k, v in states.items()}, 24,
                        background)
                    found = _hue_class(_object_colour(image, alpha), num)
                    hits[static] += found == label
    frames = num * 20 * 4
    assert hits[True] == frames
    assert hits[False] / frames < 0.3  # chance 1/6


def test_static_motion_is_not_the_class():
    """Static clips move like the temporal ones (one attribute changes
    steadily), the motion is a random class's whatever the label, and
    from equal generators two labels differ only in colour."""
    num = len(toy_classes(XYS, static=True))
    motions = set()
    for draw in range(60):
        _, states = sample_clip(clip_rng(2, draw), 0, 6, XYS, static=True)
        moving = [k for k, v in states.items() if np.ptp(v) > 0]
        assert len(moving) == 1 and moving[0] in XYS
        step = np.diff(states[moving[0]])
        assert (step > 0).all() or (step < 0).all()
        motions.add((moving[0], bool(step[0] > 0)))
    assert len(motions) == num  # every motion occurs for class 0
    a_look, a_states = sample_clip(clip_rng(2, 9), 1, 6, XYS, static=True)
    b_look, b_states = sample_clip(clip_rng(2, 9), 4, 6, XYS, static=True)
    for k in a_states:
        np.testing.assert_array_equal(a_states[k], b_states[k])
    np.testing.assert_array_equal(a_look['vertices'], b_look['vertices'])
    assert _hue_class(a_look['colour'], num) == 1
    assert _hue_class(b_look['colour'], num) == 4
    with pytest.raises(ValueError, match='label=6'):
        sample_clip(clip_rng(2, 0), 6, 6, XYS, static=True)


def test_static_dataset_on_disk(tmp_path):
    """make_toy_actions(static=True): colour-family classes, balanced;
    on the JPEGs, the object's hue family (pixels far from the frame's
    median, the background) gives the label in every frame."""
    out = str(tmp_path / 'static')
    stats = make_toy_actions(out, videos=12, frames=3, size=32,
                             val_fraction=0.5, attributes=XYS, static=True)
    assert stats['classes'] == ['hue_000', 'hue_060', 'hue_120', 'hue_180',
                                'hue_240', 'hue_300']
    assert stats['per_class'] == {'train': [1] * 6, 'val': [1] * 6}
    with open(osp.join(out, 'classes.txt')) as f:
        assert f.read().split() == stats['classes']
    rows = read_rawframe_list(osp.join(out, 'train_list.txt')) + \
        read_rawframe_list(osp.join(out, 'val_list.txt'))
    for video, num_frames, label in rows:
        for t in range(num_frames):
            rgb = mmcv.imread(osp.join(out, 'rawframes', video,
                                       FILENAME_TMPL.format(t + 1)),
                              channel_order='rgb').reshape(-1, 3)
            far = np.linalg.norm(rgb - np.median(rgb, 0), axis=1) > 80
            assert _hue_class(np.median(rgb[far], 0), 6) == label


@pytest.mark.parametrize('videos,val_fraction,minimum', [
    (20, 0.1, 'at least 60 videos'),  # round(0.1 * 2 blocks) = 0 held out
    (10, 0.9, 'at least 50 videos'),  # round(0.9 * 1) = 1: no train left
    (4, 0.5, 'at least 8 videos')])  # round(0.5 * 1) = 0 (to even)
def test_too_few_videos_for_both_splits(videos, val_fraction, minimum,
                                        tmp_path):
    out = tmp_path / 'toy'
    attributes = ('x', 'y') if videos == 4 else ATTRIBUTES
    with pytest.raises(ValueError, match=f'videos={videos} .*'
                       f'val_fraction={val_fraction}.*{minimum}'):
        make_toy_actions(str(out), videos=videos, frames=2, size=16,
                         val_fraction=val_fraction, attributes=attributes)
    assert not out.exists()
    # no validation split asked for: any whole number of blocks will do
    stats = make_toy_actions(str(out), videos=10, frames=2, size=16,
                             val_fraction=0.0)
    assert (stats['num_train'], stats['num_val']) == (10, 0)
