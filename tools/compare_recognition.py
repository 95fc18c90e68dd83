"""TSN vs TSM vs online TSM on the toy temporal actions, side by side.

The three recognizers (configs/toy/*_<backbone>_toy_actions.py) differ
only in the backbone: a plain 2D network (TSN), TSM with the bidirectional
shift and TSM with the causal shift (online); ``--backbone`` picks ResNet-18
or MobileNetV2 (the edge model of the official online demo). Each trains
from scratch with the same data, schedule and seed, then is tested on the
validation clips. Also reported:

* the bidirectional TSM run causally (``direction='causal'``), offline and
  frame by frame (``OnlineRecognizer``), without retraining;
* the online TSM frame by frame (must equal its offline top-1);
* the cost per new frame of streaming (one frame through
  ``forward_stream``) vs re-running the last 8 frames as one clip, as
  MMAction2's webcam demo does, timed round-robin in this process.

The default data is three of the toy set's pairs: moving left/right,
up/down and receding/approaching (6 classes, 32x32 frames, 1080 train /
120 val clips). With 600 iterations per arm, TSM reached 99.2% and online
TSM 97.5% here (TSN 22.5%, chance 16.7%). All five pairs
(``--attributes x y log_scale angle opacity``, 10 classes) need more: TSM
alone reached 85.8% with 4000 clips and 1500 iterations (8 min).

Example:
    python tools/compare_recognition.py --work-dir work_dirs/compare_rec
    python tools/compare_recognition.py --backbone mobilenetv2 \
        --work-dir work_dirs/compare_rec_mbv2
"""
import argparse
import copy
import itertools
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence

import mmcv
import torch
from mmengine.config import Config
from mmengine.fileio import dump

import tsm_mm  # noqa: F401  (registers the models)
from tsm_mm.apis import OnlineRecognizer, frame_logits, init_model, run_arm
from tsm_mm.apis.comparison import add_arm_arguments, rawframe_options
from tsm_mm.testing.rawframe_lists import FILENAME_TMPL, read_rawframe_list
from tsm_mm.testing.toy_actions import ATTRIBUTES, make_toy_actions
from tsm_mm.utils import time_round_robin

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
# --backbone -> the infix of its toy action configs
BACKBONES = {'resnet18': 'r18', 'mobilenetv2': 'mobilenetv2'}
COLUMNS = ('top1', 'top1_stream', 'train_s')


def arm_configs(backbone: str = 'resnet18') -> Dict[str, str]:
    """The TSN, TSM and online TSM toy configs of ``backbone``."""
    if backbone not in BACKBONES:
        raise ValueError(f'backbone must be one of {list(BACKBONES)}, got '
                         f'{backbone!r}')
    return {
        arm: osp.join(REPO, 'configs', 'toy',
                      f'{name}_{BACKBONES[backbone]}_toy_actions.py')
        for arm, name in (('TSN', 'tsn'), ('TSM', 'tsm'),
                          ('TSM online', 'tsm_online'))
    }


