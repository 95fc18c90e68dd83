"""Convert ILSVRC2015 VID/DET (with FGFA's lists) to CocoVID json.

Example:
    python tools/convert_imagenet_vid.py --root data/ILSVRC2015 \
        --out data/ILSVRC2015/annotations
"""
import argparse

from tsm_mm.datasets.convert_vid import SPLIT_JSONS, convert_imagenet_vid


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='ImageNet VID/DET (ILSVRC2015 layout) to CocoVID json')
    parser.add_argument('--root', required=True,
                        help='ILSVRC2015 folder (Data/, Annotations/, '
                        'ImageSets/ with the FGFA lists)')
    parser.add_argument('--out', required=True,
                        help='folder for the json files and conversion.json, '
                        'which records the set they form (a dataset refuses '
                        'a set that a crash left half replaced)')
    parser.add_argument('--splits', nargs='+', default=list(SPLIT_JSONS),
                        choices=list(SPLIT_JSONS))
    parser.add_argument('--mmtracking-key-frames', action='store_true',
                        help='mark the frame before each of FGFA\'s train '
                        'key frames, as mmtracking\'s converter does (to '
                        'compare with mmtracking\'s numbers)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    paths = convert_imagenet_vid(args.root, args.out, args.splits,
                                 args.mmtracking_key_frames)
    for split, path in paths.items():
        print(f'{split}: {path}')


if __name__ == '__main__':
    main()
