"""Score a video detector on every frame of its test videos once per
backend: PyTorch eager fp32 (the reference), its CPU fast path (bf16,
torch.compile) and the exported whole step on ONNX Runtime and OpenVINO.

Each backend streams every test video frame by frame through
``StreamingDetInferencer``; the config's ``VIDMetric`` scores all frames.
The table gives per backend: the precision it ran, mAP and the motion
mAPs, the mAP difference from the reference, the frames whose detections
equal the reference's (same count, labels equal, boxes and scores within
``--box-rtol``/``--score-atol``) and the median per-frame latency.

Example:
    python tools/export_onnx.py CONFIG CKPT --out step.onnx --shape 96 128
    python tools/eval_backends.py CONFIG CKPT --onnx step.onnx \\
        --backends pytorch:bf16 pytorch:compile onnxruntime openvino \\
        openvino:default --out backends.json
    python tools/quantize_openvino.py CONFIG step.onnx --out step_int8.xml
    python tools/eval_backends.py CONFIG CKPT --onnx step.onnx \
        --int8 step_int8.xml --backends openvino:default openvino:int8
"""
import argparse
import os.path as osp
import statistics
from typing import List, Optional, Sequence, Tuple

import numpy as np
from mmdet.registry import METRICS
from mmengine.config import Config, DictAction
from mmengine.fileio import dump
from mmengine.utils import ProgressBar
from terminaltables import AsciiTable

import tsm_mm  # noqa: F401  (registers the models)
from tsm_mm.apis import StreamingDetInferencer, load_config
from tsm_mm.apis.backend_specs import BackendSpec, parse_backend_spec
from tsm_mm.apis.dataset_videos import dataloader_videos, read_frames
from tsm_mm.apis.model_init import config_scope
from tsm_mm.utils.atomic_write import atomic_path
from tsm_mm.utils.output_paths import parse_args_checking_outputs

REFERENCE = BackendSpec('pytorch', 'f32')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='mAP and per-frame equality of a video detector on '
        'every backend')
    parser.add_argument('config', help='video detector config')
    parser.add_argument('checkpoint', help='its checkpoint')
    parser.add_argument('--onnx', help='its whole step from '
                        'tools/export_onnx.py (for onnxruntime/openvino)')
    parser.add_argument(
        '--backends', nargs='+', default=['pytorch:bf16', 'pytorch:compile',
                                          'onnxruntime', 'openvino',
                                          'openvino:default'],
        help='BACKEND[:PRECISION] to score besides pytorch (eager fp32, '
        'always run first as the reference); PRECISION: f32, bf16, default '
        "(the CPU's choice), compile (pytorch: torch.compile), int8 "
        '(openvino: the --int8 model)')
    parser.add_argument('--int8', help='its int8 step from '
                        'tools/quantize_openvino.py (.xml), for '
                        'openvino:int8')
    parser.add_argument('--data-root', help='the dataset root (replaces '
                        "the config's data_root)")
    parser.add_argument('--threads', type=int, help='inference threads')
    parser.add_argument('--box-rtol', type=float, default=1e-3,
                        help='box tolerance of equal detections, relative '
                        'to the box size')
    parser.add_argument('--score-atol', type=float, default=1e-3)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings')
    parser.add_argument('--out', help='write the results as JSON here')
    args = parse_args_checking_outputs(
        parser, argv, lambda a: {'--out': a.out},
        lambda a: dict(config=a.config, checkpoint=a.checkpoint,
                       onnx=a.onnx, int8=a.int8))
    try:
        specs = [parse_backend_spec(spec, '--backends')
                 for spec in args.backends]
    except ValueError as err:
        parser.error(str(err))
    args.arms = [REFERENCE] + [spec for spec in dict.fromkeys(specs)
                               if spec != REFERENCE]
    if any(backend != 'pytorch' and precision != 'int8'
           for backend, precision in args.arms) and not args.onnx:
        parser.error('--backends onnxruntime/openvino run the exported '
                     'step: give it with --onnx')
    int8 = any(precision == 'int8' for _, precision in args.arms)
    if int8 != bool(args.int8):
        parser.error('--backends openvino:int8 runs the model of --int8: '
                     'give both or neither')
    return args


def frame_sample(frame: dict, prediction: dict, length: int) -> dict:
    """What ``VIDMetric.process`` takes for one frame (a data sample as a
    dict)."""
    return dict(
        img_id=frame['img_id'], video_id=frame['video_id'],
        frame_id=frame['frame_id'], ori_video_length=length,
        instances=frame.get('instances', []),
        pred_instances=dict(
            bboxes=np.asarray(prediction['bboxes'],
                              np.float32).reshape(-1, 4),
            scores=np.asarray(prediction['scores'], np.float32),
            labels=np.asarray(prediction['labels'], np.int64)))


