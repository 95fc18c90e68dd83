"""Recognise actions online: one frame in, one running prediction out.

A causal TSM recognizer runs frame by frame (``forward_stream``); after
each frame it prints the running top-1 class (softmax of the mean logits
so far, or over the last ``--window`` frames) and the model's latency.

Example:
    python tools/online_recognition.py \
        configs/toy/tsm_online_r18_toy_actions.py tsm_online.pth \
        data/toy_actions/rawframes/video_00000 \
        --classes data/toy_actions/classes.txt --out online.mp4
"""
import argparse
from contextlib import nullcontext
from typing import List, Optional, Sequence

import cv2
import numpy as np
import torch

import tsm_mm  # noqa: F401  (registers the models)
from tsm_mm.apis.streaming_inference import OnlineRecognizer
from tsm_mm.apis.video_io import Mp4Writer, VideoFrames

MIN_HEIGHT = 240  # small frames are enlarged in the mp4 to keep text legible


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
        args.frames = VideoFrames(args.input)
    except (FileNotFoundError, ValueError) as err:
        parser.error(str(err))
    args.class_names = None
    if args.classes:
        try:
            with open(args.classes) as f:
                args.class_names = [line.strip() for line in f if
                                    line.strip()]
        except OSError as err:
            parser.error(f'cannot read --classes {args.classes}: {err}')
    return args


def annotate(frame: np.ndarray, text: str) -> np.ndarray:
    """The frame, enlarged if small, with ``text`` on a dark band."""
    if frame.shape[0] < MIN_HEIGHT:
        scale = MIN_HEIGHT / frame.shape[0]
        frame = cv2.resize(frame, None, fx=scale, fy=scale,
                           interpolation=cv2.INTER_NEAREST)
    frame = frame.copy()
    cv2.rectangle(frame, (0, 0), (frame.shape[1], 22), (0, 0, 0), -1)
    cv2.putText(frame, text, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                (255, 255, 255), 1, cv2.LINE_AA)
    return frame


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    if args.checkpoint is None:
        print('no checkpoint, random weights')
    recognizer = OnlineRecognizer.from_config(args.config, args.checkpoint,
                                              args.window, args.device)
    names: List[str] = args.class_names or list(
        recognizer.model.dataset_meta.get('classes') or
        map(str, range(recognizer.num_classes)))
    if len(names) != recognizer.num_classes:
        raise ValueError(f'{len(names)} class names ({args.classes}) for a '
                         f'model of {recognizer.num_classes} classes')
    frames = args.frames
    latencies = []
    with (Mp4Writer(args.out, frames.fps) if args.out else
          nullcontext()) as writer:
        for index, frame in enumerate(frames):
            step = recognizer.step(frame)
            score, label = step.scores.max(0)
            latencies.append(step.latency)
            text = (f'{names[label]} ({score:.2f}) '
                    f'{1e3 * step.latency:.1f} ms')
            print(f'frame {index:5d}: {text}')
            if writer is not None:
                writer.write(annotate(frame, f'{index}: {text}'))
    if writer is not None:
        print(f'{writer.num_frames} frames -> {args.out}')
    print(f'median latency {1e3 * np.median(latencies):.1f} ms per frame')


if __name__ == '__main__':
    main()
