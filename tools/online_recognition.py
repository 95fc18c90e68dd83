"""Recognise actions online: one frame in, one running prediction out.

A thin CLI over :class:`tsm_mm.apis.OnlineRecogInferencer`: a causal TSM
recognizer runs frame by frame (``forward_stream``); after each frame it
prints the running top-1 class (softmax of the mean logits so far, or over
the last ``--window`` frames) and the model's latency. Class names:
``--classes``, else the checkpoint's ``dataset_meta``, else the config's
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
    args = parser.parse_args(argv)
    try:
        VideoFrames(args.input)
    except (FileNotFoundError, ValueError) as err:
        parser.error(str(err))
    return args


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    if args.checkpoint is None:
        print('no checkpoint, random weights')
    inferencer = OnlineRecogInferencer(args.config, args.checkpoint,
                                       args.device, window=args.window,
                                       classes=args.classes)
    latencies = []
    for index, result in enumerate(inferencer.iter_video(
            args.input, out_file=args.out or '')):
        prediction = result.prediction
        label = prediction['pred_labels'][0]
        latencies.append(result.latency)
        print(f'frame {index:5d}: {prediction["pred_label_names"][0]} '
              f'({prediction["pred_scores"][label]:.2f}) '
              f'{1e3 * result.latency:.1f} ms')
    if args.out:
        print(f'{len(latencies)} frames -> {args.out}')
    print(f'median latency {1e3 * np.median(latencies):.1f} ms per frame')


if __name__ == '__main__':
    main()
