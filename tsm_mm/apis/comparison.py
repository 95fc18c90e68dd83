"""Train and evaluate arms of a comparison with MMEngine's Runner."""
import argparse
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config
from mmengine.runner import Runner

# detector family: its 2D and TSM configs under configs/, on the toy VID and
# on ImageNet-VID
DETECTOR_FAMILIES = {
    'faster_rcnn': (('toy/vid_faster_rcnn_2d_toy',
                     'toy/vid_faster_rcnn_tsm_toy'),
                    ('vid_faster_rcnn_2d', 'vid_faster_rcnn_tsm')),
    'retinanet': (('toy/vid_retinanet_2d_toy', 'toy/vid_retinanet_tsm_toy'),
                  ('vid_retinanet_r50_2d', 'vid_retinanet_r50_tsm')),
    'rtmdet': (('toy/vid_rtmdet_2d_toy', 'toy/vid_rtmdet_tsm_toy'),
               ('vid_rtmdet_tiny_2d', 'vid_rtmdet_tiny_tsm')),
    'yolox': (('toy/vid_yolox_2d_toy', 'toy/vid_yolox_tsm_toy'),
              ('vid_yolox_s_2d', 'vid_yolox_s_tsm')),
}


def family_configs(configs_dir: str, family: str,
                   toy: bool = True) -> Tuple[str, str]:
    """The 2D and TSM config files of a detector family.

    Args:
        configs_dir (str): The repository's ``configs`` folder.
        family (str): A key of :data:`DETECTOR_FAMILIES`.
        toy (bool): The toy twins, else the ImageNet-VID configs.

    Returns:
        tuple[str, str]: The 2D config, then the TSM one.
    """
    names = DETECTOR_FAMILIES[family][0 if toy else 1]
    return tuple(osp.join(configs_dir, f'{name}.py') for name in names)


def set_data_root(cfg: Config, data_root: str) -> None:
    """Point every dataset of the dataloaders at ``data_root``."""

    def visit(node) -> None:
        if isinstance(node, dict):
            if 'data_root' in node:
                node['data_root'] = data_root
            for value in node.values():
                visit(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                visit(value)

    cfg.data_root = data_root
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        visit(cfg.get(key))


def load_config(path: str, cfg_options: Optional[dict] = None,
                data_root: Optional[str] = None) -> Config:
    """A config file with a tool's ``--cfg-options`` merged in and its
    dataloaders pointed at ``--data-root``.

    Args:
        path (str): The config file.
        cfg_options (dict, optional): Settings to merge.
        data_root (str, optional): The dataset root to use instead.

    Returns:
        Config: The config.
    """
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if data_root:
        set_data_root(cfg, data_root)
    return cfg


def iteration_schedule(iters: int, warmup: int,
                       lr: Optional[float]) -> dict:
    """Linear warm-up, then a step down by 10 at 75% of the iterations
    (peak ``lr``; None keeps the config optimizer's)."""
    schedule = dict(
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=iters,
                       val_interval=iters + 1),
        param_scheduler=[
            dict(type='LinearLR', start_factor=0.01, by_epoch=False,
                 begin=0, end=max(1, warmup)),
            dict(type='MultiStepLR', by_epoch=False, begin=0, end=iters,
                 milestones=[max(1, int(iters * 0.75))], gamma=0.1)
        ],
        default_hooks=dict(checkpoint=dict(
            type='AtomicCheckpointHook', by_epoch=False, interval=iters,
            max_keep_ckpts=1)))
    if lr is not None:
        schedule['optim_wrapper'] = dict(optimizer=dict(lr=lr))
    return schedule


