"""A user's own data: json in mmtracking's layout, through the toy pipelines.

The VID json has exactly the fields of mmtracking's
``tools/dataset_converters/ilsvrc/imagenet2coco_vid.py`` (videos with
``vid_train_frames``; annotations with ``iscrowd``, ``occluded``,
``generated``) plus the optional annotation fields other CocoVID writers
add (``ignore``, ``visibility``, ``truncated``). The DET json has the
fields of its ``imagenet2coco_det.py``: no video or frame ids, no instance
ids, and a 31st category ``other_categeries``. Labels come from the toy
config's ``metainfo.classes``, matched by name. Every expected value below
is read from the json, not from the dataset.
"""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmdet.registry import DATASETS
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from tsm_mm.datasets import VID_CLASSES, VID_SYNSETS, clip_frame_indices

TOY_CONFIG = osp.join(osp.dirname(__file__), '../../configs/toy/'
                      'vid_faster_rcnn_2d_toy.py')
SIZE = (64, 48)  # (w, h); the toy pipeline resizes to 128x96: x2
FACTOR = 2.0
CAT = {name: i for i, name in enumerate(VID_CLASSES, 1)}  # mmtracking ids
VIDEOS = {1: ('train/ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000000',
              6),
          2: ('train/ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000001',
              3)}
# FGFA lists these key frames; mmtracking marks the frame before each
FGFA_KEYS = {1: [1, 4], 2: [2]}


def vid_annotations(video_id, frame_id):
    """The annotations of a frame, without ids, as mmtracking writes them
    (plus optional fields on some)."""
    def ann(name, instance_id, bbox, **extra):
        return dict(category_id=CAT[name], instance_id=instance_id,
                    bbox=bbox, area=bbox[2] * bbox[3], iscrowd=False,
                    occluded=False, generated=False, **extra)

    if video_id == 2:
        return [ann('tiger', 5, [10, 10, 12, 8], truncated=True)]
    anns = [ann('zebra', 1, [2 + 3 * frame_id, 3, 20, 15], visibility=0.9),
            ann('airplane', 3, [5, 30, 6, 6])]  # not a class of the config
    if frame_id % 2:
        anns.append(ann('horse', 2, [30, 20, 10, 10], visibility=0.4))
    if frame_id == 1:
        anns[-1]['iscrowd'] = True  # kept, flagged ignored
    if frame_id == 2:
        anns.append(ann('tiger', 4, [40, 5, 8, 8], ignore=True))  # left out
    return anns


def make_image(path, value):
    os.makedirs(osp.dirname(path), exist_ok=True)
    pixels = np.full((SIZE[1], SIZE[0], 3), value, np.uint8)
    assert cv2.imwrite(path, pixels)


def pixel_value(video_id, frame_id):
    return 20 + 60 * (video_id - 1) + 15 * frame_id


def categories(det=False):
    cats = [dict(id=i, name=name, encode_name=synset) for i, (name, synset)
            in enumerate(zip(VID_CLASSES, VID_SYNSETS), 1)]
    if det:
        cats.append(dict(id=31, name='other_categeries', encode_name=None))
    return cats


