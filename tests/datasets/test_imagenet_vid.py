"""ImageNetVIDDataset and the interleaved batch sampler on hand-made data.

The fixture: video ``a`` (8 frames, 40x30, key frames 0, 3, 5, 7), video
``b`` (3 frames, 40x20, key frames 1, 2) and one still image (32x24, no
video_id), written in shuffled json order. Each frame is a flat colour whose
green value encodes its frame index, so the pixels tell which frame arrived.
The pipelines are those of the toy config, resized to ``SCALE``.
"""
import functools
import json
import os
import os.path as osp
import re
import shutil

import cv2
import numpy as np
import pytest
import torch
from interleaving import check_interleaved
from mmdet.datasets.samplers import track_img_sampler
from mmdet.datasets.samplers.track_img_sampler import TrackImgSampler
from mmdet.registry import DATASETS
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from tsm_mm.datasets import (
    VID_CLASSES,
    VID_SYNSETS,
    ImageNetVIDDataset,
    VideoInterleavedBatchSampler,
    clip_frame_indices,
)

TOY_CONFIG = osp.join(osp.dirname(__file__), '../../configs/toy/'
                      'vid_faster_rcnn_2d_toy.py')
CLASSES = ('horse', 'tiger', 'zebra')
SCALE = (80, 60)
# video name -> (video_id, frames, (w, h), key frames, blue value)
VIDEOS = {
    'a': (1, 8, (40, 30), {0, 3, 5, 7}, 50),
    'b': (2, 3, (40, 20), {1, 2}, 150),
}
STILL = dict(id=99, file_name='det/x.JPEG', width=32, height=24)
# resize factor of each video under Resize(scale=SCALE, keep_ratio=True):
# min(80 / long side, 60 / short side)
FACTOR = {'a': 2.0, 'b': 2.0, 'det': 2.5}


def green(frame_id):
    return 20 * frame_id + 10


def frame_boxes(video, frame_id):
    """[(category name, instance_id, [x, y, w, h])] of a frame."""
    if video == 'a':
        boxes = [] if frame_id == 6 else [('horse', 1, [2 + frame_id, 3, 10,
                                                        8])]
        if 1 <= frame_id <= 3:
            boxes.append(('zebra', 2, [20, 10 + frame_id, 6, 5]))
        if frame_id == 6:  # a class outside CLASSES only
            boxes.append(('airplane', 3, [5, 5, 5, 5]))
        return boxes
    if video == 'b':
        return [('tiger', 1, [4 + 2 * frame_id, 2, 12, 10])]
    return [('zebra', 1, [3, 4, 10, 9])]


def make_vid(root):
    """Write the images and CocoVID json; return the json path."""
    categories = [  # as the converter writes them: devkit ids
        dict(id=i + 1, name=name, encode_name=synset)
        for i, (name, synset) in enumerate(zip(VID_CLASSES, VID_SYNSETS))
    ]
    cat_id = {c['name']: c['id'] for c in categories}
    images, annotations = [], []

    def add(image, video, frame_id, blue):
        w, h = image['width'], image['height']
        path = osp.join(root, 'Data', image['file_name'])
        pixels = np.empty((h, w, 3), np.uint8)
        pixels[:] = (blue, green(frame_id), 128)
        os.makedirs(osp.dirname(path), exist_ok=True)
        assert cv2.imwrite(path, pixels)
        images.append(image)
        for name, inst, bbox in frame_boxes(video, frame_id):
            annotations.append(
                dict(id=len(annotations) + 1, image_id=image['id'],
                     video_id=image.get('video_id', -1),
                     category_id=cat_id[name], instance_id=inst, bbox=bbox,
                     area=bbox[2] * bbox[3], iscrowd=False, occluded=False,
                     generated=False))

    for name, (vid, num, (w, h), keys, blue) in VIDEOS.items():
        for f in range(num):
            add(dict(id=10 * vid + f, video_id=vid, frame_id=f,
                     file_name=f'{name}/{f:06d}.JPEG', width=w, height=h,
                     is_vid_train_frame=f in keys), name, f, blue)
    add(dict(STILL), 'det', 0, 250)
    images.reverse()  # frame order must come from frame_id, not json order
    ann_file = osp.join(root, 'vid.json')
    with open(ann_file, 'w') as f:
        json.dump(dict(categories=categories,
                       videos=[dict(id=v[0], name=k)
                               for k, v in VIDEOS.items()],
                       images=images, annotations=annotations), f)
    return ann_file