def add_arm_arguments(parser: argparse.ArgumentParser, iters: int) -> None:
    """The options of every recognition comparison tool: the toy data's
    size and the schedule its arms share.

    Args:
        parser (ArgumentParser): The tool's parser.
        iters (int): The tool's default training iterations per arm.
    """
    parser.add_argument('--videos', type=int, default=1200,
                        help='toy clips to generate (train + val)')
    parser.add_argument('--val-fraction', type=float, default=0.1,
                        help='share of the toy clips held out')
    parser.add_argument('--iters', type=int, default=iters)
    parser.add_argument('--lr', type=float, default=1e-3)
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--threads', type=int, default=2,
                        help='torch threads for training and testing')


def rawframe_options(data_root: str,
                     num_classes: int,
                     batch_size: int,
                     iters: int,
                     lr: float,
                     ann_train: str = 'train_list.txt',
                     ann_val: str = 'val_list.txt',
                     filename_tmpl: Optional[str] = None) -> dict:
    """Overrides of a recognizer config for a rawframes dataset.

    Dataloaders on ``data_root`` (frames in ``<data_root>/rawframes``,
    lists relative to it), the head's size, and a one-cycle schedule
    (OneCycleLR, peak ``lr``) stretched to ``iters``.

    Args:
        data_root (str): The dataset folder (the toy actions' layout).
        num_classes (int): Classes of the head.
        batch_size (int): Training clips per iteration.
        iters (int): Training iterations.
        lr (float): Peak learning rate.
        ann_train (str): Training list, ``<video> <frames> <label>``.
        ann_val (str): List of the clips to test on.
        filename_tmpl (str, optional): Frame file names; None keeps the
            config's (``img_{:05}.jpg``).

    Returns:
        dict: Options for ``Config.merge_from_dict`` or ``run_arm``.
    """

    def loader(ann_file: str) -> dict:
        dataset = dict(ann_file=osp.join(data_root, ann_file),
                       data_prefix=dict(img=osp.join(data_root, 'rawframes')))
        if filename_tmpl is not None:
            dataset['filename_tmpl'] = filename_tmpl
        return dict(dataset=dataset)

    return dict(
        model=dict(cls_head=dict(num_classes=num_classes)),
        param_scheduler=[
            dict(type='OneCycleLR', eta_max=lr, total_steps=iters,
                 by_epoch=False)
        ],
        train_dataloader=dict(batch_size=batch_size, **loader(ann_train)),
        test_dataloader=loader(ann_val))


def run_arm(config: str,
            work_dir: str,
            iters: int,
            lr: Optional[float],
            warmup: int = 50,
            data_root: Optional[str] = None,
            load_from: Optional[str] = None,
            evaluate: bool = True,
            seed: int = 0,
            cfg_options: Optional[dict] = None) -> Dict[str, float]:
    """Train one config for ``iters`` iterations, then test it.

    Args:
        config (str): Config file of the arm.
        work_dir (str): Where its logs and checkpoint go.
        iters (int): Training iterations (0: only test ``load_from``).
        lr (float, optional): Peak learning rate; None keeps the
            config's.
        warmup (int): Linear warm-up iterations.
        data_root (str, optional): Dataset root replacing the config's.
        load_from (str, optional): Checkpoint to start from.
        evaluate (bool): Whether to run the test loop after training.
        seed (int): Seed of weights, sampling and augmentation.
        cfg_options (dict, optional): Further config overrides.

    Returns:
        dict: The test metrics plus ``train_s``, ``test_s``, ``fps`` and
        ``checkpoint``; with a VIDMetric, also ``scored`` (the frames it
        scored, see :attr:`VIDMetric.scored`) and ``num_classes``.
    """
    cfg = Config.fromfile(config)
    if data_root is not None:
        set_data_root(cfg, data_root)
    cfg.merge_from_dict(iteration_schedule(max(iters, 1), warmup, lr))
    cfg.merge_from_dict(cfg_options or {})
    cfg.randomness = dict(seed=seed)
    cfg.work_dir = work_dir
    cfg.load_from = load_from
    cfg.launcher = 'none'
    cfg.experiment_name = f'{osp.basename(work_dir)}_{time.time_ns()}'
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    if iters == 0:
        cfg.train_dataloader = cfg.train_cfg = cfg.optim_wrapper = None
        cfg.param_scheduler = None
    runner = Runner.from_cfg(cfg)
    result: Dict[str, float] = {}
    start = time.perf_counter()
    if iters:
        runner.train()
        result['checkpoint'] = osp.join(work_dir, f'iter_{iters}.pth')
    result['train_s'] = time.perf_counter() - start
    if evaluate:
        start = time.perf_counter()
        metrics = runner.test()
        result['test_s'] = time.perf_counter() - start
        frames = len(runner.test_dataloader.sampler)
        result['fps'] = frames / result['test_s']
        result.update({k.split('/')[-1]: float(v)
                       for k, v in metrics.items()})
        metric = runner.test_evaluator.metrics[0]
        if getattr(metric, 'scored', None) is not None:
            result['scored'] = metric.scored
            result['num_classes'] = len(metric.dataset_meta['classes'])
    return result


