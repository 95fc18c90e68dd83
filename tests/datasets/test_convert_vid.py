"""ILSVRC2015 -> CocoVID conversion on the toy set, and on broken copies."""
import copy
import errno
import json
import logging
import os
import os.path as osp
import re
import runpy
import shutil
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict

import pytest

from tsm_mm.datasets import conversion_stamp, convert_vid
from tsm_mm.datasets.cocovid_builder import fit_box
from tsm_mm.datasets.convert_vid import convert_imagenet_vid
from tsm_mm.datasets.vid_classes import VID_CLASSES, VID_SYNSETS

TRAIN0 = 'train/ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000000'
VAL1 = 'val/ILSVRC2015_val_00000001'
DET1 = 'train/ILSVRC2014_train_0000/ILSVRC2014_train_00000001'


def load(ann_dir, split):
    name = dict(train='imagenet_vid_train.json', val='imagenet_vid_val.json',
                det='imagenet_det_train.json')[split]
    with open(osp.join(ann_dir, name)) as f:
        return json.load(f)


@pytest.fixture
def broken_root(toy_vid_root, tmp_path):
    """A private copy of the toy set to break."""
    root = str(tmp_path / 'ILSVRC2015')
    shutil.copytree(toy_vid_root, root)
    return root


@pytest.mark.parametrize('split', ['train', 'val', 'det'])
def test_counts_equal_generated(toy_vid, toy_vid_ann_dir, split):
    _, stats = toy_vid
    coco = load(toy_vid_ann_dir, split)
    assert len(coco['videos']) == stats[split]['videos']
    assert len(coco['images']) == stats[split]['frames']
    assert len(coco['annotations']) == stats[split]['boxes']
    instance_ids = [a['instance_id'] for a in coco['annotations']]
    assert sorted(set(instance_ids)) == list(
        range(1, stats[split]['instances'] + 1))
    for key in ('videos', 'images', 'annotations'):  # ids 1..n
        assert [x['id'] for x in coco[key]] == list(
            range(1, len(coco[key]) + 1))
    assert coco['categories'] == [
        dict(id=i, name=n, encode_name=s)
        for i, (n, s) in enumerate(zip(VID_CLASSES, VID_SYNSETS), 1)
    ]
    # every instance stays in one video and one category
    seen = {}
    for a in coco['annotations']:
        key = (a['video_id'], a['category_id'])
        assert seen.setdefault(a['instance_id'], key) == key
    images = {i['id']: i for i in coco['images']}
    for a in coco['annotations']:
        assert images[a['image_id']]['video_id'] == a['video_id']


def test_video_frames(toy_vid_root, toy_vid_ann_dir):
    coco = load(toy_vid_ann_dir, 'val')
    assert [v['name'] for v in coco['videos']] == [
        'val/ILSVRC2015_val_00000000', VAL1
    ]
    frames = [(i['video_id'], i['frame_id']) for i in coco['images']]
    assert frames == [(v, f) for v in (1, 2) for f in range(8)]
    image = coco['images'][8 + 5]
    assert image['file_name'] == f'{VAL1}/000005.JPEG'
    assert (image['width'], image['height']) == (160, 120)
    assert osp.isfile(osp.join(toy_vid_root, 'Data/VID', image['file_name']))
    assert not any(i['is_vid_train_frame'] for i in coco['images'])


def test_key_frames_as_listed(toy_vid_ann_dir, broken_root, tmp_path):
    # The fixture's 8-frame videos make every frame a key frame ...
    coco = load(toy_vid_ann_dir, 'train')
    assert all(i['is_vid_train_frame'] for i in coco['images'])
    # ... so list a few, 0-based, and expect exactly those (mmtracking's
    # converter would mark 0, 3, 5 here).
    lines = ''.join(f'{TRAIN0} 1 {f} 8\n' for f in (1, 4, 6))
    with open(osp.join(broken_root, 'ImageSets/VID_train_15frames.txt'),
              'w') as f:
        f.write(lines)
    paths = convert_imagenet_vid(broken_root, str(tmp_path / 'out'),
                                 splits=['train'])
    assert list(paths) == ['train']
    coco = load(str(tmp_path / 'out'), 'train')
    assert len(coco['videos']) == 1 and len(coco['images']) == 8
    assert [i['frame_id'] for i in coco['images']
            if i['is_vid_train_frame']] == [1, 4, 6]


