"""Side-by-side benchmarks of tsm_mm, reported as ratios from one run.

Each group times its candidates round-robin in one process (medians over
repeats), so machine noise hits them alike. Prints a table and writes JSON.

Example:
    python tools/benchmark.py --out work_dirs/benchmark.json
    python tools/benchmark.py --device cuda --groups shift backbone
"""
import argparse
import json
import os
import os.path as osp
import platform
from typing import Callable, Dict, List

import torch

import tsm_mm  # noqa: F401  (patches mmaction's import)
from tsm_mm.ops import temporal_shift
from tsm_mm.utils import time_round_robin

GROUPS: Dict[str, Callable] = {}


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


@group
def streaming(args) -> List[dict]:
    """Per new frame: streaming TSM vs 2D, and vs an 8-frame window."""
    from mmdet.models.backbones import ResNet

    from tsm_mm.models.backbones import StreamingTSMResNet, TSMResNet
    size = args.frame_size
    r50 = ResNet(50).to(args.device)
    r50.eval()
    stream = StreamingTSMResNet(50).to(args.device).eval()
    stream.load_state_dict(r50.state_dict())
    window = TSMResNet(50, num_segments=8, direction='causal',
                       out_indices=(0, 1, 2, 3)).to(args.device).eval()
    frame = torch.randn(1, 3, size, size, device=args.device)
    clip = torch.randn(8, 3, size, size, device=args.device)
    with torch.no_grad():
        medians = time_round_robin({
            'R-50 2D, one frame': lambda: r50(frame),
            'TSM streaming, one frame': lambda: stream.forward_stream(
                frame, ['s']),
            'TSM 8-frame window': lambda: window(clip),
        }, args.repeats, 2, args.device)
    title = f'per new frame {size}x{size}'
    out = rows(title, medians, 'R-50 2D, one frame')
    out.append(dict(group=title, name='window / streaming', median_ms=None,
                    ratio=medians['TSM 8-frame window'] /
                    medians['TSM streaming, one frame'], vs='speed-up'))
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
    """Toy Faster R-CNN frames per second: streaming TSM vs 2D."""
    from mmdet.registry import MODELS
    from mmdet.structures import DetDataSample, TrackDataSample
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    models = {}
    for arm in ('2d', 'tsm'):
        cfg = Config.fromfile(f'configs/toy/vid_faster_rcnn_{arm}_toy.py')
        torch.manual_seed(0)
        models[arm] = MODELS.build(cfg.model).to(args.device).eval()
    frame = torch.randn(1, 1, 3, 128, 160, device=args.device)
    step = {'2d': 0, 'tsm': 0}

    def run(arm: str) -> None:
        meta = dict(video_id=0, frame_id=step[arm], img_shape=(120, 160),
                    ori_shape=(120, 160), scale_factor=(1., 1.),
                    pad_shape=(128, 160), batch_input_shape=(128, 160))
        track = TrackDataSample()
        track.video_data_samples = [DetDataSample(metainfo=meta)]
        models[arm].predict(frame, [track])
        step[arm] += 1

    with torch.no_grad():
        medians = time_round_robin({
            'Faster R-CNN 2D': lambda: run('2d'),
            'Faster R-CNN TSM streaming': lambda: run('tsm')
        }, args.repeats * 4, 2, args.device)
    out = rows('toy detector 160x128 per frame', medians, 'Faster R-CNN 2D')
    for row in out:
        row['fps'] = 1e3 / row['median_ms']
    return out


def machine(device: str) -> dict:
    """Where the figures were measured."""
    info = dict(platform=platform.platform(), processor=platform.processor(),
                cpus=os.cpu_count(), torch=torch.__version__,
                threads=torch.get_num_threads(), device=device)
    if device.startswith('cuda'):
        info['gpu'] = torch.cuda.get_device_name()
    return info


def format_table(results: List[dict]) -> str:
    lines = [f'{"group":<28} {"name":<34} {"median ms":>10} {"ratio":>7}  vs']
    for r in results:
        ms = '' if r['median_ms'] is None else f'{r["median_ms"]:.3f}'
        lines.append(f'{r["group"]:<28} {r["name"]:<34} {ms:>10} '
                     f'{r["ratio"]:>7.3f}  {r["vs"]}')
    return '\n'.join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--groups', nargs='+', choices=list(GROUPS),
                        default=list(GROUPS))
    parser.add_argument('--repeats', type=int, default=7)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--frame-size', type=int, default=224,
                        help='side of the frames of the streaming group')
    parser.add_argument('--out', help='write the results as JSON here')
    args = parser.parse_args()
    torch.manual_seed(0)
    results = [row for name in args.groups for row in GROUPS[name](args)]
    print(json.dumps(machine(args.device)))
    print(format_table(results))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(dict(machine=machine(args.device), results=results), f,
                      indent=1)


if __name__ == '__main__':
    main()