def side_by_side_fps(arms: Dict[str, Tuple[str, str]],
                     videos: Sequence[str]) -> Dict[str, float]:
    """Frames per second of each trained arm, timed frame by frame in turns.

    Args:
        arms (dict): Arm name -> (config, checkpoint).
        videos (Sequence[str]): Folders of frames, each run as one stream.

    Returns:
        dict: Arm name -> frames per second of the model (pipeline and
        data loading excluded), medians of the per-frame latencies.
    """
    from .streaming_detector import StreamingDetector
    from .video_io import VideoFrames
    detectors = {arm: StreamingDetector.from_config(config, checkpoint)
                 for arm, (config, checkpoint) in arms.items()}
    latencies: Dict[str, List[float]] = {arm: [] for arm in arms}
    for video in videos:
        for detector in detectors.values():
            detector.reset()
        for frame in VideoFrames(video):
            for arm, detector in detectors.items():
                latencies[arm].append(detector.detect(frame)[1])
    return {arm: 1.0 / sorted(t)[len(t) // 2]
            for arm, t in latencies.items()}


COLUMNS = ('mAP', 'mAP_slow', 'mAP_medium', 'mAP_fast')


def comparison_table(results: Dict[str, dict],
                     intervals: Optional[Dict[str, dict]] = None,
                     columns: Sequence[str] = COLUMNS) -> str:
    """A Markdown table: one row per arm (mAP in %, ``fps``), then for two
    arms the second minus the first, with its interval when given.

    Args:
        results (dict): Arm name -> metrics (fractions) and ``fps``.
        intervals (dict, optional): Metric -> ``delta``, ``low``, ``high``
            (fractions), as :func:`paired_video_bootstrap` returns.
        columns (Sequence[str]): The mAP columns.

    Returns:
        str: The table.
    """
    header = ['arm', *columns, 'fps']
    rows = [header, ['---'] + ['---:'] * (len(header) - 1)]

    def pct(value) -> str:
        return '-' if value is None else f'{100 * value:.1f}'

    for arm, row in results.items():
        fps = row.get('fps')
        rows.append([arm] + [pct(row.get(c)) for c in columns] +
                    ['-' if fps is None else f'{fps:.1f}'])
    arms: List[str] = list(results)
    if len(arms) == 2:
        a, b = (results[arm] for arm in arms)
        cells = []
        for c in columns:
            if c not in a or c not in b:
                cells.append('')
                continue
            cell = f'{100 * (b[c] - a[c]):+.1f}'
            if intervals and c in intervals:
                cell += (f' ({100 * intervals[c]["low"]:+.1f}…'
                         f'{100 * intervals[c]["high"]:+.1f})')
            cells.append(cell)
        ratio = (f'{b["fps"] / a["fps"]:.2f}x'
                 if a.get('fps') and b.get('fps') else '')
        rows.append([f'{arms[1]} − {arms[0]}'] + cells + [ratio])
    return '\n'.join('| ' + ' | '.join(r) + ' |' for r in rows)
