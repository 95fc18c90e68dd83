"""tools/dist_train.sh: 2 CPU processes (gloo) train the toy TSM detector;
tools/slurm_train.sh: the srun command it builds."""
import glob
import json
import math
import os
import os.path as osp
import re
import socket
import stat
import subprocess
import sys
import time

import pytest
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

from tsm_mm.datasets.convert_vid import convert_imagenet_vid
from tsm_mm.engine import load_checkpoint_file
from tsm_mm.testing import make_toy_vid

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = 'configs/toy/vid_faster_rcnn_tsm_toy.py'
ITERS = 2
LOG_LINE = re.compile(r'Iter\(train\) \[(\d+)/\d+\].*?grad_norm: (\S+)\s+'
                      r'loss: (\S+)')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture(scope='module')
def toy_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('dist') / 'ILSVRC2015')
    make_toy_vid(root, train_videos=4, val_videos=2, frames=8, det_images=1,
                 seed=0)
    convert_imagenet_vid(root, osp.join(root, 'annotations'))
    return root


def rank_logs(work_dir):
    """{rank: [(iter, grad_norm, loss)]} from the per-rank log files."""
    logs = {}
    for path in glob.glob(osp.join(work_dir, '*', '*_rank*.log')):
        rank = int(re.search(r'_rank(\d+)\.log$', path).group(1))
        with open(path) as f:
            logs[rank] = [(int(i), float(g), float(loss))
                          for i, g, loss in LOG_LINE.findall(f.read())]
    return logs


def test_dist_train_two_cpu_processes(toy_root, tmp_path):
    work_dir = str(tmp_path / 'work')
    root = toy_root + '/'
    options = [
        'env_cfg.dist_cfg.backend=gloo',
        # DDP of a CPU module takes no device_ids (mmengine passes the rank)
        'model_wrapper_cfg.device_ids=None',
        # DEBUG: every rank writes its own log file, with its own losses
        'log_level=DEBUG',
        f'train_cfg.max_iters={ITERS}', 'train_cfg.val_interval=1000',
        'default_hooks.logger.interval=1',
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
    ]
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHON=sys.executable,
               PORT=str(free_port()))
    start = time.time()
    proc = subprocess.run(
        ['bash', 'tools/dist_train.sh', CONFIG, '2', '--work-dir', work_dir,
         '--cfg-options', *options],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    seconds = time.time() - start
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    print(f'torchrun, 2 processes, {ITERS} iterations: {seconds:.1f} s')

    logs = rank_logs(work_dir)
    assert sorted(logs) == [0, 1], logs
    for rank, lines in logs.items():
        assert [line[0] for line in lines] == list(range(1, ITERS + 1))
        assert all(math.isfinite(g) and math.isfinite(loss)
                   for _, g, loss in lines), (rank, lines)
    for (_, g0, loss0), (_, g1, loss1) in zip(logs[0], logs[1]):
        assert g0 == g1  # the gradients were all-reduced
        assert loss0 != loss1  # each rank trained on its own batches
    scalars = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    with open(scalars[0]) as f:
        train = [json.loads(line) for line in f if '"loss"' in line]
    assert [s['iter'] for s in train] == list(range(1, ITERS + 1))
    assert all(math.isfinite(s['loss']) for s in train)

    checkpoint = load_checkpoint_file(osp.join(work_dir, f'iter_{ITERS}.pth'))
    cfg = Config.fromfile(osp.join(work_dir, osp.basename(CONFIG)))
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    model.load_state_dict(checkpoint['state_dict'], strict=True)
    assert type(model.backbone).__name__ == 'StreamingTSMResNet'


def test_slurm_train_command(tmp_path):
    fake_srun = tmp_path / 'srun'
    fake_srun.write_text('#!/usr/bin/env bash\n'
                         'printf "%s\\n" "$@" > "$SRUN_RECORD"\n')
    fake_srun.chmod(fake_srun.stat().st_mode | stat.S_IEXEC)
    record = tmp_path / 'args.txt'
    env = dict(os.environ, PATH=f'{tmp_path}:{os.environ["PATH"]}',
               SRUN_RECORD=str(record), GPUS='16', GPUS_PER_NODE='8',
               SRUN_ARGS='--quotatype=auto --time=1:00:00',
               PYTHON='python3')
    proc = subprocess.run(
        ['bash', 'tools/slurm_train.sh', 'gpu', 'tsm', CONFIG, 'work/tsm',
         '--cfg-options', 'train_cfg.max_epochs=1'],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    args = record.read_text().splitlines()
    assert args == [
        '-p', 'gpu', '--job-name=tsm', '--gres=gpu:8', '--ntasks=16',
        '--ntasks-per-node=8', '--cpus-per-task=5', '--kill-on-bad-exit=1',
        '--quotatype=auto', '--time=1:00:00', 'python3', '-u',
        'tools/train.py', CONFIG, '--work-dir=work/tsm',
        '--launcher=slurm', '--cfg-options', 'train_cfg.max_epochs=1']
    usage = subprocess.run(['bash', 'tools/slurm_train.sh', 'gpu'],
                           cwd=REPO, capture_output=True, text=True)
    assert usage.returncode == 2 and 'usage' in usage.stderr
