"""Per-frame FLOPs and parameters of video detection configs.

MMDetection's ``tools/analysis_tools/get_flops.py`` fails on the video
configs (``TrackDataSample`` has no ``ori_shape``). This tool counts, with
MMEngine's ``FlopAnalyzer`` on random weights and a random frame (no data
needed), the network forward of tensor mode (backbone, neck, heads; no
post-processing), in the two ways the model runs:

* ``stream step``: one frame of a fresh stream, as the model runs at test
  time (a TSM backbone through its causal stream step);
* ``clip / T`` (TSM configs): the offline clip of ``num_segments`` frames,
  as in training, divided by T.

The shift moves channels and multiplies nothing, so a TSM detector and its
2D twin count the same FLOPs and parameters per frame. FLOPs are
multiply-adds as MMEngine (fvcore) counts them: adds, pools and NMS are not
counted. A two-stage detector's RoI head is counted on the full
``test_cfg.rpn.max_per_img`` proposals per frame (the RPN's NMS suppresses
none here), the most it runs on: how many an NMS keeps depends on the
weights. For recognition configs use MMAction2's own
``tools/analysis_tools/get_flops.py``, which works on them.

Example:
    python tools/get_flops.py configs/toy/vid_faster_rcnn_tsm_toy.py
    python tools/get_flops.py configs/vid_faster_rcnn_tsm.py --shape 600 1000
    python tools/get_flops.py --compare configs/vid_rtmdet_tiny_2d.py \
        configs/vid_rtmdet_tiny_tsm.py --out flops.json
"""
import argparse
import json
import math
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmdet.models.detectors import BaseDetector
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample, TrackDataSample
from mmengine.analysis import FlopAnalyzer, parameter_count
from mmengine.config import Config, DictAction
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import DefaultScope
from terminaltables import AsciiTable
from torch import nn

import tsm_mm  # noqa: F401  (registers the models)
from tsm_mm import apis
from tsm_mm.models.detectors.video_detector_mixin import VideoDetectorMixin
from tsm_mm.utils import atomic_path
from tsm_mm.utils.arg_types import positive_int
from tsm_mm.utils.output_paths import parse_args_checking_outputs

MMACTION_TOOL = ("MMAction2's tools/analysis_tools/get_flops.py CONFIG "
                 '--shape 8 3 224 224 (one clip of 8 frames; divide by 8 '
                 'for a frame), or mim run mmaction2 get_flops')


class FrameForward(nn.Module):
    """The detector's tensor-mode forward on one frame or one clip.

    Args:
        detector (nn.Module): The detector (a video detector or a stock
            MMDetection one).
        shape (tuple[int, int]): The padded frame size (H, W).
        clip_len (int): 1: a stream step (a fresh 1-frame stream for a TSM
            backbone); T: the offline clip of T frames.
    """

    def __init__(self, detector: nn.Module, shape: Tuple[int, int],
                 clip_len: int = 1) -> None:
        super().__init__()
        self.detector, self.shape, self.clip_len = detector, shape, clip_len

    def _frames(self) -> List[DetDataSample]:
        h, w = self.shape
        return [
            DetDataSample(metainfo=dict(
                img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w),
                batch_input_shape=(h, w), scale_factor=(1., 1.),
                video_id=0, frame_id=t, ori_video_length=self.clip_len))
            for t in range(self.clip_len)
        ]

    def forward(self, x: torch.Tensor):
        """Raw outputs for ``x``: (1, C, H, W) or (1, T, C, H, W)."""
        det = self.detector
        if not isinstance(det, VideoDetectorMixin):  # a stock detector
            return det._forward(x, self._frames())
        if self.clip_len > 1:  # the mixin runs N*T frames
            return det._forward(
                x, [TrackDataSample(video_data_samples=self._frames())])
        # the base detector's forward, as predict runs it per stream step
        forward = super(VideoDetectorMixin, det)._forward
        if not det.streams:
            return forward(x, self._frames())
        with det.backbone.stream_step(['get_flops'], [0], [1]):
            return forward(x, self._frames())


def find_scale(pipeline: Sequence) -> Optional[Tuple[int, int]]:
    """The (W, H) ``scale`` of the first ``Resize`` in a pipeline, looking
    inside wrappers (``TransformBroadcaster``); None if none."""
    for transform in pipeline or ():
        if transform.get('type') == 'Resize' and 'scale' in transform:
            scale = transform['scale']
            return (scale, scale) if isinstance(scale, int) else tuple(scale)
        found = find_scale(transform.get('transforms', ()))
        if found:
            return found
    return None