def same_detections(got: dict, expected: dict, box_rtol: float,
                    score_atol: float) -> bool:
    """Same count and labels; boxes within ``box_rtol`` of the expected
    box's size, scores within ``score_atol``."""
    g_boxes = np.asarray(got['bboxes'], np.float64).reshape(-1, 4)
    e_boxes = np.asarray(expected['bboxes'], np.float64).reshape(-1, 4)
    if len(g_boxes) != len(e_boxes) or not np.array_equal(
            np.asarray(got['labels']), np.asarray(expected['labels'])):
        return False
    if not len(e_boxes):
        return True
    size = np.maximum(e_boxes[:, 2:] - e_boxes[:, :2], 1).max(1)
    boxes_ok = np.abs(g_boxes - e_boxes).max(1) <= box_rtol * size
    scores_ok = np.abs(np.asarray(got['scores'], np.float64) -
                       np.asarray(expected['scores'], np.float64)
                       ) <= score_atol
    return bool(boxes_ok.all() and scores_ok.all())


def run_arm(args: argparse.Namespace, cfg: Config, spec: BackendSpec,
            videos: List[List[dict]],
            reference: Optional[List[list]]) -> Tuple[dict, List[list]]:
    """Stream every video through one backend and score it."""
    weights = (args.checkpoint if spec.backend == 'pytorch' else
               args.int8 if spec.precision == 'int8' else args.onnx)
    inferencer = StreamingDetInferencer(cfg, weights, 'cpu',
                                        threads=args.threads,
                                        **spec.inferencer_args())
    with config_scope(cfg, 'mmdet'):
        metric = METRICS.build(cfg.test_evaluator)
    metric.dataset_meta = inferencer.dataset_meta
    predictions, latencies = [], []
    progress = ProgressBar(len(videos))
    for frames in videos:
        out = inferencer(read_frames(frames))
        predictions.append(out['predictions'])
        latencies += out['latencies']
        metric.process({}, [frame_sample(frame, prediction, len(frames))
                            for frame, prediction in zip(
                                frames, out['predictions'])])
        progress.update()
    scores = metric.evaluate(sum(len(frames) for frames in videos))
    ran = getattr(inferencer.stream, 'precision', None) or 'f32'
    row = dict(backend=spec.backend, asked=spec.precision,
               precision=spec.label(ran),
               frames=sum(len(frames) for frames in videos),
               median_ms=1e3 * statistics.median(latencies),
               **{key.split('/')[-1]: 100 * value
                  for key, value in scores.items()})
    if reference is not None:
        row['equal_frames'] = sum(
            same_detections(g, e, args.box_rtol, args.score_atol)
            for got, expected in zip(predictions, reference)
            for g, e in zip(got, expected))
    return row, predictions


def table(rows: List[dict]) -> str:
    """The rows as a table, the reference first."""
    ref = rows[0]
    ranges = [key for key in ref if key.startswith('mAP_')]
    header = ['backend', 'precision', 'mAP', 'Δ mAP', *ranges,
              'equal frames', 'ms/frame']
    body = [[row['backend'], row['precision'], f"{row['mAP']:.2f}",
             '—' if row is ref else f"{row['mAP'] - ref['mAP']:+.2f}",
             *(f'{row[key]:.2f}' for key in ranges),
             '—' if row is ref else
             f"{row['equal_frames']}/{row['frames']}",
             f"{row['median_ms']:.2f}"] for row in rows]
    return AsciiTable([header, *body]).table


def main(argv: Optional[Sequence[str]] = None) -> List[dict]:
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options, args.data_root)
    videos = dataloader_videos(cfg, 'test_dataloader')
    rows: List[dict] = []
    reference = None
    for spec in args.arms:
        row, predictions = run_arm(args, cfg, spec, videos, reference)
        reference = reference or predictions
        rows.append(row)
    print(table(rows))
    if args.out:
        with atomic_path(args.out) as tmp:
            dump(dict(config=osp.abspath(args.config),
                      checkpoint=osp.abspath(args.checkpoint),
                      onnx=args.onnx and osp.abspath(args.onnx),
                      int8=args.int8 and osp.abspath(args.int8),
                      rows=rows), tmp, file_format='json', indent=2)
    return rows


if __name__ == '__main__':
    main()
