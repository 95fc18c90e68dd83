"""The toy ImageNet-VID generator, checked from the files it writes.

Everything here is measured from the JPEG/XML/list files with independent
code (regex-free ElementTree reads, OpenCV image statistics), not from the
generator's internals.
"""
import glob
import hashlib
import os
import os.path as osp
import runpy
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict

import cv2
import numpy as np
import pytest

from tsm_mm.datasets.vid_classes import VID_CLASSES, VID_SYNSETS
from tsm_mm.testing import make_toy_vid
from tsm_mm.testing.toy_vid import fgfa_key_frames

SYNSET = dict(zip(VID_CLASSES, VID_SYNSETS))
TOY_SYNSETS = {SYNSET['zebra'], SYNSET['horse'], SYNSET['tiger']}
ARGS = dict(train_videos=24, val_videos=3, frames=16, det_images=6, seed=3)
WIDTH, HEIGHT = 160, 120


@pytest.fixture(scope='module')
def toy(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('toy') / 'ILSVRC2015')
    return root, make_toy_vid(root, **ARGS)


def read_frames(root, split):
    """{snippet: {frame: [(trackid, synset, box, occluded)]}} from XML."""
    videos = defaultdict(dict)
    ann_root = osp.join(root, 'Annotations/VID')
    for path in glob.glob(osp.join(ann_root, split, '**', '*.xml'),
                          recursive=True):
        xml = ET.parse(path).getroot()
        snippet = osp.relpath(osp.dirname(path), ann_root)
        objects = []
        for obj in xml.iter('object'):
            box = obj.find('bndbox')
            objects.append((int(obj.find('trackid').text),
                            obj.find('name').text,
                            tuple(int(box.find(k).text)
                                  for k in ('xmin', 'ymin', 'xmax', 'ymax')),
                            obj.find('occluded').text == '1'))
        videos[snippet][int(osp.basename(path)[:6])] = objects
    return videos


def iou(a, b):
    """IoU of inclusive pixel boxes (the devkit's +1 widths)."""
    iw = min(a[2], b[2]) - max(a[0], b[0]) + 1
    ih = min(a[3], b[3]) - max(a[1], b[1]) + 1
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    area = ((a[2] - a[0] + 1) * (a[3] - a[1] + 1) + (b[2] - b[0] + 1) *
            (b[3] - b[1] + 1))
    return inter / (area - inter)


def tree_hashes(root):
    hashes = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = osp.join(dirpath, name)
            with open(path, 'rb') as f:
                hashes[osp.relpath(path, root)] = hashlib.sha256(
                    f.read()).hexdigest()
    return hashes


def test_same_seed_same_bytes(tmp_path):
    args = dict(train_videos=3, val_videos=1, frames=6, det_images=2)
    sheets = []
    for run in ('a', 'b', 'c'):
        sheets.append(str(tmp_path / f'{run}.png'))
        make_toy_vid(str(tmp_path / run), seed=1 if run == 'c' else 0,
                     contact_sheet=sheets[-1], **args)
    a, b, c = (tree_hashes(str(tmp_path / run)) for run in 'abc')
    assert len(a) == 3 * 6 * 2 + 1 * 6 * 2 + 2 * 2 + 30 + 1 + 3
    assert a == b
    assert tree_hashes(str(tmp_path / 'a')) == a  # nothing left open
    with open(sheets[0], 'rb') as f0, open(sheets[1], 'rb') as f1:
        assert f0.read() == f1.read()
    # another seed: same names, other pixels and boxes
    assert a.keys() == c.keys()
    jpegs = [k for k in a if k.endswith('.JPEG')]
    assert sum(a[k] != c[k] for k in jpegs) == len(jpegs)


def test_counts_as_reported(toy):
    root, stats = toy
    for split, num_videos in (('train', 24), ('val', 3)):
        videos = read_frames(root, split)
        frames = [f for v in videos.values() for f in v.values()]
        jpegs = glob.glob(osp.join(root, 'Data/VID', split, '**', '*.JPEG'),
                          recursive=True)
        assert stats[split]['videos'] == len(videos) == num_videos
        assert stats[split]['frames'] == len(frames) == len(jpegs) == \
            num_videos * 16
        assert stats[split]['boxes'] == sum(map(len, frames))
        assert stats[split]['instances'] == len({
            (snippet, obj[0])
            for snippet, v in videos.items() for objs in v.values()
            for obj in objs
        })
        assert stats[split]['occluded_boxes'] == sum(
            obj[3] for objs in frames for obj in objs)
    assert stats['train']['key_frames'] == 24 * 15
    det = glob.glob(osp.join(root, 'Annotations/DET/train/*/*.xml'))
    names = [o.find('name').text for p in det
             for o in ET.parse(p).getroot().iter('object')]
    assert stats['det']['videos'] == stats['det']['frames'] == len(det) == 6
    assert stats['det']['boxes'] == stats['det']['instances'] == sum(
        n in TOY_SYNSETS for n in names)
    assert stats['det']['other_boxes'] == names.count('n00007846') == 2


