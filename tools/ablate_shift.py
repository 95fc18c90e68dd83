"""How much to shift, and where: TSM's ablation (Lin et al., Fig. 2).

Trains TSM R-18 (configs/toy/tsm_r18_toy_actions.py) with each moved
proportion of channels (2 / shift_div in total: 1/8, 1/4, 1/2, all) and
each place of the shift (``block``: the input of the whole block, identity
path included, "in-place"; ``blockres``: only the residual branch), and
TSN, the same network without shift (proportion 0), all with the same data,
seed and schedule through MMEngine's Runner (``run_arm``). Reports top-1 on
the validation clips, and the latency of one 8-frame clip of each setting
(untrained weights; timed in turns in this process, ``--latency-threads``
threads) as ms and as a ratio to TSN: the paper's Fig. 2(a), the overhead of
shifting by moving data.

Data: the toy temporal actions (compare_recognition's default, 6 classes,
generated in ``<work-dir>/toy_actions``), or any MMAction2 rawframes dataset
(``--data-root`` with frames in ``<data-root>/rawframes``, ``--ann-train``,
``--ann-val``, ``--num-classes`` unless it has a ``classes.txt``).

Writes ``ablate_shift.json`` and ``ablate_shift.png`` in the work dir;
``--latency-only`` (no training, e.g. with more ``--latency-repeats`` on a
noisy machine) writes ``ablate_shift_latency.json``.

Example:
    python tools/ablate_shift.py --work-dir work_dirs/ablate --iters 300
"""
import argparse
import os.path as osp
import time
from fractions import Fraction
from functools import partial
from typing import Dict, Optional, Sequence

import torch
from matplotlib.figure import Figure
from mmengine.config import Config
from mmengine.fileio import dump
from terminaltables import AsciiTable

import tsm_mm  # noqa: F401  (registers the models)
from tsm_mm.apis import init_model, run_arm
from tsm_mm.apis.comparison import add_arm_arguments, rawframe_options
from tsm_mm.testing.toy_actions import make_toy_actions
from tsm_mm.utils import atomic_path, time_round_robin

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = {
    'TSN': osp.join(REPO, 'configs', 'toy', 'tsn_r18_toy_actions.py'),
    'TSM': osp.join(REPO, 'configs', 'toy', 'tsm_r18_toy_actions.py'),
}
PLACES = ('block', 'blockres')


