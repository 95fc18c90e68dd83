"""ImageNetVIDDataset on broken json: every fault names the file and the
record, in training mode as in test mode; annotation files are read as json
only, never unpickled."""
import copy
import json
import os
import os.path as osp
import pickle
import re
import subprocess
import sys

import pytest
from mmdet.registry import DATASETS
from mmengine.registry import DefaultScope

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(osp.dirname(HERE))
sys.path.insert(0, osp.join(osp.dirname(HERE), 'engine'))
from malicious_checkpoints import reduce_eval  # noqa: E402

CLASSES = ('horse', 'zebra')  # the json's category order


def coco_vid():
    """One video of 4 frames (a horse in each) and one still image."""
    images = [dict(id=i + 1, video_id=1, frame_id=i,
                   file_name=f'v/{i:06d}.JPEG', width=40, height=30,
                   is_vid_train_frame=True) for i in range(4)]
    images.append(dict(id=9, file_name='det/x.JPEG', width=32, height=24))
    annotations = [dict(id=k + 1, image_id=k + 1, video_id=1,
                        category_id=15, instance_id=1, bbox=[2 + k, 3, 10, 8],
                        area=80, iscrowd=False) for k in range(4)]
    annotations.append(dict(id=9, image_id=9, category_id=30,
                            bbox=[1, 1, 5, 5], area=25, iscrowd=False))
    return dict(categories=[dict(id=15, name='horse'),
                            dict(id=30, name='zebra')],
                videos=[dict(id=1, name='v')], images=images,
                annotations=annotations)


def write(path, data):
    with open(path, 'w') as f:
        json.dump(data, f)
    return str(path)


def build(ann_file, test_mode=False, **kwargs):
    cfg = dict(type='ImageNetVIDDataset', ann_file=ann_file,
               data_prefix=dict(img_path=''), pipeline=[],
               metainfo=dict(classes=CLASSES), test_mode=test_mode)
    cfg.update(kwargs)
    with DefaultScope.overwrite_default_scope('mmdet'):
        return DATASETS.build(cfg)


def drop_frame(data, frame_id):
    gone = next(i['id'] for i in data['images']
                if i.get('frame_id') == frame_id and 'video_id' in i)
    data['images'] = [i for i in data['images'] if i['id'] != gone]
    data['annotations'] = [a for a in data['annotations']
                           if a['image_id'] != gone]


def set_bbox(k, bbox):
    def change(data):
        data['annotations'][k]['bbox'] = bbox
    return change


def set_image(k, key, value):
    def change(data):
        data['images'][k][key] = value
    return change


def delete(records, k, key):
    def change(data):
        del data[records][k][key]
    return change


def test_good_json_loads(tmp_path):
    dataset = build(write(tmp_path / 'ok.json', coco_vid()))
    assert dataset.num_videos == 2 and len(dataset) == 5


# (what is broken, how, where the message must point, and what it says)
BROKEN = {
    'frame_id gap': (lambda d: drop_frame(d, 2), "video 'v' (video_id 1)",
                     'frame_id 2 is missing'),
    'nan box': (set_bbox(1, [float('nan'), 3, 10, 8]),
                'annotations[1] (id 2)', 'finite'),
    'negative size': (set_bbox(2, [2, 3, -10, 8]), 'annotations[2] (id 3)',
                      'negative'),
    'unknown image_id': (lambda d: d['annotations'][0].update(image_id=77),
                         'annotations[0] (id 1)', 'image_id 77'),
    'no file_name': (delete('images', 1, 'file_name'), 'images[1] (id 2)',
                     'file_name'),
    'no bbox': (delete('annotations', 3, 'bbox'), 'annotations[3] (id 4)',
                'bbox'),
    'frame_id a string': (set_image(2, 'frame_id', '2'), 'images[2] (id 3)',
                          'frame_id'),
    'video_id a list': (set_image(0, 'video_id', [1]), 'images[0] (id 1)',
                        'video_id'),
}


