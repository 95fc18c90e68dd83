"""Side-by-side benchmarks of tsm_mm, reported as ratios from one run.

Each group times its candidates round-robin in one process (medians over
repeats), so machine noise hits them alike. Prints a table and writes JSON.

Example:
    python tools/benchmark.py --out work_dirs/benchmark.json
    python tools/benchmark.py --device cuda --groups shift backbone
    python tools/benchmark.py --groups dataset --phase test \
        --config configs/toy/vid_faster_rcnn_tsm_toy.py
    OMP_NUM_THREADS=1 python tools/benchmark.py --groups cost3d
"""
import argparse
import copy
import functools
import json
import os
import os.path as osp
import platform
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from terminaltables import AsciiTable
from torch import nn

import tsm_mm  # noqa: F401  (patches mmaction's import)
from tsm_mm.ops import temporal_shift
from tsm_mm.ops.temporal_shift import restore_slot_, stream_slot, swap_slot_
from tsm_mm.utils import atomic_path, time_round_robin
from tsm_mm.utils.arg_types import positive_int
from tsm_mm.utils.output_paths import parse_args_checking_outputs

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
GROUPS: Dict[str, Callable] = {}
# columns every row has; any other key of a row becomes an extra column
BASE_KEYS = ('group', 'name', 'median_ms', 'ratio', 'vs')


def group(fn: Callable) -> Callable:
    """Register a benchmark group under its function name."""
    GROUPS[fn.__name__] = fn
    return fn


def rows(title: str, medians: Dict[str, float], base: str) -> List[dict]:
    """Table rows: each candidate's median and its ratio to ``base``."""
    return [dict(group=title, name=name, median_ms=1e3 * sec,
                 ratio=sec / medians[base], vs=base)
            for name, sec in medians.items()]


@group
def shift(args) -> List[dict]:
    """The shift vs one clone of the tensor and vs MMAction2's shift."""
    from mmaction.models.backbones.resnet_tsm import TemporalShift
    x = torch.randn(8, 256, 56, 56, device=args.device)
    with torch.no_grad():
        medians = time_round_robin({
            'x.clone()': x.clone,
            'temporal_shift': lambda: temporal_shift(x, 8),
            'temporal_shift causal':
            lambda: temporal_shift(x, 8, direction='causal'),
            'mmaction TemporalShift.shift':
            lambda: TemporalShift.shift(x, 8, shift_div=8),
        }, args.repeats * 4, 3, args.device)
    out = rows('shift (8x256x56x56)', medians, 'x.clone()')
    out.append(dict(group='shift (8x256x56x56)',
                    name='mmaction shift / temporal_shift', median_ms=None,
                    ratio=medians['mmaction TemporalShift.shift'] /
                    medians['temporal_shift'], vs='speed-up'))
    return out


@group
def backbone(args) -> List[dict]:
    """TSM-R50 vs the plain R-50 forward on one 8-frame 224x224 clip."""
    from mmaction.models.backbones import ResNet

    from tsm_mm.models.backbones import TSMResNet
    r50 = ResNet(50, pretrained=None).to(args.device)
    r50.eval()
    tsm = TSMResNet(50, num_segments=8).to(args.device).eval()
    tsm.load_state_dict(r50.state_dict())
    clip = torch.randn(8, 3, 224, 224, device=args.device)
    with torch.no_grad():
        medians = time_round_robin({'R-50': lambda: r50(clip),
                                    'TSM-R50': lambda: tsm(clip)},
                                   args.repeats, 1, args.device)
    return rows('backbone 8x3x224x224', medians, 'R-50')


