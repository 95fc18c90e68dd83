"""Detect objects in a video frame by frame and write an annotated mp4.

A thin CLI over :class:`tsm_mm.apis.StreamingDetInferencer`: each frame
enters the config's test pipeline and the model once, in order (a TSM
backbone keeps its per-video caches). The mp4 is H.264 (browsers play
it), each frame under a title band that box labels never cover. With
``--compare-2d``, a second (2D) detector runs on the same frames, drawn on
the right, and the per-frame latencies of both are plotted.

``--backend onnxruntime|openvino`` runs the whole step exported by
``tools/export_onnx.py`` instead (the checkpoint is then the ``.onnx``, or
for OpenVINO the int8 ``.xml`` of ``tools/quantize_openvino.py``);
``--compare-backends`` runs the same video through several backends, one
panel and one latency line each, labelled with backend and precision.
PyTorch's latency is its preprocessor and network, a runtime's its graph.

Example:
    python tools/demo_video.py configs/toy/vid_faster_rcnn_tsm_toy.py \
        tsm.pth data/toy_vid/Data/VID/val/ILSVRC2015_val_00000000 \
        --out demo.mp4 \
        --compare-2d configs/toy/vid_faster_rcnn_2d_toy.py 2d.pth
    python tools/demo_video.py configs/toy/vid_rtmdet_tsm_toy.py tsm.pth \
        video.mp4 --out demo.mp4 --onnx tsm.onnx \
        --compare-backends pytorch pytorch:bf16 onnxruntime openvino \
        openvino:bf16
"""
import argparse
import os.path as osp
import warnings
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.utils import ProgressBar

import tsm_mm  # noqa: F401  (registers the models)
from tsm_mm.apis import StreamingDetInferencer
from tsm_mm.apis.backend_specs import BACKENDS, BackendSpec, parse_backend_spec
from tsm_mm.apis.inferencers import check_graph_weights
from tsm_mm.apis.video_io import Mp4Writer, VideoFrames
from tsm_mm.deploy.runtimes import PRECISIONS
from tsm_mm.utils import atomic_path
from tsm_mm.utils.output_paths import check_outputs


class Arm(NamedTuple):
    """One model run over the video: a panel and a latency line."""
    name: str  # its title; with a runtime backend, completed by precision
    config: str
    weights: Optional[str]  # a checkpoint (pytorch) or an .onnx
    weights_arg: str  # the argument that gave them, for messages
    backend: str
    precision: str  # as asked (tsm_mm.apis.backend_specs)


def plot_frame_latency(latencies: Dict[str, Sequence[float]],
                       out_file: str) -> Dict[str, np.ndarray]:
    """Per-frame latency of one or more models as a PNG.

    Left: milliseconds per frame; right: their distribution (box plot,
    median labelled). Written atomically.

    Args:
        latencies (dict[str, Sequence[float]]): Seconds per frame, by model
            name.
        out_file (str): The PNG.

    Returns:
        dict[str, np.ndarray]: The lines drawn, read back from the figure:
        milliseconds per frame by legend label.
    """
    # the object API with the Agg canvas: no pyplot, no global backend
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator
    fig = Figure(figsize=(9, 3.5))
    FigureCanvasAgg(fig)
    line_ax, box_ax = fig.subplots(1, 2, width_ratios=(3, 1))
    milliseconds = {name: 1e3 * np.asarray(values, float)
                    for name, values in latencies.items()}
    for name, values in milliseconds.items():
        line_ax.plot(np.arange(len(values)), values, label=name, lw=1)
    line_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    line_ax.set_xlabel('frame')
    line_ax.set_ylabel('latency (ms)')
    line_ax.legend()
    box_ax.boxplot(list(milliseconds.values()), showfliers=False)
    # more than two names side by side overlap: tilt them
    tilt = dict(rotation=30, ha='right', fontsize=8) \
        if len(milliseconds) > 2 else {}
    box_ax.set_xticks(range(1, len(milliseconds) + 1), list(milliseconds),
                      **tilt)
    for i, values in enumerate(milliseconds.values(), 1):
        box_ax.annotate(f'{np.median(values):.1f}', (i, np.median(values)),
                        textcoords='offset points', xytext=(12, 0),
                        fontsize=8, va='center')
    box_ax.set_title('median (ms)', fontsize=9)
    fig.tight_layout()
    with atomic_path(out_file) as tmp_file:
        fig.savefig(tmp_file, dpi=110, format='png')
    return {line.get_label(): np.asarray(line.get_ydata())
            for line in line_ax.get_lines()}


