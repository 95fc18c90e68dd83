"""Convert checkpoints to tsm_mm models (and tsm_mm recognizers back).

Layouts:
    official  mit-han-lab/temporal-shift-module TSM ResNets -> a tsm_mm
              Recognizer2D (TSMResNet + TSMHead).
    mmaction  MMAction2 ResNetTSM recognizers <-> tsm_mm TSMResNet ones
              (--direction to-tsm_mm | to-mmaction).
    mmdet     a 2D MMDetection detector with a ResNet backbone -> the same
              detector with StreamingTSMResNet (same keys; the config kept
              in meta['cfg'] gets the TSM backbone, edited as text: it is
              never executed).

Checkpoints are read with ``weights_only=True`` and MMEngine's allow-list
only (tsm_mm.engine.load_checkpoint_file): a file holding anything else is
refused.

Only ``meta`` and ``state_dict`` are written (no optimizer state).

Example:
    python tools/convert_checkpoint.py official \
        TSM_kinetics_RGB_resnet50_shift8_blockres_avg_segment8_e50.pth \
        tsm_r50_k400.pth
"""
import argparse

from tsm_mm.models.convert_checkpoint import (
    MMACTION_DIRECTIONS,
    convert_checkpoint_file,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Convert a checkpoint')
    parser.add_argument('layout', choices=['official', 'mmaction', 'mmdet'],
                        help='the layout of the input checkpoint')
    parser.add_argument('src', help='input checkpoint')
    parser.add_argument('dst', help='output checkpoint')
    parser.add_argument(
        '--direction', choices=MMACTION_DIRECTIONS, default='to-tsm_mm',
        help='mmaction: ResNetTSM -> TSMResNet (to-tsm_mm, layout read from '
        'the keys) or back (to-mmaction)')
    parser.add_argument(
        '--shift-place', choices=['blockres', 'block'], default='blockres',
        help='mmaction --direction to-mmaction: the shift_place of the '
        'target ResNetTSM')
    parser.add_argument(
        '--temporal-pool', action='store_true',
        help='mmaction --direction to-mmaction: the target ResNetTSM has '
        'temporal_pool')
    parser.add_argument('--num-segments', type=int, default=8,
                        help='mmdet: num_segments written into meta cfg')
    parser.add_argument('--shift-div', type=int, default=8,
                        help='mmdet: shift_div written into meta cfg')
    parser.add_argument(
        '--shift-direction', choices=['causal', 'bidirectional'],
        default='causal', help='mmdet: direction written into meta cfg')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    kwargs = dict(
        official={},
        mmaction=dict(direction=args.direction,
                      shift_place=args.shift_place,
                      temporal_pool=args.temporal_pool),
        mmdet=dict(num_segments=args.num_segments, shift_div=args.shift_div,
                   direction=args.shift_direction))[args.layout]
    converted = convert_checkpoint_file(args.layout, args.src, args.dst,
                                        **kwargs)
    source = converted['meta']['converted_from']
    print(f'wrote {args.dst}: {len(converted["state_dict"])} tensors, '
          f'from {source}')


if __name__ == '__main__':
    main()