class SlotMovesOnly:
    """Hooks moving each shift site's slot in place as a stream step does,
    for one stream and without stream state: the floor of the step."""

    def __init__(self, sites: Sequence[nn.Module], shift_div: int = 8):
        self.shift_div = shift_div
        self.caches: Dict[nn.Module, torch.Tensor] = {}
        self.swapped: List[Tuple[torch.Tensor, torch.Tensor]] = []
        for site in sites:
            site.register_forward_pre_hook(self.swap)
            site.register_forward_hook(self.restore)

    def swap(self, site: nn.Module, args: tuple) -> None:
        x_slot = args[0][:, stream_slot(args[0].shape[1] // self.shift_div)]
        cached = self.caches.get(site)
        if cached is not None and cached.shape != x_slot.shape:
            cached = None  # another frame size: another stream
        self.caches[site] = swap_slot_(x_slot, cached)
        self.swapped.append((x_slot, self.caches[site]))

    def restore(self, site: nn.Module, args: tuple, out) -> None:
        restore_slot_(*self.swapped.pop())


@group
def streaming(args) -> List[dict]:
    """Per new frame: streaming TSM vs 2D at each ``--stream-sizes``, and
    vs an 8-frame window at the first size (timed in turns with streaming
    only, apart from the 2D pair)."""
    from mmdet.models.backbones import ResNet

    from tsm_mm.models.backbones import StreamingTSMResNet, TSMResNet
    from tsm_mm.models.backbones.shift_mixin import blockres_blocks
    r50 = ResNet(50).to(args.device)
    r50.eval()
    stream = StreamingTSMResNet(50, routed=True).to(args.device).eval()
    stream.load_state_dict(r50.state_dict())
    window_model = TSMResNet(50, num_segments=8, direction='causal',
                             out_indices=(0, 1, 2, 3)).to(args.device).eval()
    floor = ResNet(50).to(args.device)
    floor.load_state_dict(r50.state_dict())
    floor.eval()
    SlotMovesOnly([block.conv1 for block in blockres_blocks(
        [getattr(floor, name) for name in floor.res_layers])])
    for param in stream.parameters():  # no graph in the copying step
        param.requires_grad_(False)

    def copying_step(x: torch.Tensor, sid: str):
        with torch.enable_grad():
            return stream.forward_stream(x, [sid])

    out = []
    for i, (h, w) in enumerate(args.stream_sizes):
        frame = torch.randn(1, 3, h, w, device=args.device)
        pair = {  # the per-frame ratio, without the window's heavy calls
            'R-50 2D, one frame': lambda x=frame: r50(x),
            'TSM streaming, one frame':
            lambda x=frame, sid=f'{h}x{w}': stream.forward_stream(x, [sid]),
            # with autograd on, a step copies the frame (no in-place swap)
            'TSM streaming, copying step':
            lambda x=frame, sid=f'copy {h}x{w}': copying_step(x, sid),
            # the same slot moves without stream state: the step's floor
            'R-50 + slot moves only': lambda x=frame: floor(x),
        }
        title = f'per new frame {w}x{h}'
        with torch.no_grad():
            medians = time_round_robin(pair, args.repeats, 2, args.device)
            out += rows(title, medians, 'R-50 2D, one frame')
            if i:
                continue
            clip = torch.randn(8, 3, h, w, device=args.device)
            window = time_round_robin(
                {'streaming': pair['TSM streaming, one frame'],
                 'window': lambda x=clip: window_model(x)}, args.repeats, 1,
                args.device)
        out.append(dict(group=title, name='TSM 8-frame window',
                        median_ms=1e3 * window['window'], ratio=None,
                        vs='(timed in turns with streaming)'))
        out.append(dict(group=title, name='window / streaming',
                        median_ms=None,
                        ratio=window['window'] / window['streaming'],
                        vs='speed-up'))
    return out


@group
def cache(args) -> List[dict]:
    """Cache bytes per stream (R-50, 1000x600) vs sum of C_in/8*H*W*4."""
    from tsm_mm.models.backbones import StreamingTSMResNet
    model = StreamingTSMResNet(50).eval()
    expected, hooks = [], []
    for layer in (model.layer1, model.layer2, model.layer3, model.layer4):
        for block in layer:
            hooks.append(block.conv1.register_forward_pre_hook(
                lambda m, a: expected.append(
                    a[0].shape[1] // 8 * a[0].shape[2] * a[0].shape[3] * 4)))
    with torch.no_grad():
        model.forward_stream(torch.randn(1, 3, 600, 1000), ['s'])
    measured = model.stream_caches.nbytes('s')
    return [dict(group='cache per stream R-50 1000x600',
                 name=f'{measured / 2**20:.2f} MiB measured',
                 median_ms=None, ratio=measured / sum(expected),
                 vs='sum C_in/8*H*W*4')]


def _site_cache_bytes(model, sites, frame) -> int:
    """Sum of C_in/8*H*W*4 over the inputs of ``sites`` for ``frame``."""
    shapes = []
    hooks = [site.register_forward_pre_hook(
        lambda m, a: shapes.append(a[0].shape)) for site in sites]
    with torch.no_grad():
        model.forward_stream(frame, ['probe'])
    model.reset_streams(['probe'])
    for hook in hooks:
        hook.remove()
    return sum(c // model.shift_div * h * w * 4 for _, c, h, w in shapes)


@group
def edge(args) -> List[dict]:
    """MobileNetV2-TSM vs R-50-TSM per new frame, 1 thread, and caches."""
    from mmaction.models.backbones import MobileNetV2, ResNet

    from tsm_mm.models.backbones import TSMMobileNetV2, TSMResNet
    from tsm_mm.models.backbones.shift_mixin import blockres_blocks
    from tsm_mm.models.backbones.tsm_mobilenet_v2 import residual_blocks
    size = args.frame_size
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    frame = torch.randn(1, 3, size, size, device=args.device)
    clip = torch.randn(8, 3, size, size, device=args.device)
    nets = {}
    for name, net_2d, tsm in (
            ('MobileNetV2', MobileNetV2(), TSMMobileNetV2(
                direction='causal')),
            ('R-50', ResNet(50, pretrained=None), TSMResNet(
                50, direction='causal'))):
        tsm.load_state_dict(net_2d.state_dict())
        net_2d.to(args.device).eval()
        nets[name] = (net_2d, tsm.to(args.device).eval())
    candidates = {}
    for name, (net_2d, tsm) in nets.items():
        candidates[f'{name} 2D, one frame'] = lambda m=net_2d: m(frame)
        candidates[f'{name} TSM streaming'] = (
            lambda m=tsm: m.forward_stream(frame, ['s']))
        candidates[f'{name} TSM 8-frame window'] = lambda m=tsm: m(clip)
    try:
        with torch.no_grad():
            medians = time_round_robin(candidates, args.repeats, 2,
                                       args.device)
    finally:
        torch.set_num_threads(threads)
    title = f'edge per frame {size}x{size} 1 thr'
    out = rows(title, medians, 'R-50 2D, one frame')
    for name in nets:
        out.append(dict(group=title, name=f'{name} window / streaming',
                        median_ms=None,
                        ratio=medians[f'{name} TSM 8-frame window'] /
                        medians[f'{name} TSM streaming'], vs='speed-up'))
    sites = {'MobileNetV2': [b.conv[0] for b in residual_blocks(
        nets['MobileNetV2'][1])],
             'R-50': [b.conv1 for b in blockres_blocks(
                 [getattr(nets['R-50'][1], n)
                  for n in nets['R-50'][1].res_layers])]}
    demo_bytes = 108192  # the official online demo's 10 buffers at 224x224
    for name, (_, tsm) in nets.items():
        measured = tsm.stream_caches.nbytes('s')
        out.append(dict(group=f'cache per stream {size}x{size}',
                        name=f'{name} {measured / 1024:.1f} KiB measured',
                        median_ms=None, ratio=measured / _site_cache_bytes(
                            tsm, sites[name], frame),
                        vs='sum C_in/8*H*W*4'))
    if size == 224:
        measured = nets['MobileNetV2'][1].stream_caches.nbytes('s')
        out.append(dict(group='cache per stream 224x224',
                        name='MobileNetV2 vs official demo', median_ms=None,
                        ratio=measured / demo_bytes,
                        vs=f'demo {demo_bytes / 1024:.1f} KiB'))
    return out


@group
def detector(args) -> List[dict]:
    """Each detector family per frame: streaming TSM vs its 2D twin; the
    toy configs (160x128 frames) or, with ``--detector-configs vid``, the
    ImageNet-VID configs at their test scale."""
    from mmdet.registry import MODELS
    from mmdet.structures import DetDataSample, TrackDataSample
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from tsm_mm.apis.comparison import DETECTOR_FAMILIES, family_configs
    from tsm_mm.apis.frame_pipelines import config_test_resize
    init_default_scope('mmdet')
    toy = args.detector_configs == 'toy'
    out = []
    for family in DETECTOR_FAMILIES:
        configs = family_configs(osp.join(REPO, 'configs'), family, toy)
        if toy:
            (w, h), (pad_w, pad_h) = (160, 120), (160, 128)
        else:  # a 4:3 frame resized by the config, padded to 32
            scale = config_test_resize(Config.fromfile(configs[1]))['scale']
            w = min(max(scale), round(min(scale) * 4 / 3))
            h = w * 3 // 4
            pad_w, pad_h = -(-w // 32) * 32, -(-h // 32) * 32
        frame = torch.randn(1, 1, 3, pad_h, pad_w, device=args.device)
        models, step = {}, {}
        for arm, config in zip(('2D', 'TSM streaming'), configs):
            torch.manual_seed(0)  # the same weights: TSM adds none
            models[arm] = MODELS.build(
                Config.fromfile(config).model).to(args.device).eval()
            step[arm] = 0

        def run(arm: str, models=models, step=step, w=w, h=h,
                pad=(pad_h, pad_w), frame=frame) -> None:
            meta = dict(video_id=0, frame_id=step[arm], img_shape=(h, w),
                        ori_shape=(h, w), scale_factor=(1., 1.),
                        pad_shape=pad, batch_input_shape=pad)
            track = TrackDataSample()
            track.video_data_samples = [DetDataSample(metainfo=meta)]
            models[arm].predict(frame, [track])
            step[arm] += 1

        with torch.no_grad():
            medians = time_round_robin(
                {f'{family} {arm}': functools.partial(run, arm)
                 for arm in models}, args.repeats * (4 if toy else 1), 2,
                args.device)
        rows_ = rows(f'{"toy" if toy else "VID"} {family} {pad_w}x{pad_h} '
                     'per frame', medians, f'{family} 2D')
        for row in rows_:
            row['fps'] = 1e3 / row['median_ms']
        out += rows_
    return out


@group
def dataset(args) -> List[dict]:
    """Items per second of a config's dataloader, one worker (MMDetection's
    ``benchmark.py --task dataset`` asserts on clip pipelines)."""
    import time

    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner

    from tsm_mm.apis import load_config
    if not args.config:
        raise SystemExit('benchmark.py: --groups dataset needs --config')
    cfg = load_config(args.config, data_root=args.data_root)
    loader_cfg = cfg.get(f'{args.phase}_dataloader')
    if not loader_cfg:
        raise SystemExit(f'benchmark.py: {args.config} has no '
                         f'{args.phase}_dataloader')
    loader_cfg = dict(loader_cfg, num_workers=0, persistent_workers=False)
    with DefaultScope.overwrite_default_scope(
            cfg.get('default_scope', 'mmdet')):
        items = iter(Runner.build_dataloader(loader_cfg, seed=0))
        seconds = []
        for _ in range(args.items):
            start = time.perf_counter()
            if next(items, None) is None:
                break
            seconds.append(time.perf_counter() - start)
    if not seconds:
        raise SystemExit(f'benchmark.py: the {args.phase} dataloader of '
                         f'{args.config} gave no item')
    seconds.sort()
    return [dict(group=f'dataset {args.phase} {osp.basename(args.config)}',
                 name=f'{len(seconds)} items, 1 worker',
                 median_ms=1e3 * seconds[len(seconds) // 2], ratio=1.0,
                 vs='', items_per_s=len(seconds) / sum(seconds))]


# the three models of the paper's Table 5 at CPU scale, as MMAction2 and
# tsm_mm configure them (trusted installed/in-repo configs, no weights)
COST3D_CONFIGS = {
    'TSN-R50': 'mmaction::recognition/tsn/'
    'tsn_imagenet-pretrained-r50_8xb32-1x1x8-100e_kinetics400-rgb.py',
    'TSM-R50': osp.join(REPO, 'configs', 'recognition',
                        'tsm_r50_1x1x8_50e_kinetics400.py'),
    'I3D-R50': 'mmaction::recognition/i3d/'
    'i3d_imagenet-pretrained-r50_8xb8-32x2x1-100e_kinetics400-rgb.py',
}


class WholeRecognizer(nn.Module):
    """A recognizer's backbone and head as ``forward(inputs)``: tracers
    (``mmengine.analysis``) pass positional inputs only."""

    def __init__(self, recognizer: nn.Module) -> None:
        super().__init__()
        self.recognizer = recognizer

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.recognizer(inputs, stage='head')


def build_cost3d_models(device: str = 'cpu'
                        ) -> Dict[str, Tuple[nn.Module, bool]]:
    """TSN-R50, TSM-R50 (8 segments) and I3D-R50, 400 classes, random
    weights, eval mode.

    Args:
        device (str): Where the models go.

    Returns:
        dict[str, tuple[nn.Module, bool]]: Each name's model (called as
        ``model(inputs)``) and whether it takes 3D clips (N, 1, C, T, H, W)
        rather than frames (N, T, C, H, W).
    """
    from mmaction.registry import MODELS
    from mmengine.config import Config
    from mmengine.hub import get_config
    from mmengine.registry import DefaultScope
    models = {}
    for name, path in COST3D_CONFIGS.items():
        cfg = (get_config(path) if '::' in path else
               Config.fromfile(path)).model
        cfg.backbone.pretrained = None  # no download; timing needs none
        if name == 'I3D-R50':
            cfg.backbone.pretrained2d = False
        if cfg.cls_head.num_classes != 400:
            raise ValueError(f'{path}: expected a Kinetics-400 head, got '
                             f'{cfg.cls_head.num_classes} classes')
        with DefaultScope.overwrite_default_scope('mmaction'):
            recognizer = MODELS.build(cfg)
        models[name] = (WholeRecognizer(recognizer).to(device).eval(),
                        cfg.type == 'Recognizer3D')
    return models


def complexity(model: nn.Module, inputs: torch.Tensor) -> Tuple[int, int]:
    """FLOPs (multiply-adds, as fvcore/mmengine count) and parameters."""
    from mmengine.analysis import FlopAnalyzer, parameter_count
    flops = FlopAnalyzer(model, (inputs, ))
    flops.unsupported_ops_warnings(False)  # adds, pools: not counted
    flops.uncalled_modules_warnings(False)
    return flops.total(), parameter_count(model)['']


@group
def cost3d(args) -> List[dict]:
    """TSN vs TSM vs I3D (R-50, Kinetics-400 heads) on one 8-frame clip:
    latency (batch 1), throughput (``--cost3d-batch``), FLOPs, params.

    I3D also runs on the 32-frame clip of MMAction2's I3D config
    (32x2x1): with 8 frames its stem and pool2 leave one time step.
    """
    size, batch = args.cost3d_size, args.cost3d_batch
    models = build_cost3d_models(args.device)
    arms = {}  # row name -> (model, frames, takes 3D clips)
    for name, (model, is_3d) in models.items():
        for frames in ((8, 32) if is_3d else (8, )):
            arms[f'{name} {frames}f'] = (model, frames, is_3d)

    def clip(n: int, frames: int, is_3d: bool) -> torch.Tensor:
        shape = ((n, 1, 3, frames, size, size) if is_3d else
                 (n, frames, 3, size, size))
        return torch.randn(shape, device=args.device)

    candidates, costs = {}, {}
    with torch.no_grad():
        for name, (model, frames, is_3d) in arms.items():
            one, many = clip(1, frames, is_3d), clip(batch, frames, is_3d)
            costs[name] = complexity(model, one)
            candidates[name] = lambda m=model, x=one: m(x)
            candidates[f'{name} x{batch}'] = lambda m=model, x=many: m(x)
        medians = time_round_robin(candidates, args.repeats, 1, args.device)
    base = 'TSN-R50 8f'
    title = f'cost3d 8f {size}x{size}'
    out = rows(title, {n: medians[n] for n in arms}, base)
    base_rate = batch / medians[f'{base} x{batch}']
    for row in out:
        rate = batch / medians[f'{row["name"]} x{batch}']
        flops, params = costs[row['name']]
        row.update(batch=batch, clips_per_s=rate,
                   clips_per_s_ratio=rate / base_rate,
                   gflops=flops / 1e9,
                   gflops_ratio=flops / costs[base][0],
                   params_m=params / 1e6)
    return out


# the deploy group: x86 instruction sets that decide the CPU fast paths
DEPLOY_ISAS = ('avx512f', 'avx512_bf16', 'amx_bf16', 'amx_tile')
# the toy detectors' frames after their test resize (img_scale 128x96)
DEPLOY_DET_SIZE = (96, 128)
DEPLOY_BACKENDS = ('PyTorch eager fp32', 'PyTorch bf16 + channels-last',
                   'PyTorch compile (inductor)', 'ONNX Runtime',
                   'OpenVINO f32', 'OpenVINO default', 'OpenVINO int8')
# random frames that calibrate the int8 arm's quantization (its speed only)
DEPLOY_INT8_FRAMES = 8


def cpu_record() -> dict:
    """The CPU model, its ISA flags of :data:`DEPLOY_ISAS` and the
    versions of the runtimes (``/proc/cpuinfo``; the model from
    ``platform`` where there is none)."""
    import onnxruntime
    import openvino
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                key, _, value = line.partition(':')
                if key.strip() == 'model name':
                    model = value.strip()
                elif key.strip() == 'flags':
                    flags = set(value.split())
                if flags and key.strip() == '':
                    break  # the first processor is enough
    except OSError:
        pass
    return dict(cpu=model, isa={isa: isa in flags for isa in DEPLOY_ISAS},
                torch=torch.__version__, onnxruntime=onnxruntime.__version__,
                openvino=openvino.__version__.split('-')[0])


def _stream_call(fast, frame: torch.Tensor, post: Callable) -> Callable:
    """One new frame of one stream through a FastStreamStep per call, its
    new caches fed to the next."""
    caches = fast.zero_caches(frame)

    def call():
        nonlocal caches
        outs = fast(frame, *caches)
        split = len(outs) - fast.num_caches
        caches = outs[split:]
        return post(outs[:split])

    return call


def _deploy_backbone_case(args, tmp: str) -> dict:
    """The streaming TSM-ResNet step and the plain ResNet, random weights:
    eager calls, the step modules of the fast path, exported graphs."""
    from mmdet.models.backbones import ResNet

    from tsm_mm.deploy import (
        BackboneStreamStep,
        export_step_onnx,
        export_stream_onnx,
    )
    from tsm_mm.models.backbones import StreamingTSMResNet
    depth, size = args.deploy_depth, args.deploy_frame_size
    plain = ResNet(depth)
    plain.eval()  # mmdet's ResNet.train returns None
    stream = StreamingTSMResNet(depth, routed=True).eval()
    stream.load_state_dict(plain.state_dict())
    frame = torch.randn(1, 3, size, size)
    tsm_path, plain_path = osp.join(tmp, 'tsm.onnx'), osp.join(tmp, '2d.onnx')
    tsm_iface = export_stream_onnx(stream, tsm_path, (size, size))
    plain_step = BackboneStreamStep(plain, allow_2d=True)
    plain_iface = export_step_onnx(plain_step, plain_path, dict(frame=frame))
    return dict(
        title=f'R-{depth} {size}x{size} backbone', frame=frame, side={},
        eager=(lambda: stream.forward_stream(frame, ['s']),
               lambda: plain(frame)),
        fast=(lambda: BackboneStreamStep(copy.deepcopy(stream)),
              lambda: copy.deepcopy(plain_step)),
        post=lambda outs: outs,
        onnx=((tsm_path, tsm_iface), (plain_path, plain_iface)))


def _deploy_detector_case(args, tmp: str) -> dict:
    """A toy detector family, TSM and its 2D twin (same random weights):
    eager steps (the TSM one by the hooks' ``stream_step``), backbone and
    neck for the fast path (head and boxes eager fp32 after it), and the
    exported whole steps."""
    from tsm_mm.apis import init_model
    from tsm_mm.apis.comparison import family_configs
    from tsm_mm.deploy import (
        DetectorFeatureStep,
        DetectorGraphStep,
        export_detector_onnx,
    )
    family = args.deploy_detector
    h, w = DEPLOY_DET_SIZE
    frame = torch.randn(1, 3, h, w)
    img_shape = torch.tensor([[h, w]], dtype=torch.float32)
    scale_factor = torch.ones(1, 2)
    dets, graphs, paths = {}, {}, {}
    for arm, config in zip(('2d', 'tsm'),
                           family_configs(osp.join(REPO, 'configs'), family)):
        torch.manual_seed(0)  # the same weights: TSM adds none
        dets[arm] = init_model(config).eval()
        graphs[arm] = DetectorGraphStep(dets[arm]).eval()
        paths[arm] = osp.join(tmp, f'{arm}.onnx')
        paths[arm] = (paths[arm], export_detector_onnx(
            dets[arm], paths[arm], (h, w)))
    backbone = dets['tsm'].backbone

    def hooks_step():
        with backbone.stream_step(['s']):
            feats = backbone(frame)
        return graphs['tsm'].postprocess(list(dets['tsm'].neck(feats)),
                                         img_shape, scale_factor)

    def post(feats):  # the same rule for both arms (no caches there)
        return graphs['2d'].postprocess(list(feats), img_shape, scale_factor)

    return dict(
        title=f'toy {family} {w}x{h} detector step', frame=frame,
        side=dict(img_shape=img_shape.numpy(),
                  scale_factor=scale_factor.numpy()),
        eager=(hooks_step,
               lambda: graphs['2d'](frame, img_shape, scale_factor)),
        fast=tuple(lambda arm=arm: DetectorFeatureStep(
            copy.deepcopy(dets[arm])) for arm in ('tsm', '2d')),
        post=post, onnx=(paths['tsm'], paths['2d']))


def _runtime_pair(case: dict, backend: str, threads: int,
                  cache: dict) -> Tuple[Callable, Callable, str]:
    """The TSM and 2D calls of one exported backend and its precision;
    runtimes are kept in ``cache`` by (backend, threads)."""
    from tsm_mm.deploy import OpenVINOStream, OrtStream
    key = (backend, threads)
    if key not in cache:
        if backend == 'ONNX Runtime':
            cache[key] = [OrtStream(path, iface, threads)
                          for path, iface in case['onnx']]
        elif backend == 'OpenVINO int8':
            cache[key] = [OpenVINOStream(path, iface, 'default', threads)
                          for path, iface in _int8_graphs(case)]
        else:
            precision = backend.split()[-1]
            cache[key] = [OpenVINOStream(path, iface, precision, threads)
                          for path, iface in case['onnx']]
    runtimes = cache[key]
    frame = case['frame'].numpy()
    calls = [lambda r=r: r.step(frame, ['s'], **case['side'])
             for r in runtimes]
    precision = runtimes[0].precision
    return calls[0], calls[1], precision


def _int8_graphs(case: dict) -> List[Tuple[str, dict]]:
    """The case's TSM and 2D graphs quantized to int8 by NNCF (once per
    case), calibrated on random frames streamed from zero caches."""
    from tsm_mm.deploy.quantize import quantize_step_openvino, streamed_inputs
    if 'int8' not in case:
        rng = np.random.default_rng(0)
        video = [dict(frame=rng.standard_normal(
            case['frame'].shape, np.float32), **case['side'])
            for _ in range(DEPLOY_INT8_FRAMES)]
        case['int8'] = []
        for path, iface in case['onnx']:
            xml = osp.splitext(path)[0] + '_int8.xml'
            feeds = streamed_inputs(path, iface, [video], DEPLOY_INT8_FRAMES)
            case['int8'].append(
                (xml, quantize_step_openvino(path, iface, feeds, xml)))
    return case['int8']


def _torch_pair(case: dict, compile: bool,
                nets: dict) -> Tuple[Callable, Callable, str]:
    """The TSM and 2D calls of a PyTorch fast path (bf16 where the CPU
    runs it natively) and its precision; the channels-last step modules
    are built once, in ``nets``."""
    from tsm_mm.deploy.torch_fast import FastStreamStep, cpu_supports_bf16
    if not nets:
        nets['tsm'], nets['2d'] = (make() for make in case['fast'])
    precision = 'bf16' if cpu_supports_bf16() else 'fp32'
    fast = FastStreamStep(nets['tsm'], precision, True, compile)
    plain = FastStreamStep(nets['2d'], precision, True, compile)
    frame, post = case['frame'], case['post']
    label = precision if precision == 'bf16' else 'fp32 (no native bf16)'
    return (_stream_call(fast, frame, post), _stream_call(plain, frame, post),
            label)


def _deploy_latency(args, case: dict, threads: int, runtimes: dict,
                    nets: dict) -> List[dict]:
    """One row per backend at ``threads``: TSM and 2D timed in turns."""
    title = f'deploy {case["title"]}, {threads} thr'
    found = {}
    for backend in DEPLOY_BACKENDS:
        if backend == 'PyTorch eager fp32':
            pair = (*case['eager'], 'fp32')
        elif backend.startswith('PyTorch'):
            compiled = 'compile' in backend
            if compiled and args.deploy_no_compile:
                continue
            pair = _torch_pair(case, compiled, nets)
        else:
            pair = _runtime_pair(case, backend, threads, runtimes)
        with torch.no_grad():
            medians = time_round_robin({'tsm': pair[0], '2d': pair[1]},
                                       args.deploy_repeats, 2, 'cpu')
        found[backend] = (medians, pair[2])
    eager = found['PyTorch eager fp32'][0]['tsm']
    return [dict(group=title, name=backend, median_ms=1e3 * med['tsm'],
                 ratio=med['tsm'] / med['2d'], vs='2D twin',
                 ms_2d=1e3 * med['2d'], speedup=eager / med['tsm'],
                 precision=precision)
            for backend, (med, precision) in found.items()]


def _deploy_macs(case: dict) -> dict:
    """Multiply-adds of the TSM step (its shift corrections included) and
    of its 2D twin, one frame, as mmengine counts them."""
    tsm, plain = (complexity(make(), case['frame'])[0]
                  for make in case['fast'])
    return dict(group=f'deploy {case["title"]} multiply-adds',
                name='TSM step', median_ms=None, ratio=tsm / plain,
                vs='2D twin', gmac=tsm / 1e9, gmac_2d=plain / 1e9)


def _deploy_throughput(args, case: dict, threads: int) -> List[dict]:
    """Frames/s of the detector step over 1, 4, 16 streams: ONNX Runtime
    (the streams of a step as one batch) and OpenVINO f32 (one infer
    request per stream, run asynchronously)."""
    from tsm_mm.deploy import OpenVINOStream, OrtStream
    title = f'deploy {case["title"]} throughput, {threads} thr'
    out = []
    for backend in ('ONNX Runtime', 'OpenVINO f32'):
        if backend == 'ONNX Runtime':
            runtimes = [OrtStream(path, iface, threads)
                        for path, iface in case['onnx']]
            mode = 'fp32, streams batched'
        else:
            runtimes = [OpenVINOStream(path, iface, 'f32', threads)
                        for path, iface in case['onnx']]
            compiled = runtimes[0].compiled
            mode = (f'{runtimes[0].precision}, '
                    f'{compiled.get_property("PERFORMANCE_HINT")} hint, '
                    f'NUM_STREAMS {compiled.get_property("NUM_STREAMS")}')
        for streams in args.deploy_streams:
            frames = case['frame'].numpy().repeat(streams, 0)
            side = {name: value.repeat(streams, 0)
                    for name, value in case['side'].items()}
            ids = [f'{streams}-{i}' for i in range(streams)]
            medians = time_round_robin(
                {arm: functools.partial(r.step, frames, ids, **side)
                 for arm, r in zip(('tsm', '2d'), runtimes)},
                args.deploy_repeats, 2, 'cpu')
            out.append(dict(
                group=title, name=f'{backend}, {streams} stream'
                f'{"s" if streams > 1 else ""}',
                median_ms=1e3 * medians['tsm'],
                ratio=medians['tsm'] / medians['2d'], vs='2D twin',
                ms_2d=1e3 * medians['2d'], fps=streams / medians['tsm'],
                fps_2d=streams / medians['2d'], precision=mode))
    return out


@group
def deploy(args) -> List[dict]:
    """Per new frame on the CPU: each deploy backend (PyTorch eager, bf16,
    compiled; ONNX Runtime; OpenVINO) at each thread count, TSM vs its 2D
    twin, on a ResNet backbone step and a toy detector step, with each
    step's multiply-adds; then the detector's multi-stream throughput, and
    the CPU it ran on."""
    import tempfile
    record = cpu_record()
    out = [dict(group='deploy machine', name='cpu', median_ms=None,
                ratio=None, vs=record['cpu']),
           dict(group='deploy machine', name='isa', median_ms=None,
                ratio=None, vs=' '.join(f'{isa}={"yes" if has else "no"}'
                                        for isa, has in
                                        record['isa'].items())),
           dict(group='deploy machine', name='versions', median_ms=None,
                ratio=None, vs=', '.join(f'{name} {record[name]}' for name in
                                         ('torch', 'onnxruntime',
                                          'openvino')))]
    start_threads = torch.get_num_threads()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for make in (_deploy_backbone_case, _deploy_detector_case):
                case_dir = osp.join(tmp, make.__name__)
                os.mkdir(case_dir)
                torch.manual_seed(0)
                case = make(args, case_dir)
                out.append(_deploy_macs(case))
                runtimes, nets = {}, {}
                for threads in args.deploy_threads:
                    torch.set_num_threads(threads)
                    out += _deploy_latency(args, case, threads, runtimes,
                                           nets)
            threads = max(args.deploy_threads)
            torch.set_num_threads(threads)
            out += _deploy_throughput(args, case, threads)
    finally:
        torch.set_num_threads(start_threads)
    return out


def machine(device: str) -> dict:
    """Where the figures were measured."""
    info = dict(platform=platform.platform(), processor=platform.processor(),
                cpus=os.cpu_count(), torch=torch.__version__,
                threads=torch.get_num_threads(), device=device)
    if device.startswith('cuda'):
        info['gpu'] = torch.cuda.get_device_name()
    return info


def _cell(value) -> str:
    if value is None:
        return ''
    if isinstance(value, float):
        return f'{value:.3f}'
    return str(value)


def format_table(results: List[dict]) -> str:
    """The rows as a text table: the base columns, then each extra key that
    any row has (blank where a row lacks it).

    Args:
        results (list[dict]): Rows of the groups.

    Returns:
        str: The table.
    """
    extra = []
    for row in results:
        extra += [k for k in row if k not in BASE_KEYS and k not in extra]
    keys = list(BASE_KEYS) + extra
    header = ['group', 'name', 'median ms', 'ratio', 'vs'] + extra
    table = AsciiTable([header] + [[_cell(row.get(k)) for k in keys]
                                   for row in results])
    for col in range(2, len(header)):
        table.justify_columns[col] = 'right'
    table.justify_columns[4] = 'left'
    return table.table


def frame_size(text: str) -> Tuple[int, int]:
    """``HxW`` (e.g. ``600x1000``) as two positive ints."""
    parts = text.lower().split('x')
    if len(parts) != 2 or not all(p.isdigit() and int(p) > 0
                                  for p in parts):
        raise argparse.ArgumentTypeError(
            f'frame size must be HxW, e.g. 600x1000, got {text!r}')
    return int(parts[0]), int(parts[1])


def main(argv: Optional[Sequence[str]] = None) -> List[dict]:
    """Run the chosen groups, print the table, write JSON if asked.

    Args:
        argv (Sequence[str], optional): Command-line arguments; ``None``
            reads ``sys.argv``.

    Returns:
        list[dict]: The rows of all groups.
    """
    from tsm_mm.apis.comparison import DETECTOR_FAMILIES
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--groups', nargs='+', choices=list(GROUPS),
                        default=[g for g in GROUPS
                                 if g not in ('dataset', 'deploy')],
                        help='default: all but dataset and deploy')
    parser.add_argument('--repeats', type=positive_int, default=7)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--frame-size', type=positive_int, default=224,
                        help='side of the frames of the edge group')
    parser.add_argument('--stream-sizes', type=frame_size, nargs='+',
                        default=[(224, 224), (600, 1000)],
                        help='HxW frames of the streaming group')
    parser.add_argument('--cost3d-size', type=positive_int, default=224,
                        help='side of the frames of the cost3d group')
    parser.add_argument('--cost3d-batch', type=positive_int, default=4,
                        help='clips per call for the cost3d throughput')
    parser.add_argument('--detector-configs', choices=('toy', 'vid'),
                        default='toy', help='the detector group: the toy '
                        'configs (160x128 frames) or the ImageNet-VID ones '
                        '(a 4:3 frame at their test scale)')
    parser.add_argument('--config', help='the dataset group: a config')
    parser.add_argument('--data-root', help="the dataset group: replaces "
                        "the config's data_root")
    parser.add_argument('--phase', choices=('train', 'val', 'test'),
                        default='train', help='the dataset group: loader')
    parser.add_argument('--items', type=positive_int, default=50,
                        help='the dataset group: items to load')
    parser.add_argument('--deploy-repeats', type=positive_int, default=10,
                        help='the deploy group: turns per backend')
    parser.add_argument('--deploy-frame-size', type=positive_int,
                        default=224, help='the deploy group: side of the '
                        'backbone frames')
    parser.add_argument('--deploy-depth', type=int, default=50,
                        choices=(18, 34, 50, 101),
                        help='the deploy group: ResNet depth')
    parser.add_argument('--deploy-detector', default='rtmdet',
                        choices=list(DETECTOR_FAMILIES),
                        help='the deploy group: toy detector family')
    parser.add_argument('--deploy-threads', type=positive_int, nargs='+',
                        default=[1, 2],
                        help='the deploy group: thread counts')
    parser.add_argument('--deploy-streams', type=positive_int, nargs='+',
                        default=[1, 4, 16],
                        help='the deploy group: streams of the throughput')
    parser.add_argument('--deploy-no-compile', action='store_true',
                        help='the deploy group: skip torch.compile (it '
                        'compiles for about 30 s per model)')
    parser.add_argument('--out', help='write the results as JSON here')
    args = parse_args_checking_outputs(parser, argv,
                                       lambda a: {'--out': a.out})
    torch.manual_seed(0)
    results = [row for name in args.groups for row in GROUPS[name](args)]
    print(json.dumps(machine(args.device)))
    print(format_table(results))
    if args.out:
        with atomic_path(args.out) as tmp, open(tmp, 'w') as f:
            json.dump(dict(machine=machine(args.device), results=results), f,
                      indent=1)
    return results


if __name__ == '__main__':
    main()
