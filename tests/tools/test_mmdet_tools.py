"""MMDetection's own tools on the toy video configs: its analysis tools on
a training log, its ``tools/test.py --out`` on every frame."""
import glob
import json
import os
import os.path as osp
import pickle
import subprocess
import sys

import mmdet
import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MMDET_TOOLS = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools')


def run(args, cwd):
    out = subprocess.run([sys.executable, *args], cwd=cwd, text=True,
                         capture_output=True, timeout=300,
                         env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    return out.stdout


@pytest.fixture(scope='module')
def toy_vid_log(toy_vid_root, toy_vid_ann_dir, tmp_path_factory):
    """``(json log, checkpoint)`` of a 2-iteration toy 2D run validated at
    its end."""
    work = tmp_path_factory.mktemp('toy_log')
    root = toy_vid_root + '/'
    run([osp.join(REPO, 'tools/train.py'),
         osp.join(REPO, 'configs/toy/vid_faster_rcnn_2d_toy.py'),
         '--work-dir', str(work / 'run'), '--cfg-options',
         f'train_dataloader.dataset.data_root={root}',
         f'train_dataloader.dataset.ann_file='
         f'{toy_vid_ann_dir}/imagenet_vid_train.json',
         f'val_dataloader.dataset.data_root={root}',
         f'val_dataloader.dataset.ann_file='
         f'{toy_vid_ann_dir}/imagenet_vid_val.json',
         f'val_evaluator.ann_file={toy_vid_ann_dir}/imagenet_vid_val.json',
         'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
         'default_hooks.logger.interval=1'], cwd=str(work))
    (log,) = glob.glob(str(work / 'run' / '*' / 'vis_data' / '2*.json'))
    return log, str(work / 'run' / 'iter_2.pth')


def test_val_metrics_are_logged_at_their_iteration(toy_vid_log):
    with open(toy_vid_log[0]) as f:
        lines = [json.loads(line) for line in f]
    (val,) = [line for line in lines if 'vid/mAP' in line]
    assert val['step'] == 2  # not the epoch (0) of an iteration-based run


def test_analyze_logs_plots_the_vid_map(toy_vid_log, tmp_path):
    png = tmp_path / 'map.png'
    # mmdet's loader keys a metric by the part after its prefix: vid/mAP
    # is plotted as `--keys mAP`, as coco/bbox_mAP is as `--keys bbox_mAP`
    run([osp.join(MMDET_TOOLS, 'analysis_tools/analyze_logs.py'),
         'plot_curve', toy_vid_log[0], '--keys', 'mAP', 'loss',
         '--backend', 'agg', '--out', str(png)], cwd=str(tmp_path))
    assert png.stat().st_size > 0
    out = run([osp.join(MMDET_TOOLS, 'analysis_tools/analyze_logs.py'),
               'cal_train_time', toy_vid_log[0]], cwd=str(tmp_path))
    assert 'average iter time' in out


def test_mmdet_test_tool_dumps_every_frame(toy_vid_log, toy_vid_root,
                                           toy_vid_ann_dir, tmp_path):
    ann_file = f'{toy_vid_ann_dir}/imagenet_vid_val.json'
    out = tmp_path / 'preds.pkl'
    run([osp.join(MMDET_TOOLS, 'test.py'),
         osp.join(REPO, 'configs/toy/vid_faster_rcnn_tsm_toy.py'),
         toy_vid_log[1], '--out', str(out), '--work-dir', str(tmp_path),
         '--cfg-options', f'test_dataloader.dataset.data_root={toy_vid_root}/',
         f'test_dataloader.dataset.ann_file={ann_file}',
         f'test_evaluator.ann_file={ann_file}'], cwd=str(tmp_path))
    with open(out, 'rb') as f:
        dumped = pickle.load(f)  # the file this test's run wrote
    frames = sorted((d['video_data_samples'][0].video_id,
                     d['video_data_samples'][0].frame_id) for d in dumped)
    with open(ann_file) as f:
        images = json.load(f)['images']
    # mmdet's DumpDetResults kept 2 of 16 (one per video)
    assert frames == sorted((i['video_id'], i['frame_id']) for i in images)


def test_mmdet_test_tool_draws_every_frame(toy_vid_log, toy_vid_root,
                                           toy_vid_ann_dir, tmp_path):
    ann_file = f'{toy_vid_ann_dir}/imagenet_vid_val.json'
    run([osp.join(MMDET_TOOLS, 'test.py'),
         osp.join(REPO, 'configs/toy/vid_faster_rcnn_2d_toy.py'),
         toy_vid_log[1], '--show-dir', 'vis', '--work-dir', str(tmp_path),
         '--cfg-options', f'test_dataloader.dataset.data_root={toy_vid_root}/',
         f'test_dataloader.dataset.ann_file={ann_file}',
         f'test_evaluator.ann_file={ann_file}'], cwd=str(tmp_path))
    drawn = sorted(osp.relpath(p, tmp_path).split(osp.sep, 2)[2] for p in
                   glob.glob(str(tmp_path / '*' / 'vis' / '*' / '*.JPEG')))
    with open(ann_file) as f:
        images = json.load(f)['images']
    # one file per frame, in its video's folder (DetVisualizationHook
    # raised AttributeError: 'TrackDataSample' has no attribute 'img_path')
    assert drawn == sorted(i['file_name'].split('/', 1)[1] for i in images)