@pytest.fixture(scope='module')
def mmtracking_vid(tmp_path_factory):
    """``(data_root, vid_json, det_json)`` in mmtracking's layouts."""
    root = str(tmp_path_factory.mktemp('mmtracking') / 'ILSVRC')
    vid = dict(categories=categories(), videos=[], images=[], annotations=[])
    for video_id, (name, length) in VIDEOS.items():
        # mmtracking: vid_train_frames = listed frame - 1
        keys = [f - 1 for f in FGFA_KEYS[video_id]]
        vid['videos'].append(dict(id=video_id, name=name,
                                  vid_train_frames=keys))
        for f in range(length):
            image_id = len(vid['images']) + 1
            vid['images'].append(dict(
                file_name=f'{name}/{f:06d}.JPEG', height=SIZE[1],
                width=SIZE[0], id=image_id, frame_id=f, video_id=video_id,
                is_vid_train_frame=f in keys))
            make_image(osp.join(root, 'Data/VID', name, f'{f:06d}.JPEG'),
                       pixel_value(video_id, f))
            for a in vid_annotations(video_id, f):
                vid['annotations'].append(dict(
                    id=len(vid['annotations']) + 1, video_id=video_id,
                    image_id=image_id, **a))
    det = dict(categories=categories(det=True), images=[], annotations=[])
    for image_id, (flag, boxes) in enumerate([
            (True, [('horse', [4, 4, 30, 20]), ('other', [1, 1, 5, 5])]),
            (False, [('zebra', [10, 10, 20, 20])]),
            (True, [('tiger', [0, 0, 40, 30]), ('zebra', [30, 20, 30, 25])]),
    ], 1):
        name = f'train/ILSVRC2014_train_0000/ILSVRC2014_train_{image_id:08d}'
        det['images'].append(dict(file_name=f'{name}.JPEG', height=SIZE[1],
                                  width=SIZE[0], id=image_id,
                                  is_vid_train_frame=flag))
        make_image(osp.join(root, 'Data/DET', f'{name}.JPEG'),
                   200 + 10 * image_id)
        for label, bbox in boxes:
            det['annotations'].append(dict(
                id=len(det['annotations']) + 1, image_id=image_id,
                category_id=CAT.get(label, 31), bbox=bbox,
                area=bbox[2] * bbox[3], iscrowd=False))
    paths = []
    for name, content in (('imagenet_vid_train.json', vid),
                          ('imagenet_det_30plus1cls.json', det)):
        paths.append(osp.join(root, 'annotations', name))
        os.makedirs(osp.dirname(paths[-1]), exist_ok=True)
        with open(paths[-1], 'w') as f:
            json.dump(content, f)
    return root, paths[0], paths[1]


@pytest.fixture(scope='module')
def toy_cfg():
    return Config.fromfile(TOY_CONFIG)


@pytest.fixture(autouse=True)
def mmdet_scope():
    with DefaultScope.overwrite_default_scope('mmdet'):
        yield


def expected_rows(data, image_id, classes):
    """[(label, instance_id, xyxy, iscrowd)] straight from the json, in its
    order: classes of the config only, ``ignore`` boxes left out."""
    names = {c['id']: c['name'] for c in data['categories']}
    rows = []
    for a in data['annotations']:
        name = names[a['category_id']]
        if (a['image_id'] != image_id or name not in classes
                or a.get('ignore', False)):
            continue
        x, y, w, h = a['bbox']
        rows.append((classes.index(name), a.get('instance_id'),
                     [x, y, x + w, y + h], a['iscrowd']))
    return rows


def expected_gt(data, image_id, classes):
    """(kept, crowd) rows of an image, see :func:`expected_rows`."""
    rows = expected_rows(data, image_id, classes)
    return ([r for r in rows if not r[3]], [r for r in rows if r[3]])


def check_instances(instances, rows, scale, flip_width=None):
    boxes = np.array([r[2] for r in rows], np.float32).reshape(-1, 4) * scale
    if flip_width is not None:
        boxes[:, [0, 2]] = flip_width - boxes[:, [2, 0]]
    np.testing.assert_allclose(instances.bboxes.numpy(), boxes, atol=1e-4)
    assert instances.labels.tolist() == [r[0] for r in rows]


def load_json(path):
    with open(path) as f:
        return json.load(f)


def toy_train_set(toy_cfg, root, ann_file, clip_len, **kwargs):
    """The toy config's train dataset on ``ann_file``: FGFA's key frames
    (the json's flags), no filter."""
    cfg = toy_cfg.vid_train.copy()
    cfg.update(data_root=root, ann_file=ann_file, clip_len=clip_len,
               key_frames='fgfa', filter_cfg=None, **kwargs)
    return cfg


