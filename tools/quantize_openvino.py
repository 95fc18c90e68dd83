"""Quantize an exported streaming detector step to int8 for OpenVINO.

NNCF's post-training quantization, calibrated on the frames of the config's
training videos (``--calib-dataloader``), each video streamed from zero
caches through the fp32 step so that the caches hold real past slots. It
writes OpenVINO IR (``.xml`` and ``.bin``) and the interface ``.json``
beside it; ``StreamingDetInferencer(cfg, 'step_int8.xml',
backend='openvino')``, ``tools/demo_video.py --backend openvino`` and
``tools/eval_backends.py --onnx step_int8.xml --backends openvino`` run it.

Example:
    python tools/export_onnx.py CONFIG CKPT --out step.onnx --shape 96 128
    python tools/quantize_openvino.py CONFIG step.onnx --out step_int8.xml
"""
import argparse
import os.path as osp
from typing import Optional, Sequence

from mmengine.config import DictAction
from mmengine.logging import print_log

from tsm_mm.apis import load_config
from tsm_mm.apis.dataset_videos import dataloader_videos, read_frames
from tsm_mm.deploy.quantize import calibration_inputs, quantize_step_openvino
from tsm_mm.utils.output_paths import parse_args_checking_outputs


def outputs_of(out: str) -> dict:
    """The files the tool writes, by what names them."""
    stem = osp.splitext(out)[0]
    return {'--out': out, 'the weights file of --out': stem + '.bin',
            'the interface file of --out': stem + '.json'}


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='int8 post-training quantization of an exported step '
        '(OpenVINO NNCF)')
    parser.add_argument('config', help='the video detector config')
    parser.add_argument('onnx', help='its whole step from '
                        'tools/export_onnx.py (the interface beside it)')
    parser.add_argument('--out', required=True,
                        help='the OpenVINO IR to write (.xml)')
    parser.add_argument('--calib-dataloader', default='train_dataloader',
                        help="the config's dataloader whose videos "
                        'calibrate')
    parser.add_argument('--frames', type=int, default=300,
                        help='calibration frames in all (whole videos, in '
                        'order, until this many)')
    parser.add_argument('--data-root', help='the dataset root (replaces '
                        "the config's data_root)")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings')
    args = parse_args_checking_outputs(
        parser, argv, lambda a: outputs_of(a.out),
        lambda a: {'config': a.config, 'onnx': a.onnx,
                   'the interface of onnx':
                   osp.splitext(a.onnx)[0] + '.json'})
    if not args.out.endswith('.xml'):
        parser.error(f'--out {args.out}: OpenVINO IR ends in .xml')
    if args.frames < 1:
        parser.error(f'--frames must be >= 1, got {args.frames}')
    args.interface = osp.splitext(args.onnx)[0] + '.json'
    if not osp.isfile(args.interface):
        parser.error(f'{args.interface}: the interface of {args.onnx} is '
                     'missing (tools/export_onnx.py writes it)')
    return args


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options, args.data_root)
    videos = dataloader_videos(cfg, args.calib_dataloader)
    feeds = calibration_inputs(args.onnx, args.interface,
                               (read_frames(v) for v in videos), args.frames)
    interface = quantize_step_openvino(args.onnx, args.interface, feeds,
                                       args.out)
    print_log(f'int8 step ({len(feeds)} calibration frames of '
              f'{args.calib_dataloader}) -> {args.out}', 'current')
    return interface


if __name__ == '__main__':
    main()
