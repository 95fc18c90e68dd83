"""Run an exported detector step on BGR frames, with numpy and cv2 only.

The preprocessing restates mmdet's test path for one frame, from the
graph's interface: ``Resize`` (mmcv's ``imrescale`` rule when
``keep_ratio``), the data preprocessor's channel swap, ``(x - mean) /
std`` and bottom-right padding to the graph's frame size. The graph does
the rest (boxes in original pixels); the caches live in the runtime
(:class:`~tsm_mm.deploy.runtimes.OrtStream`, or OpenVINO's own state in
:class:`~tsm_mm.deploy.runtimes.OpenVINOStream`).
"""
import time
from typing import Dict, Hashable, Optional, Tuple, Union

import cv2
import numpy as np

from .runtimes import (
    OpenVINOStream,
    OrtStream,
    StreamRuntime,
    load_interface,
)

BACKENDS = ('onnxruntime', 'openvino')


def resized_size(size: Tuple[int, int], scale: Tuple[int, int],
                 keep_ratio: bool) -> Tuple[int, int]:
    """The (w, h) mmdet's ``Resize(scale, keep_ratio)`` gives an image of
    (w, h) ``size`` (mmcv's ``rescale_size`` when ``keep_ratio``)."""
    if not keep_ratio:
        return int(scale[0]), int(scale[1])
    w, h = size
    factor = min(max(scale) / max(h, w), min(scale) / min(h, w))
    return int(w * float(factor) + 0.5), int(h * float(factor) + 0.5)


def preprocess_frame(frame: np.ndarray, interface: Dict
                     ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A BGR uint8 frame as the graph's inputs.

    Args:
        frame (np.ndarray): (H, W, 3) BGR uint8.
        interface (dict): The graph's interface, with ``preprocess`` and
            ``resize`` (``scale`` (w, h) and ``keep_ratio``; none: no
            resize).

    Returns:
        tuple[np.ndarray]: ``frame`` (3, H', W') float32 padded to the
        graph's frame size, ``img_shape`` (2,) resized (h, w) and
        ``scale_factor`` (2,) (w, h).
    """
    if not (isinstance(frame, np.ndarray) and frame.ndim == 3
            and frame.shape[2] == 3 and frame.dtype == np.uint8):
        raise TypeError('frame must be an (H, W, 3) BGR uint8 array, got '
                        f'{getattr(frame, "shape", type(frame).__name__)}')
    pre, resize = interface['preprocess'], interface.get('resize')
    h, w = frame.shape[:2]
    if resize:
        new_w, new_h = resized_size((w, h), resize['scale'],
                                    resize.get('keep_ratio', True))
        frame = cv2.resize(frame, (new_w, new_h),
                           interpolation=cv2.INTER_LINEAR)
    new_h, new_w = frame.shape[:2]
    pad_h, pad_w = interface['frame_size']
    if new_h > pad_h or new_w > pad_w:
        raise ValueError(
            f'a {w}x{h} frame resizes to {new_w}x{new_h}, larger than the '
            f'graph\'s {pad_w}x{pad_h} frames: export with --shape '
            f'{-(-new_h // 32) * 32} {-(-new_w // 32) * 32} or more')
    image = frame[..., ::-1] if pre['bgr_to_rgb'] else frame
    image = (image.astype(np.float32) - np.float32(pre['mean'])) / \
        np.float32(pre['std'])
    padded = np.full((pad_h, pad_w, 3), pre.get('pad_value', 0), np.float32)
    padded[:new_h, :new_w] = image
    return (np.ascontiguousarray(padded.transpose(2, 0, 1)),
            np.array([new_h, new_w], np.float32),
            np.array([new_w / w, new_h / h], np.float32))


def check_detector_interface(interface: Dict, source: str) -> None:
    """Refuse an interface that is not a whole detector step's, naming its
    ``source``."""
    if 'preprocess' not in interface or \
            'boxes' not in {o['name'] for o in interface['outputs']}:
        raise ValueError(f'{source}: not a whole detector step (its '
                         'interface has no preprocess or boxes output); '
                         'export the detector with tools/export_onnx.py')


class RuntimeDetector:
    """Detect objects in streams of BGR frames with a runtime of a whole
    detector step (preprocessing in numpy/cv2, from its interface).

    Args:
        runtime (StreamRuntime): Runs the step, keeps the caches; its
            interface has ``preprocess`` and a ``boxes`` output.
        backend (str): What runs it, for reports.
    """

    def __init__(self, runtime: StreamRuntime, backend: str) -> None:
        self.interface = runtime.interface
        check_detector_interface(self.interface, backend)
        self.runtime = runtime
        self.backend = backend
        self.precision: str = runtime.precision
        self.classes = self.interface.get('classes')

    def detect(self, frames, stream_ids, frame_ids=None
               ) -> Tuple[list, float]:
        """Detections of one frame of each stream.

        Args:
            frames (Sequence[np.ndarray]): BGR uint8 frames, one per stream.
            stream_ids (Sequence[Hashable]): Their streams.
            frame_ids (Sequence[int], optional): Their frame indices (0
                restarts a stream; None continues each).

        Returns:
            tuple[list[dict], float]: Per stream ``dict(bboxes (D, 4),
            scores (D,), labels (D,))`` numpy arrays, best first, in the
            frame's pixels; and the seconds the graph took (not the
            preprocessing).
        """
        inputs = [preprocess_frame(frame, self.interface)
                  for frame in frames]
        batch = dict(zip(('frame', 'img_shape', 'scale_factor'),
                         (np.stack(parts) for parts in zip(*inputs))))
        side = {name: batch[name] for name in self.runtime.side_names}
        start = time.perf_counter()
        outs = self.runtime.step(batch['frame'], stream_ids, frame_ids,
                                 **side)
        seconds = time.perf_counter() - start
        results = []
        for boxes, scores, labels in zip(outs['boxes'], outs['scores'],
                                         outs['labels']):
            keep = labels >= 0
            results.append(dict(bboxes=boxes[keep], scores=scores[keep],
                                labels=labels[keep].astype(np.int64)))
        return results, seconds

    def reset(self, stream_ids: Optional[Hashable] = None) -> None:
        """Free streams (all when None)."""
        self.runtime.reset(stream_ids)


class ExportedDetector(RuntimeDetector):
    """Detect objects in streams of BGR frames with an exported step.

    Args:
        onnx_path (str): The graph from ``tools/export_onnx.py``.
        interface (dict | str): Its interface (the ``.json`` beside it).
        backend (str): ``'onnxruntime'`` or ``'openvino'``.
        precision (str): OpenVINO's: ``'f32'``, ``'bf16'`` or
            ``'default'`` (the plugin's choice: bf16 on AMX CPUs).
        threads (int, optional): Inference threads.
    """

    def __init__(self, onnx_path: str, interface: Union[Dict, str],
                 backend: str = 'onnxruntime', precision: str = 'f32',
                 threads: Optional[int] = None) -> None:
        interface = load_interface(interface)
        check_detector_interface(interface, onnx_path)
        if backend == 'onnxruntime':
            runtime = OrtStream(onnx_path, interface, threads)
        elif backend == 'openvino':
            runtime = OpenVINOStream(onnx_path, interface, precision,
                                     threads)
        else:
            raise ValueError(f'backend must be one of {BACKENDS}, got '
                             f'{backend!r}')
        super().__init__(runtime, backend)
        self.onnx_path = onnx_path