CONFIGS = arm_configs('resnet18')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/compare_recognition')
    parser.add_argument('--backbone', default='resnet18',
                        choices=list(BACKBONES),
                        help='the network of the three arms')
    parser.add_argument('--data-root', help='toy actions to use (default: '
                        'generate them in <work-dir>/toy_actions)')
    parser.add_argument('--attributes', nargs='+',
                        default=['x', 'y', 'log_scale'],
                        choices=ATTRIBUTES, help='attributes whose two '
                        'directions are the classes')
    add_arm_arguments(parser, iters=600)
    parser.add_argument('--timing-repeats', type=int, default=30)
    parser.add_argument('--timing-sizes', type=int, nargs='+',
                        default=[32, 224], help='frame sides to time the '
                        'online model at (32: the trained size)')
    parser.add_argument('--timing-threads', type=int, default=1,
                        help='torch threads for the per-frame timings')
    args = parser.parse_args(argv)
    for name in ('iters', 'batch_size', 'timing_repeats', 'threads',
                 'timing_threads'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1')
    return args


def toy_data(args: argparse.Namespace) -> str:
    """Generate the toy actions once (or take ``--data-root``)."""
    if args.data_root:
        if not osp.isfile(osp.join(args.data_root, 'classes.txt')):
            raise FileNotFoundError(f'--data-root {args.data_root} has no '
                                    'classes.txt: not a toy actions folder')
        return args.data_root
    root = osp.join(args.work_dir, 'toy_actions')
    if not osp.isdir(root):
        make_toy_actions(root, videos=args.videos, seed=args.seed,
                         val_fraction=args.val_fraction,
                         attributes=args.attributes)
    return root


def stream_top1(config: str, checkpoint: str, data_root: str,
                options: dict) -> float:
    """Top-1 on the val clips, fed frame by frame (``OnlineRecognizer``)."""
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options)
    recognizer = OnlineRecognizer(init_model(cfg, checkpoint,
                                             default_scope='mmaction'))
    rows = read_rawframe_list(osp.join(data_root, 'val_list.txt'))
    correct = 0
    for video, num_frames, label in rows:
        recognizer.reset()
        for t in range(num_frames):
            step = recognizer.step(mmcv.imread(osp.join(
                data_root, 'rawframes', video, FILENAME_TMPL.format(t + 1))))
        correct += int(step.scores.argmax()) == label
    return correct / len(rows)


def per_frame_cost(config: str, checkpoint: str, options: dict,
                   repeats: int, size: int,
                   config_2d: str = CONFIGS['TSN']) -> Dict[str, float]:
    """Median seconds per new frame: streaming vs re-running the clip.

    Both end in the head's per-frame logits; the clip (``num_segments``
    frames, as MMAction2's webcam demo re-runs its window) also averages
    them. The TSN twin on one frame is the floor streaming can reach: a
    single 2D frame. Random frames of ``size`` pixels: the cost does not
    depend on the pixels. Timed in both memory formats: for one small NCHW
    frame torch's CPU convolution falls back to its slow im2col path
    (``_slow_conv2d_forward``), channels-last keeps oneDNN. ``config_2d``
    is the TSN twin's config.
    """
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options)
    model = init_model(cfg, checkpoint, default_scope='mmaction')
    tsn_cfg = Config.fromfile(config_2d)
    tsn_cfg.merge_from_dict(options)
    model_2d = init_model(tsn_cfg, default_scope='mmaction')
    segments = cfg.num_segments
    candidates = {}
    for fmt, memory_format in (('', torch.contiguous_format),
                               ('_channels_last', torch.channels_last)):
        tsm = copy.deepcopy(model).to(memory_format=memory_format)
        tsn = copy.deepcopy(model_2d).to(memory_format=memory_format)
        frame = torch.randn(1, 3, size, size).contiguous(
            memory_format=memory_format)
        clip = torch.randn(segments, 3, size, size).contiguous(
            memory_format=memory_format)

        def stream(m=tsm, x=frame) -> torch.Tensor:
            return frame_logits(m, m.backbone.forward_stream(x, ['timing']))

        def window(m=tsm, x=clip) -> torch.Tensor:
            return frame_logits(m, m.backbone(x)).mean(0)

        def frame_2d(m=tsn, x=frame) -> torch.Tensor:
            return frame_logits(m, m.backbone(x))

        candidates[f'stream{fmt}'], candidates[f'clip{fmt}'] = stream, window
        candidates[f'frame_2d{fmt}'] = frame_2d
    with torch.no_grad():
        medians = time_round_robin(candidates, repeats, 3, 'cpu')
    cost = dict(size=size, clip_frames=segments)
    for fmt in ('', '_channels_last'):
        stream_s, clip_s = medians[f'stream{fmt}'], medians[f'clip{fmt}']
        cost.update({f'stream_ms{fmt}': 1e3 * stream_s,
                     f'clip_ms{fmt}': 1e3 * clip_s,
                     f'frame_2d_ms{fmt}': 1e3 * medians[f'frame_2d{fmt}'],
                     f'speedup{fmt}': clip_s / stream_s})
    return cost


