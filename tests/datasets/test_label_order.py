"""Labels agree between our dataset and MMDetection's video pieces: the toy
configs list their classes in the json's category-id order, which is how
``BaseVideoDataset`` and ``CocoVideoMetric`` number labels."""
import json
import os.path as osp
import sys

from mmengine.config import Config
from mmengine.runner import Runner

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(osp.dirname(HERE))
sys.path.insert(0, osp.join(osp.dirname(HERE), 'evaluation'))
from gt_echo_detector import echo_config  # noqa: E402

TOY_2D = osp.join(REPO, 'configs/toy/vid_faster_rcnn_2d_toy.py')


def frame_labels(dataset):
    """``{(video_id, frame_id): sorted bbox labels}`` of a video dataset."""
    labels = {}
    for video in dataset.load_data_list():
        for frame in video['images']:
            labels[(frame['video_id'], frame['frame_id'])] = sorted(
                i['bbox_label'] for i in frame['instances'])
    return labels


def test_toy_classes_follow_the_json_category_order(toy_vid_ann_dir):
    with open(osp.join(toy_vid_ann_dir, 'imagenet_vid_val.json')) as f:
        ids = {c['name']: c['id'] for c in json.load(f)['categories']}
    classes = Config.fromfile(TOY_2D).classes
    assert list(classes) == sorted(classes, key=ids.__getitem__)


def test_same_labels_as_mmdet_base_video_dataset(toy_vid_val_dataset):
    from mmdet.datasets import BaseVideoDataset
    ours = toy_vid_val_dataset
    theirs = BaseVideoDataset(
        ann_file=ours.ann_file, metainfo=dict(classes=ours.metainfo[
            'classes']), data_root=ours.data_root,
        data_prefix=ours.data_prefix, test_mode=True, lazy_init=True)
    ours_labels, theirs_labels = frame_labels(ours), frame_labels(theirs)
    assert ours_labels == theirs_labels
    assert sum(map(len, ours_labels.values())) > 0


def test_mmdet_coco_video_metric_scores_ground_truth(toy_vid_root,
                                                     toy_vid_ann_dir,
                                                     tmp_path):
    """``Runner.test()`` of a detector echoing our dataset's ground truth:
    MMDetection's ``CocoVideoMetric`` (which maps labels by category id)
    finds it, so both number the classes the same way."""
    ann_file = osp.join(toy_vid_ann_dir, 'imagenet_vid_val.json')
    cfg = echo_config(toy_vid_root, ann_file, tmp_path,
                      dict(type='CocoVideoMetric', ann_file=ann_file,
                           metric='bbox'))
    metrics = Runner.from_cfg(cfg).test()
    # the echo keeps 2 of 3 frames' boxes and adds one false box of class 0;
    # with permuted labels this was 0.0038
    assert metrics['coco/bbox_mAP_50'] > 0.5