def parse_proportion(text: str) -> Fraction:
    """``'1/8'``, ``'0.125'``, ... -> 0 or 2 / shift_div, shift_div a power
    of two up to 64 (it then divides every stage's channels exactly)."""
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        value = None
    if value != 0 and (value is None or value not in {
            Fraction(2, 2**k) for k in range(1, 7)}):
        raise argparse.ArgumentTypeError(
            f'{text!r} is not 0 or 2/shift_div for shift_div in 2, 4, ..., '
            '64 (e.g. 0, 1/8, 1/4, 1/2, 1)')
    return value


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/ablate_shift')
    parser.add_argument('--proportions', nargs='+', type=parse_proportion,
                        default=[Fraction(k, 8) for k in (0, 1, 2, 4, 8)],
                        help='moved proportions in total (0: TSN, always '
                        'run as the reference)')
    parser.add_argument('--places', nargs='+', choices=PLACES,
                        default=list(PLACES))
    parser.add_argument('--data-root', help='rawframes dataset (default: '
                        'toy actions generated in <work-dir>/toy_actions)')
    parser.add_argument('--ann-train', default='train_list.txt')
    parser.add_argument('--ann-val', default='val_list.txt')
    parser.add_argument('--num-classes', type=int,
                        help='default: the lines of <data-root>/classes.txt')
    parser.add_argument('--filename-tmpl', help="frame file names (the "
                        "configs': img_{:05}.jpg)")
    add_arm_arguments(parser, iters=300)
    parser.add_argument('--latency-size', type=int, default=224)
    parser.add_argument('--latency-repeats', type=int, default=10)
    parser.add_argument('--latency-threads', type=int, default=1)
    parser.add_argument('--latency-only', action='store_true',
                        help='only time the settings (no training)')
    args = parser.parse_args(argv)
    for name in ('iters', 'batch_size', 'threads', 'latency_size',
                 'latency_repeats', 'latency_threads', 'videos'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1')
    if args.num_classes is not None and args.num_classes < 2:
        parser.error('--num-classes must be >= 2')
    return args


def dataset(args: argparse.Namespace) -> tuple:
    """The data root and class names (generating the toy actions once)."""
    root = args.data_root or osp.join(args.work_dir, 'toy_actions')
    if not args.data_root and not osp.isdir(root):
        make_toy_actions(root, videos=args.videos, seed=args.seed,
                         val_fraction=args.val_fraction,
                         attributes=('x', 'y', 'log_scale'))
    for ann in (args.ann_train, args.ann_val):
        if not osp.isfile(osp.join(root, ann)):
            raise FileNotFoundError(f'--data-root {root} has no {ann}')
    classes_txt = osp.join(root, 'classes.txt')
    if args.num_classes is not None:
        return root, [str(k) for k in range(args.num_classes)]
    if not osp.isfile(classes_txt):
        raise FileNotFoundError(f'{classes_txt} is missing: give '
                                '--num-classes')
    with open(classes_txt) as f:
        return root, [line.strip() for line in f if line.strip()]


def shift_settings(proportions: Sequence[Fraction],
                   places: Sequence[str]) -> Dict[str, dict]:
    """Setting name -> proportion, place, shift_div and backbone options;
    TSN first, then by proportion and place."""
    settings = {'TSN': dict(proportion=Fraction(0), place='-', shift_div=0,
                            backbone={})}
    for value in sorted(set(proportions) - {0}):
        for place in places:
            div = int(2 / value)
            settings[f'TSM {value} {place}'] = dict(
                proportion=value, place=place, shift_div=div,
                backbone=dict(shift_div=div, shift_place=place))
    return settings


def setting_options(setting: dict, options: dict) -> tuple:
    """The config and the overrides of one setting."""
    config = CONFIGS['TSM' if setting['backbone'] else 'TSN']
    model = dict(options['model'], backbone=setting['backbone'])
    return config, dict(options, model=model)


def clip_latency(settings: Dict[str, dict], options: dict, size: int,
                 repeats: int) -> Dict[str, float]:
    """Median seconds per 8-frame clip (backbone and head) of each
    setting, untrained, timed in turns (``time_round_robin``)."""
    candidates = {}
    for name, setting in settings.items():
        config, overrides = setting_options(setting, options)
        cfg = Config.fromfile(config)
        cfg.merge_from_dict(overrides)
        model = init_model(cfg, default_scope='mmaction')
        clip = torch.randn(1, cfg.num_segments, 3, size, size)
        candidates[name] = partial(model.extract_feat, clip, stage='head',
                                   test_mode=True)
    with torch.no_grad():
        return time_round_robin(candidates, repeats, 2, 'cpu')


def table(rows: Dict[str, dict], title: str) -> str:
    """An ASCII table: one row per setting."""
    header = ['setting', 'moved', 'place', 'shift_div', 'top-1 %',
              'ms / clip', 'x TSN', 'train s']
    lines = [header] + [[
        name, str(row['proportion']), row['place'],
        str(row['shift_div'] or '-'),
        f'{100 * row["top1"]:.1f}' if 'top1' in row else '-',
        f'{row["latency_ms"]:.1f}', f'{row["latency_ratio"]:.3f}',
        f'{row["train_s"]:.0f}' if 'train_s' in row else '-'
    ] for name, row in rows.items()]
    return AsciiTable(lines, title).table


def plot(rows: Dict[str, dict], chance: float, path: str) -> None:
    """Top-1 and latency ratio vs the moved proportion, a line per place,
    TSN as the reference line."""
    fig = Figure(figsize=(9, 3.4))
    ax_acc, ax_lat = fig.subplots(1, 2)
    shifted = [r for r in rows.values() if r['shift_div']]
    values = sorted({r['proportion'] for r in shifted})
    xs = {v: i for i, v in enumerate(values)}
    for place in dict.fromkeys(r['place'] for r in shifted):
        mine = [r for r in shifted if r['place'] == place]
        x = [xs[r['proportion']] for r in mine]
        ax_acc.plot(x, [100 * r['top1'] for r in mine], 'o-', label=place)
        ax_lat.plot(x, [r['latency_ratio'] for r in mine], 'o-',
                    label=place)
    ax_acc.axhline(100 * rows['TSN']['top1'], color='grey', ls='--',
                   label='TSN (0)')
    ax_acc.axhline(100 * chance, color='grey', ls=':', label='chance')
    ax_lat.axhline(1.0, color='grey', ls='--', label='TSN')
    for ax, label in ((ax_acc, 'top-1 (%)'), (ax_lat, 'latency / TSN')):
        ax.set_xticks(range(len(values)), [str(v) for v in values])
        ax.set_xlabel('moved proportion of channels')
        ax.set_ylabel(label)
        ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    start = time.perf_counter()
    data_root, classes = dataset(args)
    options = rawframe_options(data_root, len(classes), args.batch_size,
                               args.iters, args.lr, args.ann_train,
                               args.ann_val, args.filename_tmpl)
    settings = shift_settings(args.proportions, args.places)
    torch.set_num_threads(args.latency_threads)
    latency = clip_latency(settings, options, args.latency_size,
                           args.latency_repeats)
    torch.set_num_threads(args.threads)
    rows: Dict[str, dict] = {}
    for name, setting in settings.items():
        rows[name] = dict(
            proportion=setting['proportion'], place=setting['place'],
            shift_div=setting['shift_div'], latency_ms=1e3 * latency[name],
            latency_ratio=latency[name] / latency['TSN'])
        if args.latency_only:
            continue
        config, overrides = setting_options(setting, options)
        work_dir = osp.join(args.work_dir, name.lower().replace(' ', '_')
                            .replace('/', '-'))
        result = run_arm(config, work_dir, args.iters, lr=args.lr,
                         seed=args.seed, cfg_options=overrides)
        rows[name].update({k: result[k]
                           for k in ('top1', 'train_s', 'checkpoint')})
    wall = time.perf_counter() - start
    chance = 1 / len(classes)
    report = dict(
        settings={name: dict(row, proportion=float(row['proportion']),
                             moved=str(row['proportion']))
                  for name, row in rows.items()},
        classes=classes, chance=chance, iters=args.iters, seed=args.seed,
        latency=dict(size=args.latency_size, frames=8,
                     threads=args.latency_threads,
                     repeats=args.latency_repeats),
        wall_s=wall, args=dict(vars(args), proportions=[
            str(p) for p in args.proportions]))
    report['table'] = table(
        rows, f' {len(classes)} classes, {args.iters} iterations, seed '
        f'{args.seed}, chance {100 * chance:.1f}%; latency: 8x'
        f'{args.latency_size}x{args.latency_size}, {args.latency_threads} '
        'thread(s) ')
    out = osp.join(args.work_dir, 'ablate_shift' +
                   ('_latency' if args.latency_only else ''))
    with atomic_path(out + '.json') as tmp:
        dump(report, tmp, file_format='json', indent=1)
    if not args.latency_only:
        plot(rows, chance, out + '.png')
    print(report['table'])
    print(f'{wall / 60:.1f} min; output: {out}.*')
    return report


if __name__ == '__main__':
    main()
