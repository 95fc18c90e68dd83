"""Recognise actions online: one frame in, one running prediction out.

A thin CLI over :class:`tsm_mm.apis.OnlineRecogInferencer`: a causal TSM
recognizer runs frame by frame (``forward_stream``) under a progress bar;
each frame's running top-1 class (softmax of the mean logits so far, or
over the last ``--window`` frames) and the model's latency are drawn into
``--out``, and a summary is printed at the end. Class names: ``--classes``,
else the checkpoint's ``dataset_meta``, else the config's
``metainfo``/``label_map``, else indices.

Example:
    python tools/online_recognition.py \
        configs/toy/tsm_online_r18_toy_actions.py tsm_online.pth \
        data/toy_actions/rawframes/video_00000 \
        --classes data/toy_actions/classes.txt --out online.mp4
"""
import argparse
from typing import Optional, Sequence

import numpy as np
import torch

import tsm_mm  # noqa: F401  (registers the models)
from tsm_mm.apis import OnlineRecogInferencer
from tsm_mm.apis.video_io import VideoFrames
from tsm_mm.utils.output_paths import check_outputs


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='recognizer config (TSMResNet)')
    parser.add_argument('checkpoint', nargs='?', help='its weights (random '
                        'weights when left out: a smoke test)')
    parser.add_argument('input', help='a video file or a folder of frames '
                        '(natural order: 2.jpg before 10.jpg)')
    parser.add_argument('--out', help='an mp4 with the prediction drawn')
    parser.add_argument('--classes', help='class names, one per line '
                        '(default: the checkpoint\'s or config\'s)')
    parser.add_argument('--window', type=int, help='average the last N '
                        'frames (default: every frame so far)')
    parser.add_argument('--device', default='cuda:0' if
                        torch.cuda.is_available() else 'cpu')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an existing --out (never an input)')
    args = parser.parse_args(argv)
    try:
        check_outputs({'--out': args.out},
                      {'config': args.config, 'checkpoint': args.checkpoint,
                       'input': args.input, '--classes': args.classes},
                      args.overwrite)
        VideoFrames(args.input)
    except (FileNotFoundError, FileExistsError, ValueError) as err:
        parser.error(str(err))
    return args


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    if args.checkpoint is None:
        print('no checkpoint, random weights')
    inferencer = OnlineRecogInferencer(args.config, args.checkpoint,
                                       args.device, window=args.window,
                                       classes=args.classes,
                                       show_progress=True)
    latencies, prediction = [], None
    for result in inferencer.iter_video(args.input,
                                        out_file=args.out or ''):
        latencies.append(result.latency)
        prediction = result.prediction
    label = prediction['pred_labels'][0]
    print(f'\ntop-1 after frame {len(latencies) - 1}: '
          f'{prediction["pred_label_names"][0]} '
          f'({prediction["pred_scores"][label]:.2f})')
    print(f'median latency {1e3 * np.median(latencies):.1f} ms per frame')
    if args.out:
        print(f'{len(latencies)} frames -> {args.out}')


if __name__ == '__main__':
    main()
