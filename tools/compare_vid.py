"""TSM vs 2D Faster R-CNN on ImageNet-VID (or the toy VID), side by side.

Both arms see the same data, schedule, seed and batches; only the backbone
differs. With ``--shared-2d-iters K`` both start from one 2D checkpoint
trained for K iterations (TSM adds no parameters, so it loads it as is),
as the paper starts from ImageNet weights; each then trains ``--iters``
more. Both are evaluated with VIDMetric, frame by frame in video order.

Example:
    python tools/compare_vid.py --toy --work-dir work_dirs/demo
    python tools/compare_vid.py --data-root data/ILSVRC2015 \
        --configs configs/vid_faster_rcnn_2d.py configs/vid_faster_rcnn_tsm.py
"""
import argparse
import glob
import json
import os
import os.path as osp
import time

import torch

import tsm_mm  # noqa: F401  (registers the models, datasets and metrics)
from tsm_mm.apis import comparison_table, plot_comparison, run_arm
from tsm_mm.apis.comparison import side_by_side_fps
from tsm_mm.datasets.convert_vid import convert_imagenet_vid
from tsm_mm.toy import make_toy_vid

TOY_CONFIGS = ('configs/toy/vid_faster_rcnn_2d_toy.py',
               'configs/toy/vid_faster_rcnn_tsm_toy.py')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument('--toy', action='store_true',
                        help='generate the toy VID in <work-dir>/toy_vid')
    source.add_argument('--data-root', help='an ILSVRC2015 tree whose '
                        'annotations/ holds the converted json')
    parser.add_argument('--configs', nargs=2, default=TOY_CONFIGS,
                        metavar=('CONFIG_2D', 'CONFIG_TSM'))
    parser.add_argument('--work-dir', default='work_dirs/compare_vid')
    parser.add_argument('--shared-2d-iters', type=int, default=300)
    parser.add_argument('--iters', type=int, default=450)
    parser.add_argument('--lr', type=float, default=0.01)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--train-videos', type=int, default=60)
    parser.add_argument('--val-videos', type=int, default=40)
    parser.add_argument('--fps-videos', type=int, default=4,
                        help='val videos timed side by side for fps')
    parser.add_argument('--threads', type=int, default=os.cpu_count())
    return parser.parse_args()


def toy_data(work_dir: str, args: argparse.Namespace) -> str:
    """Generate and convert the toy VID once; return its root."""
    root = osp.join(work_dir, 'toy_vid')
    ann_dir = osp.join(root, 'annotations')
    if not osp.isfile(osp.join(ann_dir, 'imagenet_vid_val.json')):
        make_toy_vid(root, train_videos=args.train_videos,
                     val_videos=args.val_videos, frames=16, seed=args.seed,
                     contact_sheet=osp.join(work_dir, 'toy_vid.png'))
        convert_imagenet_vid(root, ann_dir, splits=('train', 'val'))
    return root


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.work_dir, exist_ok=True)
    start = time.perf_counter()
    data_root = toy_data(args.work_dir, args) if args.toy else args.data_root
    config_2d, config_tsm = args.configs
    common = dict(lr=args.lr, data_root=data_root, seed=args.seed)
    shared = None
    if args.shared_2d_iters:
        shared = run_arm(config_2d, osp.join(args.work_dir, 'shared_2d'),
                         args.shared_2d_iters, evaluate=False,
                         **common)['checkpoint']
    results = {}
    for arm, config in (('2D', config_2d), ('TSM', config_tsm)):
        results[arm] = run_arm(config, osp.join(args.work_dir, arm.lower()),
                               args.iters, load_from=shared,
                               warmup=10 if shared else 50, **common)
    # test-loop fps include data loading and whatever else ran meanwhile:
    # time the two models on the same frames, in turns
    val_videos = sorted(glob.glob(osp.join(data_root, 'Data', 'VID', 'val',
                                           '*')))[:args.fps_videos]
    fps = side_by_side_fps(
        {arm: (config, results[arm]['checkpoint'])
         for arm, config in (('2D', config_2d), ('TSM', config_tsm))},
        val_videos)
    for arm, value in fps.items():
        results[arm]['fps'] = value
    wall = time.perf_counter() - start
    table = comparison_table(results)
    plot_comparison(results, osp.join(args.work_dir, 'compare_vid.png'))
    with open(osp.join(args.work_dir, 'compare_vid.json'), 'w') as f:
        json.dump(dict(results=results, wall_s=wall, args=vars(args)), f,
                  indent=1)
    print(f'\nTSM vs 2D Faster R-CNN, VID mAP (%) in streaming order; '
          f'{args.shared_2d_iters} shared 2D + {args.iters} iterations '
          f'each; {wall / 60:.1f} min in all')
    print(table)
    print(f'chart: {osp.join(args.work_dir, "compare_vid.png")}')


if __name__ == '__main__':
    main()
