"""VIDMetric through MMEngine's test loop: every frame of every test video
is scored, in one process (``Runner.test()``) and in two (``torchrun``
``tools/test.py --launcher pytorch``, gloo)."""
import json
import os
import os.path as osp
import pickle
import re
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.runner import Runner

import tsm_mm.evaluation.vid_metric as vid_metric_module
from tsm_mm.evaluation import vid_map

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(osp.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, osp.join(osp.dirname(HERE), 'engine'))
from gt_echo_detector import echo, echo_config  # noqa: E402
from malicious_checkpoints import reduce_eval  # noqa: E402

CLASSES = ('horse', 'tiger', 'zebra')  # the toy configs' order
LENGTHS = (8, 5, 3)  # frames kept of the three val videos


@pytest.fixture(scope='module')
def uneven_val(toy_vid_root, toy_vid_ann_dir, tmp_path_factory):
    """``(data_root, ann_file)``: the toy val set cut to three videos of
    8, 5 and 3 frames (the shared fixture has two of 8: the second is
    reused, cut, as a third video with its own id)."""
    with open(osp.join(toy_vid_ann_dir, 'imagenet_vid_val.json')) as f:
        coco = json.load(f)
    videos = sorted(coco['videos'], key=lambda v: v['id'])
    images, annotations, new_videos = [], [], []
    for new_id, (video, length) in enumerate(
            zip(videos + videos[1:], LENGTHS)):
        new_videos.append(dict(video, id=100 + new_id))
        for img in coco['images']:
            if img['video_id'] == video['id'] and img['frame_id'] < length:
                new_img = dict(img, id=len(images) + 1,
                               video_id=100 + new_id)
                for ann in coco['annotations']:
                    if ann['image_id'] == img['id']:
                        annotations.append(dict(
                            ann, id=len(annotations) + 1,
                            image_id=new_img['id'],
                            video_id=100 + new_id))
                images.append(new_img)
    coco.update(videos=new_videos, images=images, annotations=annotations)
    ann_file = str(tmp_path_factory.mktemp('uneven') / 'val.json')
    with open(ann_file, 'w') as f:
        json.dump(coco, f)
    assert len(images) == sum(LENGTHS)
    return toy_vid_root, ann_file


def expected_metrics(ann_file):
    """vid_map of :func:`echo`'s predictions on every frame of the json."""
    with open(ann_file) as f:
        coco = json.load(f)
    label = {c['id']: CLASSES.index(c['name']) for c in coco['categories']
             if c['name'] in CLASSES}
    dets, gts = [], []
    for img in coco['images']:
        anns = [a for a in coco['annotations'] if a['image_id'] == img['id']]
        boxes = [[x, y, x + w, y + h] for x, y, w, h in
                 (a['bbox'] for a in anns)]
        labels = [label[a['category_id']] for a in anns]
        dets.append({k: np.asarray(v) for k, v in echo(
            img['video_id'], img['frame_id'], boxes, labels).items()})
        gts.append(dict(video_id=img['video_id'], frame_id=img['frame_id'],
                        bboxes=np.asarray(boxes).reshape(-1, 4),
                        labels=np.asarray(labels, dtype=np.int64),
                        instance_ids=np.asarray(
                            [a['instance_id'] for a in anns])))
    return vid_map(dets, gts, num_classes=len(CLASSES)), len(dets)


