"""Detect objects in a video frame by frame and write an annotated mp4.

A thin CLI over :class:`tsm_mm.apis.StreamingDetInferencer`: each frame
enters the config's test pipeline and the model once, in order (a TSM
backbone keeps its per-video caches). The mp4 is H.264 (browsers play
it), each frame under a title band that box labels never cover. With
``--compare-2d``, a second (2D) detector runs on the same frames, drawn on
the right, and the per-frame latencies of both are plotted.

Example:
    python tools/demo_video.py configs/toy/vid_faster_rcnn_tsm_toy.py \
        tsm.pth data/toy_vid/Data/VID/val/ILSVRC2015_val_00000000 \
        --out demo.mp4 \
        --compare-2d configs/toy/vid_faster_rcnn_2d_toy.py 2d.pth
"""
import argparse
import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.utils import ProgressBar

import tsm_mm  # noqa: F401  (registers the models)
from tsm_mm.apis import StreamingDetInferencer
from tsm_mm.apis.video_io import Mp4Writer, VideoFrames
from tsm_mm.utils import atomic_path
from tsm_mm.utils.output_paths import check_outputs


def plot_frame_latency(latencies: Dict[str, Sequence[float]],
                       out_file: str) -> None:
    """Per-frame latency of one or more models as a PNG.

    Left: milliseconds per frame; right: their distribution (box plot,
    median labelled). Written atomically.

    Args:
        latencies (dict[str, Sequence[float]]): Seconds per frame, by model
            name.
        out_file (str): The PNG.
    """
    # the object API with the Agg canvas: no pyplot, no global backend
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator
    fig = Figure(figsize=(9, 3.5))
    FigureCanvasAgg(fig)
    line_ax, box_ax = fig.subplots(1, 2, width_ratios=(3, 1))
    milliseconds = {name: 1e3 * np.asarray(values, float)
                    for name, values in latencies.items()}
    for name, values in milliseconds.items():
        line_ax.plot(np.arange(len(values)), values, label=name, lw=1)
    line_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    line_ax.set_xlabel('frame')
    line_ax.set_ylabel('latency (ms)')
    line_ax.legend()
    box_ax.boxplot(list(milliseconds.values()), showfliers=False)
    box_ax.set_xticks(range(1, len(milliseconds) + 1), list(milliseconds))
    for i, values in enumerate(milliseconds.values(), 1):
        box_ax.annotate(f'{np.median(values):.1f}', (i, np.median(values)),
                        textcoords='offset points', xytext=(12, 0),
                        fontsize=8, va='center')
    box_ax.set_title('median (ms)', fontsize=9)
    fig.tight_layout()
    with atomic_path(out_file) as tmp_file:
        fig.savefig(tmp_file, dpi=110, format='png')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='detector config (VideoFasterRCNN)')
    parser.add_argument('checkpoint', nargs='?', help='its weights (random '
                        'weights when left out: a smoke test)')
    parser.add_argument('input', help='a video file or a folder of frames '
                        '(natural order: 2.jpg before 10.jpg)')
    parser.add_argument('--out', required=True, help='the annotated mp4')
    parser.add_argument('--compare-2d', nargs='+',
                        metavar=('CONFIG_2D', 'CKPT_2D'),
                        help='a second detector (and its weights) to run '
                        'on the same frames')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='draw boxes scoring at least this')
    parser.add_argument('--latency-png', help='plot of per-frame latency '
                        '(default with --compare-2d: <out>_latency.png)')
    parser.add_argument('--device', default='cuda:0' if
                        torch.cuda.is_available() else 'cpu')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace existing output files (never an '
                        'input)')
    args = parser.parse_args(argv)
    if args.compare_2d is not None and len(args.compare_2d) > 2:
        parser.error('--compare-2d takes CONFIG_2D [CKPT_2D]')
    if args.compare_2d and args.latency_png is None:
        args.latency_png = osp.splitext(args.out)[0] + '_latency.png'
    compare_2d = dict(zip(('--compare-2d config', '--compare-2d checkpoint'),
                          args.compare_2d or ()))
    try:
        check_outputs({'--out': args.out, '--latency-png': args.latency_png},
                      dict(config=args.config, checkpoint=args.checkpoint,
                           input=args.input, **compare_2d), args.overwrite)
        args.frames = VideoFrames(args.input)
    except (FileNotFoundError, FileExistsError, ValueError) as err:
        parser.error(str(err))
    return args


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    # boxes touching the border are drawn clipped: nothing to warn about
    warnings.filterwarnings('ignore', message='Warning: The .* is out of '
                            'bounds')
    arms = {'TSM': (args.config, args.checkpoint)}
    if args.compare_2d:
        arms['2D'] = (args.compare_2d[0], (args.compare_2d[1:] or [None])[0])
    inferencers: Dict[str, StreamingDetInferencer] = {}
    for name, (config, checkpoint) in arms.items():
        if checkpoint is None:
            print(f'{name}: no checkpoint, random weights')
        inferencers[name] = StreamingDetInferencer(
            config, checkpoint, args.device, score_thr=args.score_thr)
        inferencers[name].reset()

    frames = args.frames
    latencies: Dict[str, List[float]] = {name: [] for name in arms}
    progress = ProgressBar(frames.num_frames)
    with Mp4Writer(args.out, frames.fps) as writer:
        for frame in frames:
            panels = []
            for name, inferencer in inferencers.items():
                result = inferencer.infer_frame(frame, draw=True, title=name)
                latencies[name].append(result.latency)
                panels.append(result.visualization)
            writer.write(np.concatenate(panels, axis=1))
            progress.update()
    print(f'\n{writer.num_frames} frames -> {args.out}')
    for name, values in latencies.items():
        print(f'{name}: median {1e3 * np.median(values):.1f} ms per frame')
    if args.latency_png:
        plot_frame_latency(latencies, args.latency_png)
        print(f'latency plot -> {args.latency_png}')


if __name__ == '__main__':
    main()