def test_bbox_equals_xml(toy_vid_root, toy_vid_ann_dir):
    """Frame 3, track 1 of the first train video, read by regex."""
    with open(osp.join(toy_vid_root, 'Annotations/VID', TRAIN0,
                       '000003.xml')) as f:
        text = f.read()
    objects = re.findall(r'<object>(.*?)</object>', text, re.S)
    assert len(objects) >= 2
    field = {k: re.search(f'<{k}>(.*?)</{k}>', objects[1]).group(1)
             for k in ('trackid', 'name', 'xmin', 'ymin', 'xmax', 'ymax',
                       'occluded')}
    assert field['trackid'] == '1'
    x0, y0, x1, y1 = (int(field[k]) for k in ('xmin', 'ymin', 'xmax',
                                              'ymax'))
    coco = load(toy_vid_ann_dir, 'train')
    image = next(i for i in coco['images']
                 if i['file_name'] == f'{TRAIN0}/000003.JPEG')
    anns = [a for a in coco['annotations'] if a['image_id'] == image['id']]
    assert len(anns) == len(objects)
    ann = anns[1]
    assert ann['bbox'] == [x0, y0, x1 - x0, y1 - y0]
    assert ann['area'] == (x1 - x0) * (y1 - y0)
    assert ann['category_id'] == VID_SYNSETS.index(field['name']) + 1
    assert ann['occluded'] == (field['occluded'] == '1')
    assert ann['generated'] is False and ann['iscrowd'] is False
    assert ann['video_id'] == image['video_id'] == 1
    # objects come in trackid order: each track keeps one instance id
    per_frame = defaultdict(list)
    for a in coco['annotations']:
        if a['video_id'] == 1:
            per_frame[a['image_id']].append(a['instance_id'])
    assert len(per_frame) == 8
    assert all(v == per_frame[image['id']] for v in per_frame.values())
    assert len(set(per_frame[image['id']])) == len(objects)


def test_det_images_are_one_frame_videos(toy_vid, toy_vid_ann_dir):
    _, stats = toy_vid
    coco = load(toy_vid_ann_dir, 'det')
    assert stats['det']['other_boxes'] == 1  # a 'person', left out
    assert [v['name'] for v in coco['videos']][1] == DET1
    for image, video in zip(coco['images'], coco['videos']):
        assert image['video_id'] == video['id']
        assert image['frame_id'] == 0 and image['is_vid_train_frame']
        assert image['file_name'] == video['name'] + '.JPEG'
    ids = [a['instance_id'] for a in coco['annotations']]
    assert ids == list(range(1, len(ids) + 1))  # a fresh one per box
    categories = {a['category_id'] for a in coco['annotations']}
    assert categories <= {VID_CLASSES.index(n) + 1
                          for n in ('zebra', 'horse', 'tiger')}


