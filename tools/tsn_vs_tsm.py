"""TSN vs TSM where time matters and where it does not (TSM, Table 1).

Two toy sets of the same kind of clips (tsm_mm/testing/toy_actions.py):
the temporal actions, whose class is the motion (compare_recognition's
default 6 classes), and their static control (``static=True``), whose class
is the object's colour family, seen in any single frame, while the clips
move all the same. TSN (configs/toy/tsn_r18_toy_actions.py) and TSM
(configs/toy/tsm_r18_toy_actions.py: 1/4 of the channels moved, residual
shift) train on each with the same schedule and seed through MMEngine's
Runner (``run_arm``). In the paper, TSM is about TSN on Kinetics (where
frames tell most classes) and far above it on Something-Something (where
only the order does).

Writes ``tsn_vs_tsm.json`` in the work dir and prints the table.

Example:
    python tools/tsn_vs_tsm.py --work-dir work_dirs/ablate --iters 300
"""
import argparse
import os.path as osp
import time
from typing import Dict, Optional, Sequence

import torch
from mmengine.fileio import dump
from terminaltables import AsciiTable

import tsm_mm  # noqa: F401  (registers the models)
from tsm_mm.apis import run_arm
from tsm_mm.apis.comparison import add_arm_arguments, rawframe_options
from tsm_mm.testing.toy_actions import make_toy_actions
from tsm_mm.utils import atomic_path

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
ARMS = {
    'TSN': osp.join(REPO, 'configs', 'toy', 'tsn_r18_toy_actions.py'),
    'TSM 1/4 blockres': osp.join(REPO, 'configs', 'toy',
                                 'tsm_r18_toy_actions.py'),
}
# set name -> (folder under the work dir, static)
SETS = {'temporal': ('toy_actions', False), 'static': ('toy_static', True)}


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/tsn_vs_tsm')
    parser.add_argument('--frame-size', type=int, default=32)
    add_arm_arguments(parser, iters=300)  # --videos: per toy set
    args = parser.parse_args(argv)
    for name in ('videos', 'iters', 'batch_size', 'threads'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1')
    if args.frame_size < 16:
        parser.error('--frame-size must be >= 16')
    return args


def toy_set(args: argparse.Namespace, folder: str, static: bool) -> str:
    """Generate a toy set in the work dir once; return its folder."""
    root = osp.join(args.work_dir, folder)
    if not osp.isdir(root):
        make_toy_actions(root, videos=args.videos, seed=args.seed,
                         size=args.frame_size, static=static,
                         val_fraction=args.val_fraction,
                         attributes=('x', 'y', 'log_scale'))
    return root


def table(results: Dict[str, Dict[str, dict]], chance: float) -> str:
    """Rows: the arms and TSM - TSN; columns: top-1 % per toy set."""
    sets = list(results)
    rows = [['arm'] + [f'{name} top-1 %' for name in sets]]
    for arm in ARMS:
        rows.append([arm] + [f'{100 * results[s][arm]["top1"]:.1f}'
                             for s in sets])
    tsn, tsm = ARMS
    rows.append([f'{tsm} - {tsn}'] + [
        f'{100 * (results[s][tsm]["top1"] - results[s][tsn]["top1"]):+.1f}'
        for s in sets
    ])
    rows.append(['chance'] + [f'{100 * chance:.1f}'] * len(sets))
    return AsciiTable(rows).table


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    results: Dict[str, Dict[str, dict]] = {}
    classes = {}
    for name, (folder, static) in SETS.items():
        root = toy_set(args, folder, static)
        with open(osp.join(root, 'classes.txt')) as f:
            classes[name] = [line.strip() for line in f if line.strip()]
        options = rawframe_options(root, len(classes[name]),
                                   args.batch_size, args.iters, args.lr)
        results[name] = {}
        for arm, config in ARMS.items():
            work_dir = osp.join(args.work_dir, f'{name}_{arm.split()[0]}')
            run = run_arm(config, work_dir, args.iters, lr=args.lr,
                          seed=args.seed, cfg_options=options)
            results[name][arm] = {k: run[k] for k in ('top1', 'train_s',
                                                      'checkpoint')}
    chance = 1 / len(classes['temporal'])
    report = dict(results=results, classes=classes, chance=chance,
                  wall_s=time.perf_counter() - start, args=vars(args))
    out = osp.join(args.work_dir, 'tsn_vs_tsm.json')
    with atomic_path(out) as tmp:
        dump(report, tmp, file_format='json', indent=1)
    print(f'\n{args.iters} iterations per arm, seed {args.seed}, '
          f'{args.videos} clips of {args.frame_size}x{args.frame_size} per '
          f'set; {report["wall_s"] / 60:.1f} min')
    print(table(results, chance))
    print(f'json: {out}')
    return report


if __name__ == '__main__':
    main()
