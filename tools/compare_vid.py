"""TSM vs 2D detectors on ImageNet-VID (or the toy VID), side by side.

For each detector family (``--detector``: Faster R-CNN, RetinaNet, RTMDet,
YOLOX) the two arms are its 2D and TSM configs. Both arms see the same
data, schedule, seed and batches; only the backbone differs. With
``--shared-2d-iters K`` both start from one 2D checkpoint trained for K
iterations (TSM adds no parameters, so it loads it as is),
as the paper starts from ImageNet weights; each then trains ``--iters``
more. Both are tested on every frame of every val video, in video order,
with VIDMetric (devkit mAP, motion split by ``--motion-rule``); the
difference TSM - 2D gets a 95% interval from a paired bootstrap over
videos, which leaves out training noise: ``--seeds K`` repeats the
training with seeds 0..K-1 (same data) and reports their spread.

Example:
    python tools/compare_vid.py --toy --work-dir work_dirs/demo
    python tools/compare_vid.py --toy --seeds 2 \
        --detector faster_rcnn retinanet rtmdet yolox
    python tools/compare_vid.py --summarize work_dirs/*/compare_vid.json
    python tools/compare_vid.py --data-root data/ILSVRC2015 --detector rtmdet
"""
import argparse
import glob
import json
import os
import os.path as osp
import time
from typing import Dict, List

import numpy as np
import torch
from matplotlib.figure import Figure
from mmengine.config import DictAction

import tsm_mm  # noqa: F401  (registers the models, datasets and metrics)
from tsm_mm.apis import comparison_table, run_arm
from tsm_mm.apis.comparison import (
    COLUMNS,
    DETECTOR_FAMILIES,
    family_configs,
    side_by_side_fps,
)
from tsm_mm.datasets.convert_vid import convert_imagenet_vid
from tsm_mm.evaluation.functional import MOTION_RULES, paired_video_bootstrap
from tsm_mm.testing import make_toy_vid
from tsm_mm.utils import atomic_path

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                   'configs')
ARMS = ('2D', 'TSM')
TITLES = dict(faster_rcnn='Faster R-CNN', retinanet='RetinaNet',
              rtmdet='RTMDet', yolox='YOLOX')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument('--toy', action='store_true',
                        help='generate the toy VID in <work-dir>/toy_vid')
    source.add_argument('--data-root', help='an ILSVRC2015 tree whose '
                        'annotations/ holds the converted json')
    source.add_argument('--summarize', nargs='+', metavar='JSON',
                        help='only print the per-family table of saved '
                        'runs (their compare_vid.json), training nothing')
    parser.add_argument('--detector', nargs='+', choices=DETECTOR_FAMILIES,
                        default=['faster_rcnn'],
                        help='detector families, each compared in turn')
    parser.add_argument('--configs', nargs=2,
                        metavar=('CONFIG_2D', 'CONFIG_TSM'),
                        help="instead of the family's configs")
    parser.add_argument('--work-dir', default='work_dirs/compare_vid')
    parser.add_argument('--shared-2d-iters', type=int, default=200)
    parser.add_argument('--iters', type=int, default=450)
    parser.add_argument('--lr', type=float, default=None,
                        help="peak learning rate; default: the config's")
    parser.add_argument('--seeds', type=int, default=1,
                        help='train with seeds 0..K-1; mean ± std over them')
    parser.add_argument('--data-seed', type=int, default=0,
                        help='seed of the generated toy VID')
    parser.add_argument('--train-videos', type=int, default=60)
    parser.add_argument('--val-videos', type=int, default=40)
    parser.add_argument('--motion-rule', choices=MOTION_RULES,
                        default='fgfa')
    parser.add_argument('--draws', type=int, default=1000,
                        help='bootstrap draws over videos')
    parser.add_argument('--fps-videos', type=int, default=4,
                        help='val videos timed side by side for fps')
    parser.add_argument('--threads', type=int, default=os.cpu_count())
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, default={},
        help='overrides of both configs, e.g. '
        'model.train_cfg.rcnn.sampler.num=32')
    args = parser.parse_args()
    for name in ('seeds', 'iters', 'draws'):
        if getattr(args, name) < 1:
            parser.error(f'--{name} must be >= 1')
    if args.configs and len(args.detector) > 1:
        parser.error('--configs names the arms of one comparison, got '
                     f'--detector {" ".join(args.detector)}')
    return args


def toy_data(work_dir: str, args: argparse.Namespace) -> str:
    """Generate and convert the toy VID once; return its root."""
    root = osp.join(work_dir, 'toy_vid')
    ann_dir = osp.join(root, 'annotations')
    if not osp.isfile(osp.join(ann_dir, 'imagenet_vid_val.json')):
        make_toy_vid(root, train_videos=args.train_videos,
                     val_videos=args.val_videos, frames=16,
                     seed=args.data_seed,
                     contact_sheet=osp.join(work_dir, 'toy_vid.png'))
        convert_imagenet_vid(root, ann_dir, splits=('train', 'val'))
    return root