def load_config(path: str, cfg_options: Optional[dict]) -> Config:
    """The config with the options merged; a recognition config or one
    without a model is refused, naming the file."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'config {path} not found')
    cfg = apis.load_config(path, cfg_options)
    scope = cfg.get('default_scope', 'mmdet')
    if 'model' not in cfg:
        raise ValueError(f'config {path} has no model')
    if scope != 'mmdet':
        raise ValueError(
            f'config {path} is an {scope} config (model type '
            f"{cfg.model.get('type')!r}), not a detector: this tool counts "
            f'detectors; for recognizers use {MMACTION_TOOL}')
    return cfg


def frame_shape(cfg: Config, path: str,
                shape: Optional[Sequence[int]]) -> Tuple[int, int]:
    """(H, W) given by ``--shape``, else the test pipeline's Resize scale;
    padded to the data preprocessor's ``pad_size_divisor``."""
    if shape is None:
        scale = find_scale(cfg.get('test_dataloader', {}).get(
            'dataset', {}).get('pipeline'))
        if scale is None:
            raise ValueError(f'config {path}: no Resize scale in its test '
                             'pipeline; give the frame size: --shape H W')
        shape = scale[1], scale[0]
    divisor = cfg.model.get('data_preprocessor', {}).get(
        'pad_size_divisor', 1)
    return tuple(math.ceil(side / divisor) * divisor for side in shape)


def build_detector(cfg: Config, path: str) -> nn.Module:
    """The config's detector in eval mode, counting-ready: SyncBN reverted,
    the RPN's NMS suppressing nothing (a fixed number of proposals)."""
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
    if not isinstance(model, BaseDetector):
        raise ValueError(f'config {path}: {type(model).__name__} is not an '
                         'MMDetection detector; for recognizers use '
                         f'{MMACTION_TOOL}')
    model = revert_sync_batchnorm(model)
    model.eval()
    rpn_cfg = getattr(getattr(model, 'rpn_head', None), 'test_cfg', None)
    if rpn_cfg is not None:
        rpn_cfg['min_bbox_size'] = -1
        if rpn_cfg.get('nms') is not None:
            rpn_cfg['nms']['iou_threshold'] = 1.0
    return model