def table(results: Dict[str, dict], chance: float) -> str:
    """One row per arm: top-1 offline and frame by frame, train time."""
    lines = [f'| {"arm":<30} | {"top-1 %":>8} | {"stream %":>8} | '
             f'{"train s":>8} |', '|' + '-' * 32 + ('|' + '-' * 10) * 3 + '|']
    for arm, row in results.items():
        cells = [f'{100 * row[c]:>8.1f}' if c in row else f'{"-":>8}'
                 for c in COLUMNS[:2]]
        cells.append(f'{row["train_s"]:>8.0f}' if 'train_s' in row else
                     f'{"-":>8}')
        lines.append(f'| {arm:<30} | ' + ' | '.join(cells) + ' |')
    lines.append(f'| {"chance":<30} | {100 * chance:>8.1f} | {"":>8} | '
                 f'{"":>8} |')
    return '\n'.join(lines)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    os.makedirs(args.work_dir, exist_ok=True)
    start = time.perf_counter()
    data_root = toy_data(args)
    with open(osp.join(data_root, 'classes.txt')) as f:
        classes: List[str] = [line.strip() for line in f if line.strip()]
    options = rawframe_options(data_root, len(classes), args.batch_size,
                               args.iters, args.lr)
    common = dict(lr=args.lr, seed=args.seed, cfg_options=options)

    configs = arm_configs(args.backbone)
    results: Dict[str, dict] = {}
    for arm, config in configs.items():
        work_dir = osp.join(args.work_dir, arm.lower().replace(' ', '_'))
        results[arm] = run_arm(config, work_dir, args.iters, **common)
    causal = dict(options, model=dict(options['model'],
                                      backbone=dict(direction='causal')))
    tsm_ckpt = results['TSM']['checkpoint']
    results['TSM run causally'] = run_arm(
        configs['TSM'], osp.join(args.work_dir, 'tsm_causal'), 0,
        load_from=tsm_ckpt, **dict(common, cfg_options=causal))
    results['TSM run causally']['top1_stream'] = stream_top1(
        configs['TSM'], tsm_ckpt, data_root, causal)
    results['TSM online']['top1_stream'] = stream_top1(
        configs['TSM online'], results['TSM online']['checkpoint'],
        data_root, options)
    torch.set_num_threads(args.timing_threads)
    costs = [
        per_frame_cost(configs['TSM online'],
                       results['TSM online']['checkpoint'], options,
                       args.timing_repeats, size, configs['TSN'])
        for size in args.timing_sizes
    ]
    wall = time.perf_counter() - start

    report = dict(results=results, per_frame=costs, classes=classes,
                  chance=1 / len(classes), wall_s=wall, args=vars(args),
                  torch_threads=args.threads,
                  timing_threads=args.timing_threads)
    out = osp.join(args.work_dir, 'compare_recognition.json')
    dump(report, out + '.tmp', file_format='json', indent=1)
    os.replace(out + '.tmp', out)
    print(f'\n{args.backbone}, {len(classes)} classes '
          f'({", ".join(classes)}), '
          f'{args.iters} iterations each, seed {args.seed}; '
          f'{wall / 60:.1f} min in all')
    print(table(results, 1 / len(classes)))
    for cost, fmt in itertools.product(costs, ('', '_channels_last')):
        print(f'per new frame, {cost["size"]}x{cost["size"]}, '
              f'{fmt.strip("_") or "NCHW"}, {args.timing_threads} thread(s): '
              f'streaming {cost["stream_ms" + fmt]:.2f} ms, re-running '
              f'{cost["clip_frames"]} frames {cost["clip_ms" + fmt]:.2f} '
              f'ms: {cost["speedup" + fmt]:.1f}x cheaper (one 2D frame '
              f'{cost["frame_2d_ms" + fmt]:.2f} ms)')
    print(f'json: {out}')
    return report


if __name__ == '__main__':
    main()