def train_and_test(args: argparse.Namespace, configs: List[str],
                   data_root: str, seed: int,
                   work_dir: str) -> Dict[str, dict]:
    """Both arms of one seed: metrics, bootstrap interval, checkpoints."""
    config_2d, config_tsm = configs
    common = dict(lr=args.lr, data_root=data_root, seed=seed,
                  cfg_options={
                      'test_evaluator.motion_rule': args.motion_rule,
                      **args.cfg_options
                  })
    shared = None
    if args.shared_2d_iters:
        shared = run_arm(config_2d, osp.join(work_dir, 'shared_2d'),
                         args.shared_2d_iters, evaluate=False,
                         **common)['checkpoint']
    arms = {}
    for arm, config in zip(ARMS, (config_2d, config_tsm)):
        arms[arm] = run_arm(config, osp.join(work_dir, arm.lower()),
                            args.iters, load_from=shared,
                            warmup=10 if shared else 50, **common)
    scored = {arm: arms[arm].pop('scored') for arm in ARMS}
    intervals = paired_video_bootstrap(
        scored['2D'], scored['TSM'], arms['2D'].pop('num_classes'),
        num_draws=args.draws, seed=seed, motion_rule=args.motion_rule)
    arms['TSM'].pop('num_classes')
    for value in intervals.values():
        value.pop('draws')
    return dict(arms=arms, intervals=intervals)


def summary(runs: List[dict]) -> str:
    """Mean ± std over seeds of each arm and of the difference."""
    lines = ['| arm | ' + ' | '.join(COLUMNS) + ' |',
             '|---|' + '---:|' * len(COLUMNS)]
    table = {arm: [[run['arms'][arm][c] for c in COLUMNS] for run in runs]
             for arm in ARMS}
    table[f'{ARMS[1]} − {ARMS[0]}'] = [
        [run['arms'][ARMS[1]][c] - run['arms'][ARMS[0]][c] for c in COLUMNS]
        for run in runs]
    for name, values in table.items():
        values = 100 * np.array(values)
        sign = '+' if '−' in name else ''
        lines.append(f'| {name} | ' + ' | '.join(
            f'{m:{sign}.1f} ± {s:.1f}' for m, s in zip(
                np.nanmean(values, 0), np.nanstd(values, 0, ddof=1))) +
            ' |')
    return '\n'.join(lines)


def plot(runs: List[dict], fps: Dict[str, float], path: str) -> None:
    """mAP per arm (one dot per seed), TSM - 2D with its 95% interval,
    and the per-frame latency measured side by side, as a PNG."""
    fig = Figure(figsize=(10, 3.4))
    ax_map, ax_delta, ax_fps = fig.subplots(
        1, 3, gridspec_kw=dict(width_ratios=[3, 3, 1.2]))
    xs = np.arange(len(COLUMNS))
    for i, arm in enumerate(ARMS):
        values = 100 * np.array([[r['arms'][arm][c] for c in COLUMNS]
                                 for r in runs])
        bars = ax_map.bar(xs + (i - 0.5) * 0.4, np.nanmean(values, 0), 0.4,
                          label=arm)
        ax_map.bar_label(bars, fmt='%.1f', fontsize=7)
        for row in values:
            ax_map.plot(xs + (i - 0.5) * 0.4, row, 'k.', ms=3)
    ax_map.set_xticks(xs, COLUMNS, fontsize=8)
    ax_map.set_ylabel('mAP (%)')
    ax_map.legend(fontsize=8)
    for k, run in enumerate(runs):
        shift = (k - (len(runs) - 1) / 2) * 0.15
        deltas = [100 * run['intervals'][c]['delta'] for c in COLUMNS]
        lows = [100 * run['intervals'][c]['low'] for c in COLUMNS]
        highs = [100 * run['intervals'][c]['high'] for c in COLUMNS]
        ax_delta.errorbar(xs + shift, deltas,
                          yerr=[np.subtract(deltas, lows),
                                np.subtract(highs, deltas)],
                          fmt='o', capsize=3, label=f'seed {k}')
    ax_delta.axhline(0, color='grey', lw=0.8)
    ax_delta.set_xticks(xs, COLUMNS, fontsize=8)
    ax_delta.set_ylabel('TSM − 2D (mAP points, 95% CI)')
    if len(runs) > 1:
        ax_delta.legend(fontsize=7)
    ms = [1000 / fps[arm] for arm in ARMS]
    bars = ax_fps.bar(ARMS, ms, color=['C0', 'C1'])
    ax_fps.bar_label(bars, fmt='%.1f', fontsize=7)
    ax_fps.set_ylabel('ms per frame (side by side)')
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format='png')