@functools.cache
def toy_config():
    return Config.fromfile(TOY_CONFIG)


def at_scale(pipeline):
    """A copy of a config's pipeline whose every Resize resizes to SCALE."""

    def copy(transform):
        transform = dict(transform)
        if 'transforms' in transform:
            transform['transforms'] = [copy(t)
                                       for t in transform['transforms']]
        if transform['type'] == 'Resize':
            transform['scale'] = SCALE
        return transform

    return [copy(t) for t in pipeline]


def make_train_pipeline():
    """The toy config's training pipeline (shared random flip), at SCALE."""
    return at_scale(toy_config().train_pipeline)


def make_test_pipeline():
    """The toy config's test pipeline, at SCALE."""
    return at_scale(toy_config().test_pipeline)


@pytest.fixture(autouse=True)
def mmdet_scope():
    with DefaultScope.overwrite_default_scope('mmdet'):
        yield


@pytest.fixture(scope='module')
def ann_file(tmp_path_factory):
    return make_vid(str(tmp_path_factory.mktemp('vid')))


def build(ann_file, **kwargs):
    cfg = dict(type='ImageNetVIDDataset', ann_file=ann_file,
               data_prefix=dict(img_path=osp.join(osp.dirname(ann_file),
                                                  'Data')),
               metainfo=dict(classes=CLASSES), pipeline=make_train_pipeline())
    cfg.update(kwargs)
    return DATASETS.build(cfg)


def video_of(img_id):
    return 'det' if img_id == STILL['id'] else ('a' if img_id < 20 else 'b')


def expected_gt(video, frame_id, factor, flip, width, classes=CLASSES):
    """Boxes (xyxy, resized, flipped) and labels straight from the json."""
    boxes, labels, insts = [], [], []
    for name, inst, (x, y, w, h) in frame_boxes(video, frame_id):
        if name not in classes:
            continue
        x1, y1, x2, y2 = (np.array([x, y, x + w, y + h]) * factor).tolist()
        if flip:
            x1, x2 = width - x2, width - x1
        boxes.append([x1, y1, x2, y2])
        labels.append(classes.index(name))
        insts.append(inst)
    return (np.array(boxes, np.float32).reshape(-1, 4), labels, insts)


# ----------------------------------------------------------- clip placement
@pytest.mark.parametrize(
    'length, key, clip_len, anchor, frames, key_pos',
    [
        (10, 5, 4, 'center', [3, 4, 5, 6], 2),
        (10, 0, 4, 'center', [0, 1, 2, 3], 0),  # clamped at the start
        (10, 9, 4, 'center', [6, 7, 8, 9], 3),  # clamped at the end
        (10, 9, 5, 'center', [5, 6, 7, 8, 9], 4),
        (10, 5, 4, 'end', [2, 3, 4, 5], 3),
        (10, 1, 4, 'end', [0, 1, 2, 3], 1),  # clamped at the start
        (4, 2, 1, 'center', [2], 0),
        (3, 0, 5, 'center', [0, 0, 0, 1, 2], 2),  # short video: repeats
        (3, 2, 5, 'end', [0, 0, 0, 1, 2], 4),
        (3, 0, 5, 'end', [0, 0, 0, 1, 2], 2),
        (2, 1, 5, 'center', [0, 0, 1, 1, 1], 2),
        (1, 0, 3, 'center', [0, 0, 0], 1),  # a still image
    ])
def test_clip_frame_indices_hand_computed(length, key, clip_len, anchor,
                                          frames, key_pos):
    assert clip_frame_indices(length, key, clip_len, anchor) == (frames,
                                                                 key_pos)


