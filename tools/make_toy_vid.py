"""Write a toy ImageNet-VID in the ILSVRC2015 layout.

Example:
    python tools/make_toy_vid.py data/toy_vid --contact-sheet sheet.png
"""
import argparse
import json
import time

from tsm_mm.testing import make_toy_vid
from tsm_mm.utils.output_paths import parse_args_checking_outputs


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write a toy ImageNet-VID (ILSVRC2015 layout + FGFA '
        'lists) where past frames resolve what single frames cannot.')
    parser.add_argument('out_dir', help='folder to create (must not exist '
                        'or be empty)')
    parser.add_argument('--train-videos', type=int, default=50)
    parser.add_argument('--val-videos', type=int, default=20)
    parser.add_argument('--frames', type=int, default=16,
                        help='frames per video')
    parser.add_argument('--det-images', type=int, default=30)
    parser.add_argument('--size', type=int, nargs=2, default=(160, 120),
                        metavar=('WIDTH', 'HEIGHT'))
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--contact-sheet', metavar='PNG',
                        help='save a grid of frames with boxes drawn')
    return parse_args_checking_outputs(
        parser, None, lambda a: {'--contact-sheet': a.contact_sheet})


def main() -> None:
    args = parse_args()
    start = time.perf_counter()
    stats = make_toy_vid(args.out_dir, train_videos=args.train_videos,
                         val_videos=args.val_videos, frames=args.frames,
                         seed=args.seed, det_images=args.det_images,
                         size=args.size, contact_sheet=args.contact_sheet)
    print(json.dumps(stats, indent=2))
    print(f'wrote {args.out_dir} in {time.perf_counter() - start:.1f} s')


if __name__ == '__main__':
    main()