def test_layout_and_xml(toy):
    root, _ = toy
    snippet = 'train/ILSVRC2015_VID_train_0000/ILSVRC2015_train_00002000'
    xml = ET.parse(osp.join(root, 'Annotations/VID', snippet, '000003.xml'))
    ann = xml.getroot()
    assert [c.tag for c in ann][:4] == ['folder', 'filename', 'source',
                                        'size']
    assert ann.find('folder').text == snippet.split('/', 1)[1]
    assert ann.find('filename').text == '000003'
    assert ann.find('source/database').text == 'ILSVRC_2015'
    assert (ann.find('size/width').text, ann.find('size/height').text) == \
        ('160', '120')
    for obj in ann.iter('object'):
        assert [c.tag for c in obj] == ['trackid', 'name', 'bndbox',
                                        'occluded', 'generated']
        assert [c.tag for c in obj.find('bndbox')] == ['xmax', 'xmin',
                                                       'ymax', 'ymin']
    image = cv2.imread(osp.join(root, 'Data/VID', snippet, '000003.JPEG'))
    assert image.shape == (HEIGHT, WIDTH, 3)

    for split in ('train', 'val'):
        for frames in read_frames(root, split).values():
            trackids = {o[0] for objs in frames.values() for o in objs}
            assert trackids == set(range(len(trackids)))  # from 0
            assert 1 <= len(trackids) <= 3
            for objs in frames.values():
                assert len(objs) == len(trackids)  # present in every frame
                for _, synset, (x0, y0, x1, y1), _ in objs:
                    assert synset in TOY_SYNSETS
                    assert 0 <= x0 < x1 <= WIDTH - 1
                    assert 0 <= y0 < y1 <= HEIGHT - 1
                    assert x1 - x0 <= 45 and y1 - y0 <= 45
                    inside = x0 > 0 and y0 > 0 and x1 < WIDTH - 1 and \
                        y1 < HEIGHT - 1
                    if inside:  # clipping aside, 20-44 px a side
                        assert x1 - x0 >= 19 and y1 - y0 >= 19


def test_lists(toy):
    root, _ = toy
    sets = osp.join(root, 'ImageSets')
    assert fgfa_key_frames(300) == list(range(10, 300, 20))
    # centres of 15 equal parts: floor(16 / 15 * (i + 0.5))
    assert fgfa_key_frames(16) == sorted(set(range(16)) - {7})
    assert fgfa_key_frames(6) == list(range(6))
    with open(osp.join(sets, 'VID_train_15frames.txt')) as f:
        lines = [line.split() for line in f]
    train = read_frames(root, 'train')
    assert len(lines) == 24 * 15
    keys = defaultdict(list)
    for snippet, one, frame, num in lines:
        assert one == '1' and num == '16' and snippet in train
        keys[snippet].append(int(frame))
    assert all(v == fgfa_key_frames(16) for v in keys.values())
    assert len(keys) == 24
    with open(osp.join(sets, 'VID_val_videos.txt')) as f:
        assert f.read().splitlines() == [
            f'val/ILSVRC2015_val_{v:08d} {16 * v + 1} 0 16' for v in range(3)
        ]
    with open(osp.join(sets, 'VID', 'val.txt')) as f:
        val = f.read().splitlines()
    assert val[0] == 'ILSVRC2015_val_00000000/000000 1'
    assert val[17] == 'ILSVRC2015_val_00000001/000001 18'
    assert len(val) == 3 * 16
    # train_<k>.txt: the snippets holding class k (1-based devkit id)
    for k, synset in enumerate(VID_SYNSETS, 1):
        with open(osp.join(sets, 'VID', f'train_{k}.txt')) as f:
            listed = {line.split()[0] for line in f}
        holding = {
            s.split('/', 1)[1]
            for s, frames in train.items() if synset in
            {o[1] for o in frames[0]}
        }
        assert listed == holding
        assert bool(listed) == (synset in TOY_SYNSETS)
    with open(osp.join(sets, 'DET_train_30classes.txt')) as f:
        det = [line.split() for line in f]
    assert [d[1] for d in det] == ['1', '2', '3', '4', '5', '6']
    for name, _ in det:
        assert osp.isfile(osp.join(root, 'Data/DET', name + '.JPEG'))
        assert osp.isfile(osp.join(root, 'Annotations/DET', name + '.xml'))


def test_motion_speed_bins_balanced(toy):
    """FGFA's motion IoU: mean IoU of a box with its instance at t±1..10."""
    root, _ = toy
    motion = []
    for frames in read_frames(root, 'train').values():
        tracks = defaultdict(dict)
        for f, objs in frames.items():
            for trackid, _, box, _ in objs:
                tracks[trackid][f] = box
        for track in tracks.values():
            for f, box in track.items():
                near = [
                    iou(box, track[g]) for g in range(f - 10, f + 11)
                    if g != f and g in track
                ]
                motion.append(np.mean(near))
    motion = np.array(motion)
    slow, fast = motion > 0.9, motion < 0.7
    shares = [slow.mean(), 1 - slow.mean() - fast.mean(), fast.mean()]
    assert min(shares) >= 0.15, shares
    assert max(shares) <= 0.5, shares