@pytest.mark.parametrize('anchor', ['center', 'end'])
def test_clip_frame_indices_properties(anchor):
    for length in range(1, 8):
        for clip_len in range(1, 7):
            anchor_pos = clip_len // 2 if anchor == 'center' else clip_len - 1
            for key in range(length):
                frames, key_pos = clip_frame_indices(length, key, clip_len,
                                                     anchor)
                steps = np.diff(frames)
                assert len(frames) == clip_len and frames[key_pos] == key
                assert set(steps.tolist()) <= {0, 1}  # consecutive, in order
                assert 0 <= frames[0] and frames[-1] < length
                if length >= clip_len:  # inside the video, key on its anchor
                    assert (steps == 1).all()  # unless it had to move
                    assert key_pos == anchor_pos or frames[0] == 0 or \
                        frames[-1] == length - 1
                else:  # the whole video, ends repeated
                    assert sorted(set(frames)) == list(range(length))


def test_clip_frame_indices_bad_args():
    with pytest.raises(ValueError, match='clip_len'):
        clip_frame_indices(5, 0, 0)
    with pytest.raises(ValueError, match='anchor'):
        clip_frame_indices(5, 0, 2, 'left')
    with pytest.raises(ValueError, match='key_frame 5'):
        clip_frame_indices(5, 5, 2)


# ----------------------------------------------------------------- training
# hand-computed (video, frames, key position) of each fgfa clip with T = 4
CLIPS = {
    'center': [('a', [0, 1, 2, 3], 0), ('a', [1, 2, 3, 4], 2),
               ('a', [3, 4, 5, 6], 2), ('a', [4, 5, 6, 7], 3),
               ('b', [0, 0, 1, 2], 2), ('b', [0, 1, 2, 2], 2),
               ('det', [0, 0, 0, 0], 2)],
    'end': [('a', [0, 1, 2, 3], 0), ('a', [0, 1, 2, 3], 3),
            ('a', [2, 3, 4, 5], 3), ('a', [4, 5, 6, 7], 3),
            ('b', [0, 0, 1, 2], 2), ('b', [0, 0, 1, 2], 3),
            ('det', [0, 0, 0, 0], 3)],
}


@pytest.mark.parametrize('anchor', ['center', 'end'])
def test_train_clips_through_pipeline(ann_file, anchor):
    torch.manual_seed(0)
    np.random.seed(0)
    dataset = build(ann_file, clip_len=4, clip_anchor=anchor)
    assert len(dataset) == len(CLIPS[anchor]) == 7
    flips = set()
    for idx, (video, frames, key_pos) in enumerate(CLIPS[anchor]):
        item = dataset[idx]
        inputs, sample = item['inputs'], item['data_samples']
        factor = FACTOR[video]
        assert inputs.dtype == torch.uint8 and inputs.shape[:2] == (4, 3)
        assert len(sample) == 4 and sample.key_frames_inds == [key_pos]
        metas = [frame.metainfo for frame in sample.video_data_samples]
        assert {video_of(m['img_id']) for m in metas} == {video}
        assert len({m['video_id'] for m in metas}) == 1
        assert [m['frame_id'] for m in metas] == frames
        assert len({m['flip'] for m in metas}) == 1  # shared across the clip
        flips.add(metas[0]['flip'])
        for t, (frame, meta) in enumerate(zip(sample.video_data_samples,
                                              metas)):
            # the pixels are those of that frame: BGR, green = frame code
            blue = 250 if video == 'det' else VIDEOS[video][4]
            assert abs(inputs[t, 0].float().mean() - blue) < 2
            assert abs(inputs[t, 1].float().mean() - green(frames[t])) < 2
            h, w = meta['ori_shape']
            assert meta['img_shape'] == (round(h * factor), round(w * factor))
            np.testing.assert_allclose(meta['scale_factor'], (factor, factor))
            assert meta['video_length'] == 4
            assert meta['ori_video_length'] == (
                1 if video == 'det' else VIDEOS[video][1])
            boxes, labels, insts = expected_gt(video, frames[t], factor,
                                               meta['flip'],
                                               meta['img_shape'][1])
            gt = frame.gt_instances
            np.testing.assert_allclose(gt.bboxes.numpy(), boxes, atol=1e-4)
            assert gt.labels.tolist() == labels
            assert gt.instances_ids.tolist() == insts
    assert flips == {True, False}  # RandomFlip ran (seeded)