def check_weights(name: str, path: Optional[str], backend: str) -> None:
    """Refuse weights that do not fit ``backend``, naming the argument.

    Args:
        name (str): The argument that gave ``path``.
        path (str, optional): A checkpoint, or an exported ``.onnx``.
        backend (str): What runs it.

    Raises:
        ValueError: An ``.onnx`` for PyTorch, or anything else for a
            runtime.
        FileNotFoundError: The ``.onnx`` or its interface is missing.
    """
    if backend == 'pytorch':
        if path and path.endswith('.onnx'):
            raise ValueError(f'{name} {path} is an exported graph: run it '
                             'with --backend onnxruntime or openvino')
        return
    check_graph_weights(backend, path, name)
    interface = osp.splitext(path)[0] + '.json'
    for missing in (path, interface):
        if not osp.isfile(missing):
            raise FileNotFoundError(
                f'{name}: {missing} is missing (tools/export_onnx.py writes '
                f'the .onnx and its interface {osp.basename(interface)} '
                'beside it)')


def model_arms(args: argparse.Namespace) -> List[Arm]:
    """The models the arguments ask for, their weights checked."""
    precision = args.precision or 'f32'
    if args.compare_backends:
        specs = [parse_backend_spec(
            spec, '--compare-backends',
            precision if spec.startswith('openvino') else 'f32')
            for spec in args.compare_backends]
        if any(asked == 'int8' for _, asked in specs):
            raise ValueError('--compare-backends openvino:int8: run the .xml '
                             'of tools/quantize_openvino.py as the checkpoint '
                             'with --backend openvino')
        if len(set(specs)) < len(specs):
            raise ValueError('--compare-backends names a backend twice: '
                             f'{" ".join(args.compare_backends)}')
        arms = [Arm(backend, args.config, args.checkpoint, 'checkpoint',
                    backend, asked) if backend == 'pytorch' else
                Arm(backend, args.config, args.onnx, '--onnx', backend, asked)
                for backend, asked in specs]
        if any(arm.backend != 'pytorch' for arm in arms) and not args.onnx:
            raise ValueError('--compare-backends with onnxruntime or '
                             'openvino needs --onnx (the exported graph of '
                             'the config)')
    else:
        backend = args.backend or 'pytorch'
        arms = [Arm('TSM', args.config, args.checkpoint, 'checkpoint',
                    backend, precision)]
        if args.compare_2d:
            arms.append(Arm('2D', args.compare_2d[0],
                            (args.compare_2d[1:] or [None])[0],
                            '--compare-2d checkpoint', backend, precision))
    if args.precision and all(arm.backend != 'openvino' for arm in arms):
        raise ValueError('--precision is for --backend openvino (or '
                         'openvino in --compare-backends)')
    for arm in arms:
        check_weights(arm.weights_arg, arm.weights, arm.backend)
    return arms


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='detector config (VideoFasterRCNN)')
    parser.add_argument('checkpoint', nargs='?', help='its weights (random '
                        'weights when left out: a smoke test); with a '
                        'runtime --backend, the .onnx from '
                        'tools/export_onnx.py')
    parser.add_argument('input', help='a video file or a folder of frames '
                        '(natural order: 2.jpg before 10.jpg)')
    parser.add_argument('--out', required=True, help='the annotated mp4')
    parser.add_argument('--compare-2d', nargs='+',
                        metavar=('CONFIG_2D', 'CKPT_2D'),
                        help='a second detector (and its weights) to run '
                        'on the same frames')
    parser.add_argument('--backend', choices=BACKENDS,
                        help='what runs the model(s) (default pytorch); '
                        'onnxruntime and openvino run the exported graph '
                        '(its .json beside it)')
    parser.add_argument('--precision', choices=PRECISIONS,
                        help="OpenVINO's inference precision (default f32; "
                        "'default': the plugin's, bf16 on AMX CPUs)")
    parser.add_argument('--compare-backends', nargs='+',
                        metavar='BACKEND[:PRECISION]',
                        help='run the config through each backend (pytorch '
                        'with the checkpoint, the others with --onnx), one '
                        'panel and latency line each, e.g. pytorch '
                        'pytorch:bf16 pytorch:compile onnxruntime openvino '
                        'openvino:bf16 (PRECISION: f32, bf16, default, or '
                        'compile for pytorch)')
    parser.add_argument('--onnx', help='the exported graph of the config, '
                        'for --compare-backends')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='draw boxes scoring at least this')
    parser.add_argument('--latency-png', help='plot of per-frame latency '
                        '(default with --compare-2d or --compare-backends: '
                        '<out>_latency.png)')
    parser.add_argument('--device', default='cuda:0' if
                        torch.cuda.is_available() else 'cpu')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace existing output files (never an '
                        'input)')
    args = parser.parse_args(argv)
    if args.compare_2d is not None and len(args.compare_2d) > 2:
        parser.error('--compare-2d takes CONFIG_2D [CKPT_2D]')
    if args.compare_backends and (args.compare_2d or args.backend):
        parser.error('--compare-backends runs one config through several '
                     'backends: leave out --compare-2d and --backend')
    if args.onnx and not args.compare_backends:
        parser.error('--onnx is for --compare-backends (with --backend '
                     'onnxruntime or openvino, the checkpoint is the .onnx)')
    if (args.compare_2d or args.compare_backends) and \
            args.latency_png is None:
        args.latency_png = osp.splitext(args.out)[0] + '_latency.png'
    compare_2d = dict(zip(('--compare-2d config', '--compare-2d checkpoint'),
                          args.compare_2d or ()))
    try:
        args.arms = model_arms(args)
        check_outputs({'--out': args.out, '--latency-png': args.latency_png},
                      dict(config=args.config, checkpoint=args.checkpoint,
                           input=args.input, **compare_2d,
                           **{'--onnx': args.onnx}), args.overwrite)
        args.frames = VideoFrames(args.input)
    except (FileNotFoundError, FileExistsError, ValueError) as err:
        parser.error(str(err))
    return args


