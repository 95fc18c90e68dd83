"""Time the VID metric (devkit mAP + FGFA motion split) on synthetic data.

    python tools/benchmark_vid_metric.py --num-frames 176126 --dets 30
"""
import argparse
import json
import platform

from tsm_mm.testing.synthetic_vid import bench_vid_metric


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--num-frames', type=int, default=176126,
                        help='frames (ImageNet-VID val: 176126)')
    parser.add_argument('--dets', type=int, default=30,
                        help='detections per frame')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    result = bench_vid_metric(args.num_frames, args.dets, args.seed)
    result['machine'] = f'{platform.machine()} {platform.processor()}'.strip()
    print(json.dumps(result, indent=2))


if __name__ == '__main__':
    main()
