"""VideoDetVisualizationHook through ``Runner.test()``: every frame drawn,
with its predicted boxes, into its video's folder."""
import json
import os.path as osp
import sys

import mmcv
import numpy as np
from mmengine.runner import Runner

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(osp.dirname(HERE), 'evaluation'))
from gt_echo_detector import echo_config  # noqa: E402


def test_every_frame_is_drawn_with_its_boxes(toy_vid_root, toy_vid_ann_dir,
                                             tmp_path):
    ann_file = osp.join(toy_vid_ann_dir, 'imagenet_vid_val.json')
    cfg = echo_config(toy_vid_root, ann_file, tmp_path)
    cfg.default_hooks.visualization.update(draw=True, test_out_dir='vis',
                                           score_thr=0.3)
    runner = Runner.from_cfg(cfg)
    runner.test()
    out_dir = osp.join(str(tmp_path), runner.timestamp, 'vis')
    with open(ann_file) as f:
        images = json.load(f)['images']
    assert images
    for image in images:
        video, frame = image['file_name'].split('/')[-2:]
        drawn = mmcv.imread(osp.join(out_dir, video, frame))
        source = mmcv.imread(osp.join(toy_vid_root, 'Data', 'VID',
                                      image['file_name']))
        # ground truth on the left, predictions on the right (as mmdet's)
        height, width = source.shape[:2]
        assert drawn.shape == (height, 2 * width, 3)
        # the echo's false box (score >= 0.5) is drawn on every frame
        assert np.abs(drawn[:, width:].astype(int) - source).max() > 100
