"""Train a detector or recognizer with MMEngine's Runner (MMDetection's shape).

Works for MMDetection and MMAction2 configs alike: the config's
``default_scope`` picks the registries; tsm_mm is imported either way.

``--resume`` without a path continues from the checkpoint
``last_checkpoint`` names, or, when that one is missing or truncated (a run
killed while saving), from the newest intact ``iter_*``/``epoch_*`` one,
with a warning that says which and why. A checkpoint whose weights are
not the config's model is refused, naming it.

Example:
    python tools/train.py configs/toy/vid_faster_rcnn_tsm_toy.py
    mim train tsm_mm configs/toy/vid_faster_rcnn_tsm_toy.py --resume
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import tsm_mm  # noqa: F401  (registers the models, datasets and metrics)
from tsm_mm.engine import (
    CheckpointFitHook,
    check_resume_checkpoint,
    find_resume_checkpoint,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--amp', action='store_true', help='enable automatic mixed precision')
    parser.add_argument(
        '--auto-scale-lr', action='store_true',
        help='scale the learning rate by the real batch size')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint, or from the latest one in the '
        'work dir when no path is given')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, e.g. train_cfg.max_iters=10')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def build_config(args: argparse.Namespace) -> Config:
    """Apply the command line to the config."""
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in \
                cfg.auto_scale_lr:
            raise KeyError(f'{args.config} has no auto_scale_lr.'
                           'base_batch_size to scale the learning rate from')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        # None: nothing saved yet, train from the start
        cfg.load_from = find_resume_checkpoint(cfg.work_dir)
        cfg.resume = cfg.load_from is not None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, check_resume_checkpoint(
            args.resume)
    return cfg


def main() -> None:
    cfg = build_config(parse_args())
    runner = (Runner.from_cfg(cfg) if 'runner_type' not in cfg else
              RUNNERS.build(cfg))
    if cfg.get('resume') and cfg.get('load_from'):
        # the same run goes on: its weights must be this model's
        runner.register_hook(CheckpointFitHook(cfg.load_from))
    runner.train()


if __name__ == '__main__':
    main()