def _truncate_xml(root):
    path = osp.join(root, 'Annotations/DET', DET1 + '.xml')
    with open(path) as f:
        text = f.read()
    with open(path, 'w') as f:
        f.write(text[:len(text) // 2])
    return path, ValueError, 'corrupt XML'


def _missing_jpeg(root):
    path = osp.join(root, 'Data/VID', VAL1, '000007.JPEG')
    os.remove(path)
    return path, FileNotFoundError, 'missing'


def _missing_middle_jpeg(root):
    path = osp.join(root, 'Data/VID', TRAIN0, '000004.JPEG')
    os.remove(path)
    return path, ValueError, 'gap'


def _unknown_synset(root):
    path = osp.join(root, 'Annotations/VID', VAL1, '000002.xml')
    with open(path) as f:
        text = f.read()
    with open(path, 'w') as f:
        f.write(re.sub(r'<name>n\d+</name>', '<name>n09999999</name>', text,
                       count=1))
    return path, ValueError, "unknown synset 'n09999999'"


def _frame_gap(root):
    for kind, ext in (('Data', 'JPEG'), ('Annotations', 'xml')):
        folder = osp.join(root, kind, 'VID', VAL1)
        os.rename(osp.join(folder, f'000003.{ext}'),
                  osp.join(folder, f'000009.{ext}'))
    return osp.join(root, 'Data/VID', VAL1, '000003.JPEG'), ValueError, 'gap'


def _empty_video(root):
    for kind in ('Data', 'Annotations'):
        folder = osp.join(root, kind, 'VID', VAL1)
        shutil.rmtree(folder)
        os.makedirs(folder)
    return osp.join(root, 'Data/VID', VAL1), ValueError, 'empty video'


def _missing_list(root):
    os.remove(osp.join(root, 'ImageSets/DET_train_30classes.txt'))
    return 'DET_train_30classes.txt', FileNotFoundError, 'ImageSets'


@pytest.mark.parametrize('breaker', [
    _truncate_xml, _missing_jpeg, _missing_middle_jpeg, _unknown_synset,
    _frame_gap, _empty_video, _missing_list
])
def test_broken_input_names_the_file(broken_root, tmp_path, breaker):
    culprit, error, words = breaker(broken_root)
    out_dir = tmp_path / 'out'
    out_dir.mkdir()
    with pytest.raises(error) as info:
        convert_imagenet_vid(broken_root, str(out_dir))
    assert culprit in str(info.value) and words in str(info.value)
    assert os.listdir(out_dir) == []  # not even the splits parsed before


def test_lists_dir_and_cli(broken_root, tmp_path, monkeypatch):
    """mmtracking keeps FGFA's lists in Lists/; the tool finds them."""
    os.makedirs(osp.join(broken_root, 'Lists'))
    for name in ('VID_train_15frames.txt', 'VID_val_videos.txt',
                 'DET_train_30classes.txt'):
        os.rename(osp.join(broken_root, 'ImageSets', name),
                  osp.join(broken_root, 'Lists', name))
    monkeypatch.setattr(sys, 'argv', [
        'convert_imagenet_vid.py', '--root', broken_root, '--out',
        str(tmp_path / 'ann'), '--splits', 'val', 'det'
    ])
    runpy.run_path(
        osp.join(osp.dirname(__file__), '../../tools/convert_imagenet_vid.py'),
        run_name='__main__')
    assert sorted(os.listdir(tmp_path / 'ann')) == [
        'conversion.json', 'imagenet_det_train.json', 'imagenet_vid_val.json'
    ]
    per_video = defaultdict(int)
    for image in load(str(tmp_path / 'ann'), 'val')['images']:
        per_video[image['video_id']] += 1
    assert dict(per_video) == {1: 8, 2: 8}


def _repeated_trackid(root):
    path = osp.join(root, 'Annotations/VID', VAL1, '000005.xml')
    tree = ET.parse(path)
    annotation = tree.getroot()
    annotation.append(copy.deepcopy(annotation.find('object')))
    tree.write(path)
    return path, ValueError, 'more than once'


def test_repeated_trackid_names_the_xml(broken_root, tmp_path):
    culprit, error, words = _repeated_trackid(broken_root)
    with pytest.raises(error, match=words) as info:
        convert_imagenet_vid(broken_root, str(tmp_path / 'out'))
    assert culprit in str(info.value)
    assert not osp.exists(tmp_path / 'out')


def set_box(path, index, box):
    """Rewrite the corners of the index-th object of an XML file."""
    tree = ET.parse(path)
    bndbox = tree.getroot().findall('object')[index].find('bndbox')
    for tag, value in zip(('xmin', 'ymin', 'xmax', 'ymax'), box):
        bndbox.find(tag).text = str(value)
    tree.write(path)


def test_boxes_are_clipped_or_dropped_with_one_warning(
        broken_root, toy_vid, tmp_path, monkeypatch):
    _, stats = toy_vid
    xml = {f: osp.join(broken_root, 'Annotations/VID', VAL1, f'{f:06d}.xml')
           for f in (2, 4, 6)}
    det_xml = osp.join(broken_root, 'Annotations/DET', DET1 + '.xml')
    set_box(xml[2], 0, (-5, 10, 170, 30))  # 160x120 image: clipped
    set_box(xml[4], 0, (50, 10, 40, 30))  # inverted: dropped
    set_box(xml[6], 0, (161, 10, 200, 30))  # wholly outside: dropped
    set_box(det_xml, 1, (20, 30, 40, 30))  # zero height: dropped
    # (object 0 of that image is a person, outside the 30 classes)
    warnings = []
    monkeypatch.setattr(
        convert_vid, 'print_log', lambda msg, logger=None, level=None:
        warnings.append(msg) if level == logging.WARNING else None)
    out = str(tmp_path / 'out')
    convert_imagenet_vid(broken_root, out)
    val, det = load(out, 'val'), load(out, 'det')
    assert len(val['annotations']) == stats['val']['boxes'] - 2
    assert len(det['annotations']) == stats['det']['boxes'] - 1
    image = next(i for i in val['images']
                 if i['file_name'] == f'{VAL1}/000002.JPEG')
    clipped = next(a for a in val['annotations']
                   if a['image_id'] == image['id'])
    assert clipped['bbox'] == [0, 10, 160, 20] and clipped['area'] == 3200
    # one warning per split with fixes: how many, and in which files
    assert len(warnings) == 2
    assert warnings[0].startswith('val: 1 boxes clipped')
    assert '2 inverted, zero-area or outside boxes dropped, in 3 files: ' \
        f'{xml[2]}, {xml[4]}, {xml[6]}' in warnings[0]
    assert warnings[1].startswith('det: 0 boxes clipped')
    assert f'1 inverted, zero-area or outside boxes dropped, in 1 files: ' \
        f'{det_xml}' in warnings[1]


def test_fit_box_hand_computed():
    assert fit_box((3, 4, 10, 8), 20, 10) == [3, 4, 10, 8]
    assert fit_box((-3, -4, 25, 18), 20, 10) == [0, 0, 20, 10]
    assert fit_box((5, 4, 5, 8), 20, 10) is None  # zero width
    assert fit_box((6, 4, 5, 8), 20, 10) is None  # inverted
    assert fit_box((20, 4, 30, 8), 20, 10) is None  # right of the image


@pytest.mark.parametrize('blocker', ['disk_full', 'folder_in_the_way'])
def test_splits_are_replaced_all_or_none(toy_vid_root, tmp_path,
                                         monkeypatch, blocker):
    """A failing third write leaves every previous json as it was."""
    out = tmp_path / 'out'
    out.mkdir()
    names = ['imagenet_vid_train.json', 'imagenet_vid_val.json',
             'imagenet_det_train.json']
    for name in names[:2]:
        (out / name).write_text(f'{{"old": "{name}"}}')
    third = out / names[2]
    if blocker == 'disk_full':
        third.write_text('{"old": "det"}')
        real_dump = conversion_stamp.dump

        def dump(content, file, file_format):
            if osp.basename(file.name) == names[2]:
                file.write('{"partial')
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real_dump(content, file, file_format=file_format)

        monkeypatch.setattr(conversion_stamp, 'dump', dump)
        error = OSError
    else:
        third.mkdir()
        error = IsADirectoryError
    with pytest.raises(error) as info:
        convert_imagenet_vid(toy_vid_root, str(out))
    assert str(third) in str(info.value)
    assert sorted(os.listdir(out)) == sorted(names)  # no temporary file
    for name in names[:2]:
        assert (out / name).read_text() == f'{{"old": "{name}"}}'
    if blocker == 'disk_full':
        assert third.read_text() == '{"old": "det"}'
        assert info.value.errno == errno.ENOSPC


@pytest.mark.parametrize('mmtracking, expected', [
    (False, [0, 1, 4, 6]),  # FGFA's 0-based indices, as listed
    (True, [0, 3, 5]),  # mmtracking's: one earlier, listed 0 is lost
])
def test_mmtracking_key_frames(broken_root, tmp_path, monkeypatch,
                               mmtracking, expected):
    lines = ''.join(f'{TRAIN0} 1 {f} 8\n' for f in (0, 1, 4, 6))
    with open(osp.join(broken_root, 'ImageSets/VID_train_15frames.txt'),
              'w') as f:
        f.write(lines)
    out = str(tmp_path / 'out')
    monkeypatch.setattr(sys, 'argv', [
        'convert_imagenet_vid.py', '--root', broken_root, '--out', out,
        '--splits', 'train'
    ] + ['--mmtracking-key-frames'] * mmtracking)
    runpy.run_path(
        osp.join(osp.dirname(__file__), '../../tools/convert_imagenet_vid.py'),
        run_name='__main__')
    coco = load(out, 'train')
    assert [i['frame_id'] for i in coco['images']
            if i['is_vid_train_frame']] == expected