def box_stats(root, split='train'):
    """Per box: frame, synset, stripe energy and orientation in its centre,
    mean colour; per frame: stripe energy outside the boxes."""
    boxes, outside = [], {}
    for snippet, frames in read_frames(root, split).items():
        for f, objs in frames.items():
            image = cv2.imread(
                osp.join(root, 'Data/VID', snippet, f'{f:06d}.JPEG'))
            gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
            fine = np.abs(gray - cv2.GaussianBlur(gray, (0, 0), 2))
            gx = np.abs(cv2.Sobel(gray, cv2.CV_32F, 1, 0))
            gy = np.abs(cv2.Sobel(gray, cv2.CV_32F, 0, 1))
            local = cv2.blur(fine, (9, 9))
            for _, synset, (x0, y0, x1, y1), _ in objs:
                w, h = x1 - x0 + 1, y1 - y0 + 1
                centre = np.s_[y0 + h // 4:y1 + 1 - h // 4,
                               x0 + w // 4:x1 + 1 - w // 4]
                ex, ey = gx[centre].mean(), gy[centre].mean()
                boxes.append(
                    dict(frame=f, synset=synset, energy=fine[centre].mean(),
                         orientation=(ex - ey) / (ex + ey),
                         colour=image[centre].reshape(-1, 3).mean(0)))
                local[max(y0 - 6, 0):y1 + 7, max(x0 - 6, 0):x1 + 7] = 0
            outside[(snippet, f)] = local.max()
    return boxes, outside


def test_bursts_and_texture(toy):
    root, stats = toy
    boxes, _ = box_stats(root)
    energy = np.array([b['energy'] for b in boxes])
    frame = np.array([b['frame'] for b in boxes])
    # Clear at first: stripes are crisp in frames 0-2 of every object.
    assert energy[frame < 3].min() > 20
    # Bursts wash the stripes out: the share of boxes without fine texture
    # is the share of burst boxes reported (overlaps blur the match a bit).
    burst_share = stats['train']['burst_boxes'] / stats['train']['boxes']
    assert 0.25 < burst_share < 0.5
    assert abs((energy < 8).mean() - burst_share) < 0.04
    assert stats['train']['occluded_boxes'] > 0.1 * stats['train']['boxes']
    # Classes differ only by stripe orientation, not by colour.
    clear = [b for b in boxes if b['energy'] > 20]
    orientation = {
        s: np.median([b['orientation'] for b in clear if b['synset'] == s])
        for s in TOY_SYNSETS
    }
    assert orientation[SYNSET['zebra']] > 0.8  # vertical bars: d/dx
    assert orientation[SYNSET['horse']] < -0.8  # horizontal bars: d/dy
    assert abs(orientation[SYNSET['tiger']]) < 0.2  # diagonal
    colours = np.array([
        np.mean([b['colour'] for b in clear if b['synset'] == s], 0)
        for s in TOY_SYNSETS
    ])
    assert np.ptp(colours, 0).max() < 6


def test_flashing_decoys(toy):
    """Striped blobs outside the boxes: in single frames, never two in a
    row, as many as reported."""
    root, stats = toy
    _, outside = box_stats(root)
    flashes = {key for key, energy in outside.items() if energy > 15}
    assert len(flashes) == stats['train']['flash_decoys'] > 0
    assert not any((s, f + 1) in flashes for s, f in flashes)
    assert stats['train']['static_decoys'] > 0


def test_contact_sheet_and_cli(tmp_path, monkeypatch):
    sheet = tmp_path / 'sheet.png'
    monkeypatch.setattr(sys, 'argv', [
        'make_toy_vid.py', str(tmp_path / 'toy'), '--train-videos', '4',
        '--val-videos', '1', '--frames', '8', '--det-images', '1',
        '--contact-sheet', str(sheet)
    ])
    runpy.run_path(
        osp.join(osp.dirname(__file__), '../../tools/make_toy_vid.py'),
        run_name='__main__')
    image = cv2.imread(str(sheet))
    assert image.shape == (4 * (2 * HEIGHT + 2), 8 * (2 * WIDTH + 2), 3)
    assert osp.isdir(tmp_path / 'toy/Data/VID/train')


def test_bad_arguments(tmp_path):
    (tmp_path / 'full').mkdir()
    (tmp_path / 'full' / 'x').write_text('')
    with pytest.raises(FileExistsError, match='full'):
        make_toy_vid(str(tmp_path / 'full'), 1, 1, 4)
    with pytest.raises(ValueError, match='frames'):
        make_toy_vid(str(tmp_path / 'new'), 1, 1, 1)
    with pytest.raises(ValueError, match='size'):
        make_toy_vid(str(tmp_path / 'new'), 1, 1, 4, size=(60, 40))
    assert not osp.exists(tmp_path / 'new')
    assert os.listdir(tmp_path) == ['full']  # no temporary folder left