@pytest.mark.parametrize('test_mode', [False, True])
@pytest.mark.parametrize('case', list(BROKEN))
def test_broken_record_names_file_and_record(tmp_path, case, test_mode):
    change, record, words = BROKEN[case]
    data = copy.deepcopy(coco_vid())
    change(data)
    path = write(tmp_path / 'broken.json', data)
    with pytest.raises(ValueError) as info:
        build(path, test_mode=test_mode)
    message = str(info.value)
    assert f'{path}: ' in message and record in message, message
    assert words in message, message


@pytest.mark.parametrize('text, words', [
    ('', 'is empty'),
    ('{"images": [', 'not valid json'),
    ('[]', 'not a CocoVID dict'),
])
def test_unreadable_json_names_the_file(tmp_path, text, words):
    path = tmp_path / 'bad.json'
    path.write_text(text)
    with pytest.raises(ValueError, match=re.escape(f'{path}: ') + '.*' +
                       words):
        build(str(path))


def test_box_mmdet_drops_is_counted(tmp_path, warnings_log):
    data = coco_vid()
    data['annotations'][1]['bbox'] = [2, 3, 0.5, 8]  # under 1 pixel wide
    data['annotations'][3]['bbox'] = [50, 3, 10, 8]  # outside the image
    path = write(tmp_path / 'thin.json', data)
    build(path)
    (message, ) = [m for m in warnings_log if 'dropped' in m]
    assert message.startswith(f'{path}: 2 of 5 boxes are dropped')
    assert 'annotations[1] (id 2)' in message


def test_class_order_differs_from_json_warns(tmp_path, warnings_log):
    path = write(tmp_path / 'ok.json', coco_vid())
    build(path)
    assert not [m for m in warnings_log if 'order' in m]
    dataset = build(path, metainfo=dict(classes=('zebra', 'horse')))
    (message, ) = [m for m in warnings_log if 'order' in m]
    assert path in message and "('zebra', 'horse')" in message
    assert "('horse', 'zebra')" in message  # the json's order
    # labels still follow metainfo, by name
    assert dataset.get_cat_ids((0, 0)) == [1]


def write_pickle(path):
    """A pickle that touches ``<path>.ran`` when it is loaded."""
    marker = f'{path}.ran'
    with open(path, 'wb') as f:
        pickle.dump(reduce_eval(marker), f)
    return str(path), marker


@pytest.mark.parametrize('name', ['ann.pkl', 'ann.pickle', 'ann'])
def test_dataset_refuses_a_pickle(tmp_path, name):
    path, marker = write_pickle(tmp_path / name)
    with pytest.raises(ValueError, match=re.escape(path) + '.*json'):
        build(path)
    assert not osp.exists(marker)


def test_train_tool_refuses_a_frame_id_gap(toy_vid_root, toy_vid_ann_dir,
                                           tmp_path):
    """``tools/train.py`` stops before training, naming the json and the
    video (clips would have taken the wrong neighbours)."""
    with open(osp.join(toy_vid_ann_dir, 'imagenet_vid_train.json')) as f:
        data = json.load(f)
    video = data['videos'][0]
    drop = next(i['id'] for i in data['images']
                if i['video_id'] == video['id'] and i['frame_id'] == 3)
    data['images'] = [i for i in data['images'] if i['id'] != drop]
    data['annotations'] = [a for a in data['annotations']
                           if a['image_id'] != drop]
    path = write(tmp_path / 'gap.json', data)
    proc = subprocess.run(
        [sys.executable, 'tools/train.py',
         'configs/toy/vid_faster_rcnn_2d_toy.py', '--work-dir',
         str(tmp_path / 'work'), '--cfg-options',
         f'train_dataloader.dataset.data_root={toy_vid_root}',
         f'train_dataloader.dataset.ann_file={path}',
         f'val_dataloader.dataset.data_root={toy_vid_root}',
         f'val_dataloader.dataset.ann_file={toy_vid_ann_dir}/'
         'imagenet_vid_val.json', 'train_cfg.max_iters=1',
         'train_cfg.val_interval=10'],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, OMP_NUM_THREADS='1'))
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output[-3000:]
    assert (f"{path}: video {video['name']!r} (video_id {video['id']})"
            in output), output[-3000:]
    assert 'frame_id 3 is missing' in output, output[-3000:]
    assert not osp.exists(tmp_path / 'work' / 'iter_1.pth')