def build_inferencer(arm: Arm, device: str, score_thr: float
                     ) -> Tuple[str, StreamingDetInferencer]:
    """The arm's inferencer and its name with backend and precision (the
    one the runtime compiled: OpenVINO's ``default`` is bf16 on AMX)."""
    spec = BackendSpec(arm.backend, arm.precision)
    inferencer = StreamingDetInferencer(
        arm.config, arm.weights, device, score_thr=score_thr,
        **spec.inferencer_args())
    runs = spec.label(getattr(inferencer.stream, 'precision', None) or
                      'f32')
    if arm.name == arm.backend:  # --compare-backends
        return f'{arm.backend} {runs}', inferencer
    if arm.backend == 'pytorch':
        return arm.name, inferencer
    return f'{arm.name} {arm.backend} {runs}', inferencer


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the tool.

    Returns:
        dict: ``predictions`` and ``latencies`` (seconds) per frame, by
        model name (with backend and precision where they vary), and
        ``latency_series``: the plotted lines (None without a plot).
    """
    args = parse_args(argv)
    # boxes touching the border are drawn clipped: nothing to warn about
    warnings.filterwarnings('ignore', message='Warning: The .* is out of '
                            'bounds')
    inferencers: Dict[str, StreamingDetInferencer] = {}
    for arm in args.arms:
        name, inferencer = build_inferencer(arm, args.device, args.score_thr)
        if name in inferencers:  # asked for bf16, runs f32 as another arm
            name = f'{name} (asked {arm.precision})'
        if arm.weights is None:
            print(f'{name}: no checkpoint, random weights')
        inferencers[name] = inferencer
        inferencer.reset()

    frames = args.frames
    latencies: Dict[str, List[float]] = {name: [] for name in inferencers}
    predictions: Dict[str, List[dict]] = {name: [] for name in inferencers}
    progress = ProgressBar(frames.num_frames)
    with Mp4Writer(args.out, frames.fps) as writer:
        for frame in frames:
            panels = []
            for name, inferencer in inferencers.items():
                result = inferencer.infer_frame(frame, draw=True, title=name)
                latencies[name].append(result.latency)
                predictions[name].append(result.prediction)
                panels.append(result.visualization)
            writer.write(np.concatenate(panels, axis=1))
            progress.update()
    print(f'\n{writer.num_frames} frames -> {args.out}')
    for name, values in latencies.items():
        print(f'{name}: median {1e3 * np.median(values):.1f} ms per frame')
    series = None
    if args.latency_png:
        series = plot_frame_latency(latencies, args.latency_png)
        print(f'latency plot -> {args.latency_png}')
    return dict(predictions=predictions, latencies=latencies,
                latency_series=series)


if __name__ == '__main__':
    main()