def test_still_image_gives_identical_frames(ann_file):
    dataset = build(ann_file, clip_len=3)
    item = dataset[len(dataset) - 1]
    inputs = item['inputs']
    metas = [f.metainfo for f in item['data_samples'].video_data_samples]
    assert {m['img_id'] for m in metas} == {STILL['id']}
    assert all((inputs[t] == inputs[0]).all() for t in range(3))
    assert metas[0]['video_id'] == 3  # after the largest real video id


def test_explicit_video_and_key_frame_index(ann_file):
    dataset = build(ann_file, clip_len=3, clip_anchor='end')
    item = dataset[(0, 6)]  # video a, key frame 6 (not an fgfa key frame)
    metas = [f.metainfo for f in item['data_samples'].video_data_samples]
    assert [m['frame_id'] for m in metas] == [4, 5, 6]
    assert dataset.get_cat_ids((0, 6)) == [0, 0]  # horse at 4, 5; none at 6


@pytest.mark.parametrize('key_frames, filter_cfg, clips', [
    ('fgfa', None, [(0, 0), (0, 3), (0, 5), (0, 7), (1, 1), (1, 2), (2, 0)]),
    ('all', None, [(0, f) for f in range(8)] + [(1, 0), (1, 1), (1, 2),
                                                (2, 0)]),
    # frame 6 of video a has only an airplane: no GT of CLASSES
    ('all', dict(filter_empty_gt=True), [(0, f) for f in (0, 1, 2, 3, 4, 5, 7)]
     + [(1, 0), (1, 1), (1, 2), (2, 0)]),
    # min side 24 drops video b (40x20), keeps a (40x30) and the still image
    ('fgfa', dict(min_size=24), [(0, 0), (0, 3), (0, 5), (0, 7), (2, 0)]),
])
def test_key_frames_and_filter(ann_file, key_frames, filter_cfg, clips):
    dataset = build(ann_file, clip_len=5, key_frames=key_frames,
                    filter_cfg=filter_cfg)
    assert dataset.clip_index.tolist() == [list(c) for c in clips]
    assert len(dataset) == len(clips)
    assert dataset.num_videos == 3 and dataset.num_all_imgs == 12
    # filtering never removes frames inside clips
    assert [dataset.get_len_per_video(v) for v in range(3)] == [8, 3, 1]


def test_labels_follow_metainfo_order_not_json_order(ann_file):
    classes = ('zebra', 'horse')  # json order is horse (15), zebra (30)
    dataset = build(ann_file, clip_len=1, metainfo=dict(classes=classes),
                    key_frames='all')
    sample = dataset[(0, 2)]['data_samples'][0]
    boxes, labels, _ = expected_gt('a', 2, 2.0, sample.flip,
                                   sample.img_shape[1], classes)
    assert sample.gt_instances.labels.tolist() == labels == [1, 0]
    np.testing.assert_allclose(sample.gt_instances.bboxes.numpy(), boxes)


def test_default_classes_are_the_30_vid_classes(ann_file):
    assert ImageNetVIDDataset.METAINFO['classes'] == VID_CLASSES
    dataset = build(ann_file, metainfo=None)
    assert dataset.metainfo['classes'] == VID_CLASSES
    # airplane (id 1) is a class now: frame 6 of video a has a box
    assert dataset.get_cat_ids((0, 6)) == [0]


# --------------------------------------------------------------------- test
def make_test_loader(dataset, **cfg):
    return Runner.build_dataloader(
        dict(num_workers=0, sampler=dict(type='TrackImgSampler'),
             dataset=dataset, **cfg))


