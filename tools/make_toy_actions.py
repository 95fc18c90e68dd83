"""Write the toy action clips (class only in the temporal order).

``--static`` writes the control set instead: the class is the object's
colour family, visible in any single frame; the clips move all the same.

Example::

    python tools/make_toy_actions.py data/toy_actions --videos 4000 \
        --contact-sheet data/toy_actions/contact_sheet.png
"""
import argparse
import time

from tsm_mm.testing.rawframe_lists import render_contact_sheet
from tsm_mm.testing.toy_actions import make_toy_actions
from tsm_mm.utils.output_paths import parse_args_checking_outputs


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out', help='output folder (must not exist or be '
                        'empty)')
    parser.add_argument('--videos', type=int, default=4000,
                        help='number of clips, a multiple of 10')
    parser.add_argument('--frames', type=int, default=8,
                        help='frames per clip')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--size', type=int, default=32,
                        help='side of the square frames in pixels')
    parser.add_argument('--val-fraction', type=float, default=0.1,
                        help='share of each class held out for validation')
    parser.add_argument('--static', action='store_true',
                        help='the class is the colour family (any frame '
                        'shows it), not the motion')
    parser.add_argument('--contact-sheet', metavar='PNG',
                        help='also save one training clip per class here')
    return parse_args_checking_outputs(
        parser, None, lambda a: {'--contact-sheet': a.contact_sheet})


def main() -> None:
    args = parse_args()
    start = time.perf_counter()
    stats = make_toy_actions(
        args.out,
        videos=args.videos,
        frames=args.frames,
        seed=args.seed,
        size=args.size,
        val_fraction=args.val_fraction,
        progress=True,
        static=args.static)
    print(f'\n{stats["num_train"]} train + {stats["num_val"]} val clips, '
          f'{stats["num_frames"]} frames in '
          f'{time.perf_counter() - start:.1f} s')
    if args.contact_sheet:
        render_contact_sheet(args.out, args.contact_sheet)
        print(f'contact sheet: {args.contact_sheet}')


if __name__ == '__main__':
    main()