def count(detector: nn.Module, shape: Tuple[int, int],
          clip_len: int) -> Dict[str, int]:
    """FLOPs of the whole forward and of the backbone, per frame.

    Args:
        detector (nn.Module): From :func:`build_detector`.
        shape (tuple[int, int]): Padded frame size (H, W).
        clip_len (int): 1 (a stream step) or the clip's T.

    Returns:
        dict[str, int]: ``flops`` and ``backbone_flops`` per frame.
    """
    size = (1, 3, *shape) if clip_len == 1 else (1, clip_len, 3, *shape)
    analyzer = FlopAnalyzer(FrameForward(detector, shape, clip_len),
                            (torch.randn(size), ))
    analyzer.unsupported_ops_warnings(False)  # adds, pools, NMS
    analyzer.uncalled_modules_warnings(False)
    with torch.no_grad():
        total = analyzer.total()
        backbone = analyzer.by_module()['detector.backbone']
    if total % clip_len or backbone % clip_len:
        raise RuntimeError(f'the {clip_len}-frame clip counts {total} '
                           f'FLOPs ({backbone} in the backbone), which '
                           f'{clip_len} frames do not share equally')
    return dict(flops=total // clip_len, backbone_flops=backbone // clip_len)


def analyse(cfg: Config, path: str,
            shape: Tuple[int, int]) -> List[dict]:
    """One row per way the config's detector runs.

    Args:
        cfg (Config): The config (see :func:`load_config`).
        path (str): Its file, for the rows and messages.
        shape (tuple[int, int]): Padded frame size (H, W).

    Returns:
        list[dict]: ``config``, ``mode``, ``input`` (H, W), ``flops``,
        ``backbone_flops`` (per frame), ``params``, ``backbone_params``
        and ``proposals`` (the RoI head's per frame; None: one stage).
    """
    torch.manual_seed(0)
    detector = build_detector(cfg, path)
    rpn_cfg = getattr(getattr(detector, 'rpn_head', None), 'test_cfg', None)
    params = dict(params=parameter_count(detector)[''],
                  backbone_params=parameter_count(detector.backbone)[''],
                  proposals=rpn_cfg and rpn_cfg.get('max_per_img'))
    modes = [('stream step', 1)]
    if getattr(detector.backbone, 'num_shift_sites', 0):
        t = detector.backbone.num_segments
        modes.append((f'clip / T (T={t})', t))
    return [dict(config=path, mode=mode, input=list(shape),
                 **count(detector, shape, t), **params) for mode, t in modes]


def format_table(rows: List[dict]) -> str:
    """The rows as a text table (GFLOPs and millions of parameters)."""
    header = ['config', 'per frame', 'input HxW', 'GFLOPs',
              'backbone GFLOPs', 'params (M)', 'backbone params (M)']
    body = [[osp.basename(row['config']), row['mode'],
             'x'.join(map(str, row['input'])), f'{row["flops"] / 1e9:.4f}',
             f'{row["backbone_flops"] / 1e9:.4f}',
             f'{row["params"] / 1e6:.4f}',
             f'{row["backbone_params"] / 1e6:.4f}'] for row in rows]
    table = AsciiTable([header] + body)
    for col in range(3, len(header)):
        table.justify_columns[col] = 'right'
    return table.table


def ratios(first: List[dict], second: List[dict]) -> dict:
    """Second config's stream step over the first's (FLOPs, params)."""
    a, b = first[0], second[0]
    return {key: b[key] / a[key] for key in
            ('flops', 'backbone_flops', 'params', 'backbone_params')}


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('configs', nargs='*', metavar='CONFIG',
                        help='one detection config, or two to compare '
                        '(e.g. 2D then TSM)')
    parser.add_argument('--compare', nargs=2,
                        metavar=('CONFIG_2D', 'CONFIG_TSM'),
                        help='two configs: both tables and their ratio')
    parser.add_argument('--shape', nargs=2, type=positive_int,
                        metavar=('H', 'W'), help='frame size (default: the '
                        "test pipeline's Resize scale), padded as the data "
                        'preprocessor pads')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of every config, e.g. '
                        'model.backbone.depth=50')
    parser.add_argument('--out', help='also write the rows as JSON here')
    args = parse_args_checking_outputs(
        parser, argv, lambda a: {'--out': a.out},
        lambda a: {f'config {i}': c for i, c in enumerate(
            (a.configs or []) + (a.compare or []), 1)})
    if args.compare and args.configs:
        parser.error('give CONFIG, or CONFIG_2D CONFIG_TSM, or --compare '
                     'CONFIG_2D CONFIG_TSM; not both')
    args.configs = args.compare or args.configs
    if not 1 <= len(args.configs) <= 2:
        parser.error(f'give one config or two to compare, got '
                     f'{len(args.configs)}')
    if args.out is not None and not args.out.endswith('.json'):
        parser.error(f'--out must be a .json file, got {args.out}')
    try:  # refusals before any model is built
        args.cfgs = [load_config(path, args.cfg_options)
                     for path in args.configs]
        args.shapes = [frame_shape(cfg, path, args.shape)
                       for cfg, path in zip(args.cfgs, args.configs)]
    except (FileNotFoundError, ValueError) as err:
        parser.error(str(err))
    return args


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Count, print the table (and the ratio of two configs), write JSON.

    Args:
        argv (Sequence[str], optional): Command-line arguments; None reads
            ``sys.argv``.

    Returns:
        dict: ``rows`` (see :func:`analyse`) and, for two configs,
        ``ratio`` (second / first, stream step).
    """
    args = parse_args(argv)
    per_config = [analyse(*arms) for arms in
                  zip(args.cfgs, args.configs, args.shapes)]
    result = dict(rows=[row for rows in per_config for row in rows])
    print(format_table(result['rows']))
    if len(per_config) == 2:
        result['ratio'] = ratios(*per_config)
        names = [osp.basename(p) for p in args.configs]
        print(f'{names[1]} / {names[0]} per frame: ' + ', '.join(
            f'{key} {value:.4f}' for key, value in result['ratio'].items()))
    proposals = sorted({row['proposals'] for row in result['rows']
                        if row['proposals']})
    print('FLOPs: multiply-adds (adds, pools, NMS not counted)' +
          (f'; RoI heads on {"/".join(map(str, proposals))} proposals per '
           'frame (test_cfg.rpn.max_per_img)' if proposals else ''))
    if args.out:
        with atomic_path(args.out) as tmp, open(tmp, 'w') as f:
            json.dump(result, f, indent=1)
    return result


if __name__ == '__main__':
    main()