def test_test_order_covers_every_frame_once(ann_file):
    dataset = build(ann_file, test_mode=True, pipeline=make_test_pipeline())
    assert len(dataset) == 3
    seen = []
    for batch in make_test_loader(dataset, batch_size=1):
        assert batch['inputs'][0].shape[0] == 1
        sample = batch['data_samples'][0]
        assert len(sample) == 1
        meta = sample[0].metainfo
        video = video_of(meta['img_id'])
        length = 1 if video == 'det' else VIDEOS[video][1]
        seen.append((meta['video_id'], meta['frame_id']))
        assert meta['ori_video_length'] == length
        assert meta['video_length'] == 1
        # raw GT for the metric: json boxes in xyxy, unscaled
        boxes, labels, insts = expected_gt(video, meta['frame_id'], 1.0,
                                           False, None)
        raw = meta['instances']
        np.testing.assert_allclose(
            np.array([i['bbox'] for i in raw], np.float32).reshape(-1, 4),
            boxes)
        assert [i['bbox_label'] for i in raw] == labels
        assert [i['instance_id'] for i in raw] == insts
        assert [i['ignore_flag'] for i in raw] == [0] * len(insts)
    expected = [(1, f) for f in range(8)] + [(2, f) for f in range(3)] + \
        [(3, 0)]
    assert seen == expected  # videos contiguous, frames ascending, once


# ------------------------------------------------------ interleaved sampler
def test_interleaved_batches_through_runner(ann_file):
    dataset = build(ann_file, test_mode=True, pipeline=make_test_pipeline())
    loader = make_test_loader(dataset, batch_size=2,
                         batch_sampler=dict(
                             type='VideoInterleavedBatchSampler'))
    batches = []
    for batch in loader:
        assert len(batch['inputs']) == len(batch['data_samples'])
        batches.append([(s[0].video_id, s[0].frame_id)
                        for s in batch['data_samples']])
    check_interleaved(batches, {1: 8, 2: 3, 3: 1}, 2)
    assert batches[:2] == [[(1, 0), (2, 0)], [(1, 1), (2, 1)]]


def test_interleaved_batches_two_ranks(ann_file, monkeypatch):
    dataset = build(ann_file, test_mode=True, pipeline=make_test_pipeline())
    per_rank = []
    for rank in (0, 1):
        # TrackImgSampler reads its rank from get_dist_info
        monkeypatch.setattr(track_img_sampler, 'get_dist_info',
                            lambda rank=rank: (rank, 2))
        sampler = TrackImgSampler(dataset, seed=0)
        batches = list(VideoInterleavedBatchSampler(sampler, batch_size=2))
        per_rank.append({i for b in batches for i in b})
        lengths = {}
        for v, _ in per_rank[-1]:
            lengths[v] = lengths.get(v, 0) + 1
        check_interleaved(batches, lengths, 2)
    assert not per_rank[0] & per_rank[1]
    assert per_rank[0] | per_rank[1] == {(v, f) for v, n in enumerate(
        [8, 3, 1]) for f in range(n)}


# ---------------------------------------------------------------- bad input
def test_missing_ann_file(tmp_path):
    missing = str(tmp_path / 'nope.json')
    with pytest.raises(FileNotFoundError, match='nope.json'):
        build(missing)


def test_missing_image_is_named(ann_file, tmp_path):
    dataset = build(ann_file, clip_len=2,
                    data_prefix=dict(img_path=str(tmp_path / 'elsewhere')))
    with pytest.raises(FileNotFoundError, match=r'elsewhere/a/\d{6}\.JPEG'):
        dataset[0]


@pytest.mark.parametrize('kwargs, match', [
    (dict(clip_len=0), 'clip_len'),
    (dict(clip_len=2.0), 'clip_len'),
    (dict(key_frames='every'), 'key_frames'),
    (dict(clip_anchor='left'), 'clip_anchor'),
    (dict(metainfo=dict(classes=('horse', 'unicorn'))), 'unicorn'),
])
def test_bad_arguments(ann_file, kwargs, match):
    with pytest.raises(ValueError, match=match):
        build(ann_file, **kwargs)


def test_repeated_annotation_ids(ann_file, tmp_path):
    with open(ann_file) as f:
        data = json.load(f)
    data['annotations'][1]['id'] = data['annotations'][0]['id']
    bad = tmp_path / 'dup.json'
    bad.write_text(json.dumps(data))
    with pytest.raises(ValueError, match='not unique'):
        build(str(bad), data_prefix=dict(img_path=''))


