"""Test a checkpoint with MMEngine's Runner (MMDetection's shape).

The checkpoint is loaded strictly: one whose weights are not the config's
model (keys or shapes) is refused, naming the file and the first keys.

Example:
    python tools/test.py configs/toy/vid_faster_rcnn_tsm_toy.py latest.pth
    mim test tsm_mm configs/toy/vid_faster_rcnn_tsm_toy.py \
        --checkpoint latest.pth
"""
import argparse
import os
import os.path as osp

from mmdet.evaluation.metrics.base_video_metric import BaseVideoMetric
from mmdet.registry import METRICS
from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import tsm_mm  # noqa: F401  (registers the models, datasets and metrics)
from tsm_mm.engine import CheckpointFitHook


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test a checkpoint')
    parser.add_argument('config', help='test config file path')
    parser.add_argument(
        'checkpoint', help='checkpoint file or URL (https://, '
        'open-mmlab://, ...; loaded with weights only)')
    parser.add_argument('--work-dir', help='the dir to save logs and metrics')
    parser.add_argument(
        '--out', help='dump the predictions to this pickle file')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, e.g. test_dataloader.batch_size=2')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def dump_type(evaluators: list) -> str:
    """``DumpVideoResults`` beside a video metric (a prediction per frame,
    every frame kept), else MMEngine's ``DumpResults`` (one per item)."""
    for evaluator in evaluators:
        metric = evaluator['type']
        if not isinstance(metric, type):
            metric = METRICS.get(metric)
        if isinstance(metric, type) and issubclass(metric, BaseVideoMetric):
            return 'DumpVideoResults'
    return 'DumpResults'


def main() -> None:
    args = parse_args()
    if '://' not in args.checkpoint and not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {args.checkpoint}')
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out must be a .pkl file, got {args.out}')
        evaluators = cfg.test_evaluator
        if not isinstance(evaluators, list):
            evaluators = [evaluators]
        cfg.test_evaluator = [
            *evaluators, dict(type=dump_type(evaluators),
                              out_file_path=args.out)]
    runner = (Runner.from_cfg(cfg) if 'runner_type' not in cfg else
              RUNNERS.build(cfg))
    # the weights must be the model's (MMEngine would load what matches)
    runner.register_hook(CheckpointFitHook(args.checkpoint))
    runner.test()


if __name__ == '__main__':
    main()