def compare_family(args: argparse.Namespace, family: str,
                   configs: List[str], data_root: str,
                   work_dir: str) -> dict:
    """Train and test both arms of one family over the seeds, time them
    side by side, chart and save it all; print its tables."""
    start = time.perf_counter()
    runs = []
    for seed in range(args.seeds):
        runs.append(train_and_test(
            args, configs, data_root, seed,
            work_dir if args.seeds == 1 else osp.join(work_dir,
                                                       f'seed{seed}')))
    # test-loop fps include data loading and whatever else ran meanwhile:
    # time the two models on the same frames, in turns
    val_videos = sorted(glob.glob(osp.join(data_root, 'Data', 'VID', 'val',
                                           '*')))[:args.fps_videos]
    fps = side_by_side_fps(
        {arm: (config, runs[0]['arms'][arm]['checkpoint'])
         for arm, config in zip(ARMS, configs)}, val_videos)
    wall = time.perf_counter() - start
    chart = osp.join(work_dir, 'compare_vid.png')
    plot(runs, fps, chart)
    result = dict(family=family, configs=configs, runs=runs, fps=fps,
                  wall_s=wall, args=vars(args))
    with atomic_path(osp.join(work_dir, 'compare_vid.json')) as tmp:
        with open(tmp, 'w') as f:
            json.dump(result, f, indent=1)
    title = (' vs '.join(osp.basename(c) for c in configs[::-1])
             if args.configs else f'TSM vs 2D {TITLES[family]}')
    print(f'\n{title}, VID mAP (%) on every val frame, '
          f'frame by frame in video order ({args.motion_rule} motion rule); '
          f'{args.shared_2d_iters} shared 2D + {args.iters} iterations '
          f'each; {wall / 60:.1f} min')
    for seed, run in enumerate(runs):
        results = {arm: dict(run['arms'][arm], fps=fps[arm] if seed == 0
                             else None) for arm in ARMS}
        print(f'\nseed {seed} (TSM − 2D with a 95% paired bootstrap '
              f'interval over videos):')
        print(comparison_table(results, run['intervals']))
    if len(runs) > 1:
        print(f'\nmean ± std over {len(runs)} training seeds:')
        print(summary(runs))
    else:
        print('\nThe interval is over val videos for this one training '
              'run; it leaves out training noise (another seed or CPU '
              'moves the gain by a few points): --seeds K measures that '
              'spread.')
    print(f'\nchart: {chart}')
    return result


def family_table(results: List[dict]) -> str:
    """One row per family: mAP of both arms and TSM − 2D (mean ± std over
    seeds, each seed's gain, seed 0's interval over videos), the gains by
    motion speed and the per-frame latency ratio TSM / 2D."""
    lines = ['| detector | 2D mAP | TSM mAP | TSM − 2D (each seed) | '
             '95% CI, seed 0 | slow | medium | fast | latency TSM / 2D |',
             '|---|---:|---:|---:|---:|---:|---:|---:|---:|']

    def spread(values: np.ndarray, sign: str = '') -> str:
        text = f'{np.mean(values):{sign}.1f}'
        if len(values) > 1:
            text += f' ± {np.std(values, ddof=1):.1f}'
        return text

    for result in results:
        runs = result['runs']

        def points(arm: str, column: str = 'mAP', runs=runs) -> np.ndarray:
            return 100 * np.array([run['arms'][arm][column] for run in runs])

        gains = points('TSM') - points('2D')
        each = ', '.join(f'{g:+.1f}' for g in gains)
        ci = runs[0]['intervals']['mAP']
        speeds = [spread(points('TSM', c) - points('2D', c), '+')
                  for c in COLUMNS[1:]]
        ratio = result['fps']['2D'] / result['fps']['TSM']
        lines.append(
            f'| {result["family"]} | {spread(points("2D"))} | '
            f'{spread(points("TSM"))} | {spread(gains, "+")} ({each}) | '
            f'{100 * ci["low"]:+.1f}…{100 * ci["high"]:+.1f} | ' +
            ' | '.join(speeds) + f' | {ratio:.2f} |')
    return '\n'.join(lines)


def main() -> None:
    args = parse_args()
    if args.summarize:
        results = []
        for path in args.summarize:
            with open(path) as f:
                results.append(json.load(f))
        print(family_table(results))
        return
    torch.set_num_threads(args.threads)
    os.makedirs(args.work_dir, exist_ok=True)
    start = time.perf_counter()
    data_root = toy_data(args.work_dir, args) if args.toy else args.data_root
    results = []
    for family in args.detector:
        configs = args.configs or list(
            family_configs(CONFIGS, family, args.toy))
        work_dir = (args.work_dir if len(args.detector) == 1 else
                    osp.join(args.work_dir, family))
        results.append(compare_family(args, family, configs, data_root,
                                      work_dir))
    if len(results) > 1:
        print(f'\nTSM vs 2D per detector family, VID mAP (%) over '
              f'{args.seeds} training seeds; '
              f'{(time.perf_counter() - start) / 60:.1f} min in all')
        print(family_table(results))


if __name__ == '__main__':
    main()