# --------------------------------------------- through the toy ILSVRC layout
def test_toy_ilsvrc_through_converter(tmp_path):
    from tsm_mm.datasets.convert_vid import convert_imagenet_vid
    from tsm_mm.testing.toy_vid import TOY_CLASSES, make_toy_vid

    root = str(tmp_path / 'ILSVRC2015')
    stats = make_toy_vid(root, train_videos=2, val_videos=2, frames=6,
                         det_images=2, size=(96, 88))
    paths = convert_imagenet_vid(root, str(tmp_path / 'annotations'))

    def gt_by_frame(path):
        """(video_id, frame_id) -> [(label, instance_id, xyxy)], from json."""
        with open(path) as f:
            data = json.load(f)
        names = {c['id']: c['name'] for c in data['categories']}
        frames = {i['id']: (i['video_id'], i['frame_id'])
                  for i in data['images']}
        gt = {key: [] for key in frames.values()}
        for a in data['annotations']:
            if names[a['category_id']] in TOY_CLASSES:
                x, y, w, h = a['bbox']
                gt[frames[a['image_id']]].append(
                    (TOY_CLASSES.index(names[a['category_id']]),
                     a['instance_id'], [x, y, x + w, y + h]))
        return gt

    def check_gt(frame, expected, scaled=True):
        meta = frame.metainfo
        # rounding the image size makes the two factors differ
        w_scale, h_scale = meta['scale_factor'] if scaled else (1, 1)
        boxes = np.array([b for _, _, b in expected], np.float32).reshape(
            -1, 4) * np.array([w_scale, h_scale] * 2, np.float32)
        if meta.get('flip', False):  # the test pipeline does not flip
            boxes[:, [0, 2]] = meta['img_shape'][1] - boxes[:, [2, 0]]
        np.testing.assert_allclose(frame.gt_instances.bboxes.numpy(), boxes,
                                   atol=1e-3)
        assert frame.gt_instances.labels.tolist() == [
            label for label, _, _ in expected]
        assert frame.gt_instances.instances_ids.tolist() == [
            inst for _, inst, _ in expected]

    common = dict(metainfo=dict(classes=TOY_CLASSES), clip_len=3,
                  clip_anchor='end')
    train = build(paths['train'],
                  data_prefix=dict(img_path=osp.join(root, 'Data', 'VID')),
                  **common)
    assert len(train) == stats['train']['key_frames']
    train_gt = gt_by_frame(paths['train'])
    for idx in (0, 4, len(train) - 1):
        video_idx, key = train.clip_index[idx]
        expected_frames, _ = clip_frame_indices(6, int(key), 3, 'end')
        sample = train[idx]['data_samples']
        assert [f.frame_id for f in sample.video_data_samples] == \
            expected_frames
        for frame in sample.video_data_samples:
            check_gt(frame, train_gt[(frame.video_id, frame.frame_id)])

    det = build(paths['det'],
                data_prefix=dict(img_path=osp.join(root, 'Data', 'DET')),
                **common)
    assert len(det) == stats['det']['frames'] == 2
    item = det[1]
    assert (item['inputs'] == item['inputs'][:1]).all()
    assert len({f.img_id for f in item['data_samples'].video_data_samples
                }) == 1

    val = build(paths['val'], test_mode=True, pipeline=make_test_pipeline(),
                data_prefix=dict(img_path=osp.join(root, 'Data', 'VID')),
                metainfo=dict(classes=TOY_CLASSES))
    val_gt = gt_by_frame(paths['val'])
    loader = make_test_loader(
        val, batch_size=2,
        batch_sampler=dict(type='VideoInterleavedBatchSampler'))
    batches = []
    for batch in loader:
        batches.append([(s[0].video_id, s[0].frame_id)
                         for s in batch['data_samples']])
        for s in batch['data_samples']:
            # the test pipeline loads boxes after Resize: original pixels
            check_gt(s[0], val_gt[(s[0].video_id, s[0].frame_id)],
                     scaled=False)
            assert s[0].ori_video_length == 6
    check_interleaved(batches, {1: 6, 2: 6}, 2)
    assert len(batches) == stats['val']['frames'] // 2


