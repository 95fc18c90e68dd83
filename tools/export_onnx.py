"""Export a TSM model to ONNX: a streaming step with explicit caches, or a
clip.

Detector configs export backbone + neck + RPN head outputs, recognizer
configs the backbone. Streaming graphs take ``frame`` and ``cache_0 ...
cache_{K-1}`` and return the outputs and ``new_cache_0 ...``; the
interface (names and shapes) is printed and written next to the model as
``<out>.json``. Neither may be an input; an existing file is replaced
only with ``--overwrite``.

Example:
    python tools/export_onnx.py configs/toy/vid_faster_rcnn_tsm_toy.py \
        latest.pth --out tsm_step.onnx --shape 128 160
    python tools/export_onnx.py CONFIG --out clip.onnx --shape 224 224 --clip
"""
import argparse
import math
import os.path as osp
from typing import Optional

from mmengine.config import Config, DictAction
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner import load_checkpoint

import tsm_mm  # noqa: F401  (registers the models)
from tsm_mm.deploy import dump_interface, export_clip_onnx, export_stream_onnx
from tsm_mm.engine import CheckpointLoadError
from tsm_mm.utils.arg_types import positive_int
from tsm_mm.utils.output_paths import parse_args_checking_outputs


def network_stride(exported) -> Optional[int]:
    """The coarsest feature stride of the exported module: the RPN's
    largest anchor stride for a detector, else the backbone's deepest
    output (4 for the stem, times the stride of each stage up to it)."""
    if getattr(exported, 'with_rpn', False):
        strides = exported.rpn_head.prior_generator.strides
        return int(max(max(s) if isinstance(s, (tuple, list)) else s
                       for s in strides))
    backbone = exported
    if not hasattr(backbone, 'strides') or \
            not hasattr(backbone, 'out_indices'):
        return None
    deepest = max(backbone.out_indices)
    return 4 * math.prod(backbone.strides[:deepest + 1])


def check_shape(shape, stride: Optional[int]) -> None:
    """Refuse a frame size smaller than the network's stride."""
    if min(shape) <= 0:
        raise ValueError(f'--shape must be positive, got {shape}')
    if stride is not None and min(shape) < stride:
        raise ValueError(
            f'--shape {shape[0]} {shape[1]} is smaller than the network\'s '
            f'stride {stride}: its coarsest feature map would be empty. '
            f'Use at least {stride} {stride}.')


def interface_path(out: str) -> str:
    """The interface file written beside the model ``out``."""
    return osp.splitext(out)[0] + '.json'


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Export a TSM model to ONNX')
    parser.add_argument('config', help='model config file')
    parser.add_argument(
        'checkpoint', nargs='?', help='checkpoint (random weights if absent)')
    parser.add_argument('--out', required=True, help='the .onnx file')
    parser.add_argument(
        '--shape', type=int, nargs=2, required=True, metavar=('H', 'W'),
        help='height and width of the preprocessed frames')
    parser.add_argument(
        '--clip', action='store_true',
        help='export the offline backbone over one clip of num_segments '
        'frames instead of the streaming step')
    parser.add_argument(
        '--batch-size', type=positive_int, default=1,
        help='streams per step in the traced example')
    parser.add_argument(
        '--static-batch', action='store_true',
        help='fix the stream axis to --batch-size instead of declaring it '
        'dynamic')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, e.g. model.backbone.depth=50')
    args = parse_args_checking_outputs(
        parser, None,
        lambda a: {'--out': a.out,
                   'the interface file of --out': interface_path(a.out)},
        lambda a: dict(config=a.config, checkpoint=a.checkpoint))
    args.interface = interface_path(args.out)
    return args


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model = MODELS.build(cfg.model)
    exported = model if getattr(model, 'with_rpn', False) and \
        not args.clip else model.backbone
    check_shape(args.shape, network_stride(exported))
    if args.checkpoint is not None:
        try:
            load_checkpoint(model, args.checkpoint, map_location='cpu',
                            strict=True)
        except (CheckpointLoadError, FileNotFoundError):
            raise  # they name the file
        except Exception as err:  # keys or shapes that do not fit
            raise RuntimeError(f'{args.checkpoint} does not fit '
                               f'{args.config}: {err}') from err
    model.eval()
    if args.clip:
        interface = export_clip_onnx(exported, args.out, args.shape)
    else:
        interface = export_stream_onnx(
            exported, args.out, args.shape, batch_size=args.batch_size,
            dynamic_batch=not args.static_batch)
    dump_interface(interface, args.interface)
    print(f'wrote {args.out} ({interface["mode"]}, opset '
          f'{interface["opset"]}) and {args.interface}')
    for kind in ('inputs', 'outputs'):
        print(f'{kind}:')
        for spec in interface[kind]:
            print(f'  {spec["name"]:<20} {spec["shape"]}')
    if interface['caches']:
        print('caches (feed new_cache_k back as cache_k; zeros for a new '
              'stream):')
        for cache in interface['caches']:
            print(f'  {cache["input"]:<10} <- {cache["output"]:<14} '
                  f'{cache["shape"]}')


if __name__ == '__main__':
    main()