def test_runner_test_scores_every_frame(uneven_val, tmp_path, monkeypatch):
    data_root, ann_file = uneven_val
    scored = []
    real_vid_map = vid_metric_module.vid_map

    def counting_vid_map(det_results, gt_annotations, **kwargs):
        scored.append(len(det_results))
        return real_vid_map(det_results, gt_annotations, **kwargs)

    monkeypatch.setattr(vid_metric_module, 'vid_map', counting_vid_map)
    runner = Runner.from_cfg(echo_config(data_root, ann_file,
                                         str(tmp_path / 'work')))
    metrics = runner.test()
    expected, num_frames = expected_metrics(ann_file)
    assert len(runner.test_dataloader.dataset) == len(LENGTHS)  # videos
    assert scored == [num_frames] == [sum(LENGTHS)]
    for key in ('mAP', 'mAP_slow', 'mAP_medium', 'mAP_fast'):
        np.testing.assert_allclose(metrics[f'vid/{key}'], expected[key],
                                   atol=1e-12, err_msg=key)
    # the scene is not degenerate: a subset of frames scores differently
    assert 0.05 < expected['mAP'] < 0.95


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def echo_tool_files(uneven_val, tmp_path):
    """The echo config and a checkpoint for ``tools/test.py``, and the
    environment it runs in."""
    data_root, ann_file = uneven_val
    cfg = echo_config(data_root, ann_file, str(tmp_path / 'work'))
    cfg.custom_imports = dict(imports=['gt_echo_detector'],
                              allow_failed_imports=False)
    cfg.env_cfg = dict(cfg.env_cfg, dist_cfg=dict(backend='gloo'))
    cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel',
                                 device_ids=None)
    config = str(tmp_path / 'echo_test.py')
    cfg.dump(config)
    checkpoint = str(tmp_path / 'echo.pth')
    torch.save(dict(state_dict={'unused': torch.zeros(1)}), checkpoint)
    env = dict(os.environ, OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join([HERE, REPO]))
    return config, checkpoint, env


def test_two_processes_score_every_frame(uneven_val, tmp_path):
    config, checkpoint, env = echo_tool_files(uneven_val, tmp_path)
    proc = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node',
         '2', '--master_port', str(free_port()), 'tools/test.py', config,
         checkpoint, '--launcher', 'pytorch'],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    expected, num_frames = expected_metrics(uneven_val[1])
    (frames, ) = re.findall(r'VIDMetric: scored (\d+) frames', output)
    assert int(frames) == num_frames
    logged = dict(re.findall(r'vid/(mAP\w*): (\S+)', output))
    for key in ('mAP', 'mAP_slow', 'mAP_fast'):
        assert float(logged[key]) == pytest.approx(expected[key], abs=1e-4)


def test_test_tool_dumps_every_frame(uneven_val, tmp_path):
    """``tools/test.py --out`` beside VIDMetric keeps a prediction per frame
    (MMEngine's DumpResults kept ``len(dataset)``: one per video)."""
    config, checkpoint, env = echo_tool_files(uneven_val, tmp_path)
    out = str(tmp_path / 'predictions.pkl')
    proc = subprocess.run(
        [sys.executable, 'tools/test.py', config, checkpoint, '--out', out],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    with open(out, 'rb') as f:
        predictions = pickle.load(f)
    with open(uneven_val[1]) as f:
        images = json.load(f)['images']
    assert len(predictions) == len(images) == sum(LENGTHS)
    frames = sorted((p['video_data_samples'][0].video_id,
                     p['video_data_samples'][0].frame_id)
                    for p in predictions)
    assert frames == sorted((img['video_id'], img['frame_id'])
                            for img in images)
    # written atomically: no temporary file is left beside it
    assert [n for n in os.listdir(tmp_path) if 'predictions' in n] == \
        ['predictions.pkl']


def test_test_tool_refuses_a_pickled_ann_file(uneven_val, tmp_path):
    """``--cfg-options test_evaluator.ann_file=x.pkl`` is refused before
    anything reads it: the payload does not run."""
    config, checkpoint, env = echo_tool_files(uneven_val, tmp_path)
    crafted = str(tmp_path / 'annotations.pkl')
    marker = tmp_path / 'payload.ran'
    with open(crafted, 'wb') as f:
        pickle.dump(reduce_eval(str(marker)), f)
    proc = subprocess.run(
        [sys.executable, 'tools/test.py', config, checkpoint,
         '--cfg-options', f'test_evaluator.ann_file={crafted}'],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr
    assert not marker.exists()
    assert proc.returncode != 0, output[-3000:]
    assert f'{crafted}: annotation files are read as json only' in output, \
        output[-3000:]


def test_runner_test_refuses_inverted_boxes(uneven_val, tmp_path):
    """A detector whose boxes are all x2 < x1 fails the test run, naming
    a frame, instead of reporting mAP 0.0."""
    data_root, ann_file = uneven_val
    cfg = echo_config(data_root, ann_file, str(tmp_path / 'work'))
    cfg.model.invert = True
    with pytest.raises(ValueError, match=re.escape(
            'VIDMetric: every one of the ') + r'\d+' + re.escape(
                ' predicted boxes has x2 < x1 or y2 < y1 (first: frame '
                '(video_id, frame_id)=(100, 0)')):
        Runner.from_cfg(cfg).test()