# ------------------------------------ checks at build time and on reading
def test_missing_ann_file_says_where_and_how(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as info:
        build('annotations/imagenet_vid_train.json',
              data_root='data/ILSVRC2015/')
    message = str(info.value)
    root = osp.join(str(tmp_path), 'data', 'ILSVRC2015')
    ann_dir = osp.join(root, 'annotations')
    assert f'{ann_dir}/imagenet_vid_train.json does not exist' in message
    assert (f'python tools/convert_imagenet_vid.py --root {root} --out '
            f'{ann_dir}\n') in message
    assert 'python tools/compare_vid.py --toy' in message
    assert 'python tools/make_toy_vid.py data/toy_vid' in message


@pytest.fixture
def private_vid(ann_file, tmp_path):
    """A private copy of the fixture (images and json) to break."""
    shutil.copytree(osp.dirname(ann_file), tmp_path / 'vid')
    path = str(tmp_path / 'vid' / 'vid.json')
    with open(path) as f:
        return path, json.load(f)


def rewrite(path, data):
    with open(path, 'w') as f:
        json.dump(data, f)
    return path


@pytest.mark.parametrize('content, words', [
    (b'', 'an empty file'), (b'not a jpeg', 'not a decodable image')])
@pytest.mark.parametrize('test_mode', [False, True])
def test_unreadable_image_is_named(private_vid, content, words, test_mode):
    path, _ = private_vid
    image = osp.join(osp.dirname(path), 'Data', 'a', '000002.JPEG')
    with open(image, 'wb') as f:
        f.write(content)
    dataset = build(path, clip_len=2, test_mode=test_mode,
                    pipeline=make_test_pipeline() if test_mode else
                    make_train_pipeline())
    dataset[(0, 1)]  # frames 0, 1 (training) or frame 1 (test) are fine
    with pytest.raises(ValueError, match=f'{image}: {words}'):
        dataset[(0, 2) if test_mode else (0, 3)]


def test_frame_ids_must_follow_file_names(private_vid):
    path, data = private_vid
    a = {i['frame_id']: i for i in data['images'] if i.get('video_id') == 1}
    a[2]['frame_id'], a[5]['frame_id'] = 5, 2  # order differs from files
    rewrite(path, data)
    with pytest.raises(ValueError, match=r"video 'a' \(video_id 1\): its "
                       'frame_ids disagree with the frame numbers of its '
                       "file names: frame_id 0 is 'a/000000.JPEG' but "
                       "frame_id 2 is 'a/000005.JPEG'"):
        build(path)
    # a constant offset (1-based names) is fine: the order is the same
    for f, image in a.items():
        image['frame_id'] = f
        image['file_name'] = f'a/{f + 1:06d}.JPEG'
    rewrite(path, data)
    assert build(path, test_mode=True).get_len_per_video(0) == 8


@pytest.mark.parametrize('drop, words', [
    ({4}, 'frame_ids 0..7 over 7 frames; frame_id 4 is missing'),
    ({0}, 'frame_ids 1..7 over 7 frames; frame_id 0 is missing')])
def test_test_video_frame_ids_without_gap(private_vid, drop, words):
    path, data = private_vid
    gone = {i['id'] for i in data['images']
            if i.get('video_id') == 1 and i['frame_id'] in drop}
    data['images'] = [i for i in data['images'] if i['id'] not in gone]
    data['annotations'] = [a for a in data['annotations']
                           if a['image_id'] not in gone]
    rewrite(path, data)
    with pytest.raises(ValueError, match=re.escape(
            f"{path}: video 'a' (video_id 1) has {words}")):
        build(path, test_mode=True, pipeline=make_test_pipeline())
    if drop == {0}:  # training clips need consecutive frames, not from 0
        assert build(path, key_frames='all').get_len_per_video(0) == 7
    else:  # a gap: a clip would take a frame two steps away as neighbour
        with pytest.raises(ValueError, match=re.escape(
                f"{path}: video 'a' (video_id 1) has frame_ids 0..7 over 7 "
                'frames; frame_id 4 is missing')):
            build(path, key_frames='all')


def test_repeated_frame_id_names_the_video(private_vid):
    path, data = private_vid
    b = [i for i in data['images'] if i.get('video_id') == 2]
    b[0]['frame_id'] = b[1]['frame_id']
    rewrite(path, data)
    with pytest.raises(ValueError, match=r"video 'b' \(video_id 2\) has "
                       'repeated frame_id'):
        build(path)
