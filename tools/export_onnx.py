"""Export a TSM model to ONNX: its whole streaming step with explicit
caches, its backbone's step, or a clip.

A detector config exports the whole step, frame to final detections:
``(frame, img_shape, scale_factor, cache_0..K-1) -> (boxes, scores,
labels, new_cache_0..K-1)`` with backbone, neck, head, decoding, NMS and
rescaling in standard ONNX ops; a recognizer config exports ``(frame,
caches) -> (logits, new caches)``. ``--backbone-only`` exports the
backbone's features instead, ``--clip`` the offline backbone over one
clip. The interface (names, shapes, preprocessing, test resize, classes)
is printed and written next to the model as ``<out>.json``: with it the
graph runs on ONNX Runtime or OpenVINO alone
(``StreamingDetInferencer(..., backend='openvino')``). Neither output may
be an input; an existing file is replaced only with ``--overwrite``.

Example:
    python tools/export_onnx.py configs/toy/vid_rtmdet_tsm_toy.py \
        latest.pth --out rtmdet_step.onnx --shape 96 128
    python tools/export_onnx.py CONFIG --out clip.onnx --shape 224 224 --clip
"""
import argparse
import math
import os.path as osp
from typing import Optional

from mmengine.config import DictAction

import tsm_mm  # noqa: F401  (registers the models)
from tsm_mm.apis import init_model, load_config
from tsm_mm.apis.frame_pipelines import config_test_resize
from tsm_mm.deploy import (
    dump_interface,
    export_clip_onnx,
    export_detector_onnx,
    export_recognizer_onnx,
    export_stream_onnx,
)
from tsm_mm.engine import CheckpointLoadError
from tsm_mm.utils.arg_types import positive_int
from tsm_mm.utils.output_paths import parse_args_checking_outputs


def network_stride(exported) -> Optional[int]:
    """The coarsest feature stride of the exported module: its head's
    largest prior stride for a detector, else the backbone's deepest
    output (4 for the stem, times the stride of each stage up to it)."""
    head = getattr(exported, 'rpn_head', None) or \
        getattr(exported, 'bbox_head', None)
    if hasattr(head, 'prior_generator'):
        strides = head.prior_generator.strides
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
        '--backbone-only', action='store_true',
        help="export the backbone's streaming step (features out) instead "
        'of the whole detector or recognizer')
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
    cfg = load_config(args.config, args.cfg_options)
    recognizer = cfg.get('default_scope') == 'mmaction' or \
        'cls_head' in cfg.model
    try:
        model = init_model(cfg, args.checkpoint, 'cpu',
                           'mmaction' if recognizer else 'mmdet')
    except (CheckpointLoadError, FileNotFoundError):
        raise  # they name the file
    except RuntimeError as err:  # keys or shapes that do not fit
        if args.checkpoint is None:
            raise
        raise RuntimeError(f'{args.checkpoint} does not fit '
                           f'{args.config}: {err}') from err
    whole = not (args.clip or args.backbone_only)
    check_shape(args.shape, network_stride(
        model if whole and not recognizer else model.backbone))
    batch = dict(batch_size=args.batch_size,
                 dynamic_batch=not args.static_batch)
    if args.clip:
        interface = export_clip_onnx(model.backbone, args.out, args.shape)
    elif not whole:
        interface = export_stream_onnx(model.backbone, args.out, args.shape,
                                       **batch)
    elif recognizer:
        interface = export_recognizer_onnx(model, args.out, args.shape,
                                           **batch)
    else:
        interface = export_detector_onnx(
            model, args.out, args.shape, **batch,
            resize=config_test_resize(cfg))
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