def test_vid_json_through_the_train_pipeline(mmtracking_vid, toy_cfg):
    root, vid_json, _ = mmtracking_vid
    data = load_json(vid_json)
    cfg = toy_train_set(toy_cfg, root, vid_json, clip_len=3)
    torch.manual_seed(0)
    np.random.seed(0)
    dataset = DATASETS.build(cfg)
    classes = cfg.metainfo['classes']
    # mmtracking's key frames: one before each FGFA key frame
    assert dataset.clip_index.tolist() == [[0, 0], [0, 3], [1, 1]]
    image_ids = {(i['video_id'], i['frame_id']): i['id']
                 for i in data['images']}
    seen_crowd = 0
    for idx, (video_idx, key) in enumerate(dataset.clip_index.tolist()):
        video_id = video_idx + 1
        frames, _ = clip_frame_indices(VIDEOS[video_id][1], key, 3, 'end')
        item = dataset[idx]
        assert item['inputs'].shape == (3, 3, 96, 128)
        for t, (frame, f) in enumerate(zip(
                item['data_samples'].video_data_samples, frames)):
            assert (frame.video_id, frame.frame_id) == (video_id, f)
            assert abs(item['inputs'][t].float().mean() -
                       pixel_value(video_id, f)) < 2
            kept, crowd = expected_gt(data, image_ids[(video_id, f)],
                                      classes)
            flip = frame.flip and frame.img_shape[1]
            check_instances(frame.gt_instances, kept, FACTOR, flip or None)
            assert frame.gt_instances.instances_ids.tolist() == [
                r[1] for r in kept]
            check_instances(frame.ignored_instances, crowd, FACTOR,
                            flip or None)
            seen_crowd += len(crowd)
    assert seen_crowd == 2  # the crowd horse of frame 1, in two clips


def test_vid_json_through_the_test_pipeline(mmtracking_vid, toy_cfg):
    root, vid_json, _ = mmtracking_vid
    data = load_json(vid_json)
    cfg = toy_cfg.test_dataloader.dataset.copy()
    cfg.update(data_root=root, ann_file=vid_json)
    loader = Runner.build_dataloader(dict(
        batch_size=1, num_workers=0, sampler=dict(type='TrackImgSampler'),
        dataset=cfg))
    classes = cfg.metainfo['classes']
    image_ids = {(i['video_id'], i['frame_id']): i['id']
                 for i in data['images']}
    seen = []
    for batch in loader:
        frame = batch['data_samples'][0][0]
        key = (frame.video_id, frame.frame_id)
        seen.append(key)
        assert abs(batch['inputs'][0].float().mean() -
                   pixel_value(*key)) < 2
        kept, crowd = expected_gt(data, image_ids[key], classes)
        # boxes are loaded after Resize: the json's pixels
        check_instances(frame.gt_instances, kept, 1.0)
        check_instances(frame.ignored_instances, crowd, 1.0)
        # the raw instances the VID metric scores against
        rows = expected_rows(data, image_ids[key], classes)
        assert [(i['bbox_label'], i['instance_id'], i['bbox'],
                 i['ignore_flag']) for i in frame.instances] == [
                     (label, inst, box, int(crowd))
                     for label, inst, box, crowd in rows]
        assert frame.ori_video_length == VIDEOS[frame.video_id][1]
    assert seen == [(v, f) for v, (_, n) in VIDEOS.items() for f in range(n)]


def test_det_json_through_the_train_pipeline(mmtracking_vid, toy_cfg):
    root, _, det_json = mmtracking_vid
    data = load_json(det_json)
    cfg = toy_train_set(toy_cfg, root, det_json, clip_len=2,
                        data_prefix=dict(img_path='Data/DET/'))
    dataset = DATASETS.build(cfg)
    classes = cfg.metainfo['classes']
    # still images are one-frame videos; is_vid_train_frame=False is no key
    assert dataset.num_videos == 3
    assert dataset.clip_index.tolist() == [[0, 0], [2, 0]]
    for idx, image_id in enumerate((1, 3)):
        item = dataset[idx]
        frames = item['data_samples'].video_data_samples
        assert [f.img_id for f in frames] == [image_id] * 2
        assert (item['inputs'][0] == item['inputs'][1]).all()
        kept, _ = expected_gt(data, image_id, classes)
        for frame in frames:
            flip = frame.flip and frame.img_shape[1]
            check_instances(frame.gt_instances, kept, FACTOR, flip or None)
            ids = frame.gt_instances.instances_ids.tolist()
            assert len(set(ids)) == len(ids) == len(kept)
