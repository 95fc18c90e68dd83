"""Inferencers in the MMDetection/MMAction2 3.x shape, over video streams.

``inferencer(video)`` runs one video (a file, a folder of frames or a
list of BGR arrays) frame by frame, in order, through
:class:`~tsm_mm.apis.StreamingDetector` or
:class:`~tsm_mm.apis.OnlineRecognizer`; the stream is reset at the start
of each call. It returns ``dict(predictions=[one dict per frame],
visualization=[frames or None], latencies=[seconds per frame])``.
"""
import os.path as osp
import uuid
from contextlib import nullcontext
from typing import (
    Callable,
    Iterable,
    Iterator,
    List,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
    Union,
)

import cv2
import numpy as np
from mmdet.visualization import DetLocalVisualizer
from mmengine.config import Config
from mmengine.fileio import dump
from mmengine.infer import BaseInferencer
from mmengine.structures import BaseDataElement
from mmengine.utils import ProgressBar
from torch import nn

from ..utils import atomic_path
from ..utils.output_paths import check_outputs
from .class_names import recognition_class_names
from .frame_drawing import draw_detections, draw_title
from .model_init import config_meta, config_scope, init_model
from .online_recognizer import OnlineRecognizer
from .streaming_detector import (
    ExportedStreamingDetector,
    FastStreamingDetector,
    StreamingDetector,
)
from .video_io import DEFAULT_FPS, Mp4Writer, VideoFrames

VideoInput = Union[str, Sequence[np.ndarray]]
MIN_VIS_HEIGHT = 240  # shorter frames are enlarged to keep titles legible


class FrameResult(NamedTuple):
    """One frame through an inferencer."""
    prediction: dict  # the usual dict form (json-serialisable)
    data_sample: BaseDataElement  # the model's output for the frame
    latency: float  # seconds: the model's time on this frame
    visualization: Optional[np.ndarray]  # BGR, when drawn


class _VideoInferencer(BaseInferencer):
    """One video per call, one frame at a time; subclasses say how a frame
    is predicted, turned into a dict and drawn."""

    visualize_kwargs = {'out_dir', 'out_file', 'show', 'return_vis',
                        'title'}
    postprocess_kwargs = {'no_save_pred'}
    default_scope = 'mmdet'

    def __init__(self, model: Union[str, Config],
                 weights: Optional[str] = None,
                 device: Optional[str] = None,
                 show_progress: bool = False) -> None:
        super().__init__(model, weights, device, self.default_scope,
                         show_progress)

    def _init_model(self, cfg: Config, weights: Optional[str],
                    device: str = 'cpu') -> nn.Module:
        # ours, not MMEngine's: strict loading, no pretrained downloads
        return init_model(cfg, weights, device, self.scope)

    def _init_visualizer(self, cfg: Config) -> None:
        return None  # frames are drawn by the subclasses

    def reset(self) -> None:
        """Start a new video."""
        self.stream.reset()

    def infer_frame(self, frame: np.ndarray, draw: bool = False,
                    title: str = '') -> FrameResult:
        """Predict (and draw) the next frame of the current video."""
        raise NotImplementedError

    def visualize(self, inputs: list, preds: list, **kwargs) -> list:
        """Frames are drawn as they stream (:meth:`infer_frame`)."""
        return [None] * len(preds)

    def postprocess(self, preds: list, visualization: list,
                    return_datasample: bool = False, **kwargs) -> dict:
        return dict(predictions=preds, visualization=visualization)

    def iter_video(self, inputs: VideoInput, out_dir: str = '',
                   out_file: str = '', show: bool = False,
                   return_vis: bool = False,
                   title: str = '') -> Iterator[FrameResult]:
        """The frames of one video through the model, as they come.

        Args:
            inputs (str | Sequence[np.ndarray]): A video file, a folder of
                frames (natural order) or BGR frames.
            out_dir (str): When set, the drawn video goes to
                ``out_dir/vis/<name>.mp4``.
            out_file (str): Or to this mp4 (H.264; replaced if it exists;
                never the input, nor a link to it).
            show (bool): Show each drawn frame in a window.
            return_vis (bool): Keep the drawn frame in each result.
            title (str): Drawn before the per-frame text (e.g. a model
                name).

        Yields:
            FrameResult: One per frame, in order. A video that ends early
            raises after its last frame, and no mp4 is left.
        """
        frames, name, fps = _open_video(inputs)
        if out_dir and not out_file:
            out_file = osp.join(out_dir, 'vis', f'{name}.mp4')
        if out_file and isinstance(inputs, str):  # replaced, unless an input
            check_outputs(dict(out_file=out_file), dict(inputs=inputs),
                          overwrite=True)
        draw = bool(out_file or show or return_vis)
        num_frames = getattr(frames, 'num_frames', None) or (
            len(frames) if hasattr(frames, '__len__') else 0)
        progress = ProgressBar(num_frames) if self.show_progress else None
        self.reset()
        with Mp4Writer(out_file, fps) if out_file else nullcontext() as out:
            for frame in frames:
                result = self.infer_frame(frame, draw, title)
                if out is not None:
                    out.write(result.visualization)
                if show:
                    cv2.imshow(name, result.visualization)
                    cv2.waitKey(1)
                if not return_vis:
                    result = result._replace(visualization=None)
                if progress is not None:
                    progress.update()
                yield result

    def __call__(self, inputs: VideoInput, return_datasamples: bool = False,
                 batch_size: int = 1, out_dir: str = '', out_file: str = '',
                 show: bool = False, return_vis: bool = False,
                 no_save_pred: bool = True, title: str = '') -> dict:
        """Run one video.

        Args:
            inputs (str | Sequence[np.ndarray]): See :meth:`iter_video`.
            return_datasamples (bool): Predictions as data samples instead
                of dicts.
            batch_size (int): Must be 1: a stream takes frames in order.
            out_dir (str): Drawn video to ``out_dir/vis/<name>.mp4`` and,
                unless ``no_save_pred``, predictions to
                ``out_dir/preds/<name>.json``.
            out_file, show, return_vis, title: See :meth:`iter_video`.
            no_save_pred (bool): Do not write the predictions' json.

        Returns:
            dict: ``predictions`` (one per frame), ``visualization`` (BGR
            frames, or None each unless ``return_vis``) and ``latencies``
            (seconds per frame).
        """
        if batch_size != 1:
            raise ValueError(f'batch_size must be 1 (frames stream in '
                             f'order), got {batch_size}')
        results = list(self.iter_video(inputs, out_dir, out_file, show,
                                       return_vis, title))
        key = 'data_sample' if return_datasamples else 'prediction'
        predictions = [getattr(result, key) for result in results]
        if out_dir and not no_save_pred and not return_datasamples:
            _dump_atomic(predictions, osp.join(
                out_dir, 'preds', f'{_open_video(inputs)[1]}.json'))
        return dict(predictions=predictions,
                    visualization=[r.visualization for r in results],
                    latencies=[r.latency for r in results])


def check_graph_weights(backend: str, weights: Optional[str],
                        name: str) -> None:
    """Refuse weights a runtime cannot run, naming the argument.

    Args:
        backend (str): ``'onnxruntime'`` or ``'openvino'``.
        weights (str, optional): The exported ``.onnx`` (or, for OpenVINO,
            the int8 ``.xml`` of ``tools/quantize_openvino.py``).
        name (str): The argument that gave ``weights``.
    """
    graphs = ('.onnx', '.xml') if backend == 'openvino' else ('.onnx', )
    if not (weights or '').endswith(graphs):
        raise ValueError(f'{backend} runs an exported graph: {name} must be '
                         'the .onnx from tools/export_onnx.py'
                         + (' or the .xml from tools/quantize_openvino.py'
                            if backend == 'openvino' else '')
                         + f', got {weights!r}')


class StreamingDetInferencer(_VideoInferencer):
    """Streaming video detection, shaped like MMDetection's
    ``DetInferencer``.

    Each frame enters :class:`~tsm_mm.apis.StreamingDetector` once, in
    order (a TSM backbone keeps its caches across the video). A prediction
    is ``dict(labels, scores, bboxes)`` as in ``DetInferencer``; frames are
    drawn by ``DetLocalVisualizer`` with the model's class names, under a
    title band scaled to the frame (added above it: a box label never
    covers the title).

    With ``backend='onnxruntime'`` or ``'openvino'``, ``weights`` is the
    whole step exported by ``tools/export_onnx.py`` (``.onnx``, its
    interface beside it; OpenVINO also runs the int8 ``.xml`` of
    ``tools/quantize_openvino.py``) and PyTorch runs nothing: the frames are
    preprocessed with cv2/numpy and the caches live in the runtime
    (OpenVINO: the model's own state). ``backend='pytorch'`` with
    ``precision='bf16'``/``'default'`` or ``compile=True`` runs the
    checkpoint on PyTorch's CPU fast path the same way
    (:class:`~tsm_mm.apis.streaming_detector.FastStreamingDetector`);
    ``'pytorch'`` at ``'f32'`` is the reference: the config's pipeline and
    the backbone's own streams.

    Args:
        model (str | Config): A video detector config.
        weights (str, optional): Its checkpoint (random weights if None),
            or the exported ``.onnx`` for the other backends.
        device (str, optional): Default: CUDA when there is one.
        score_thr (float): Boxes scoring less are not drawn.
        show_progress (bool): A progress bar per video.
        backend (str): ``'pytorch'``, ``'onnxruntime'`` or ``'openvino'``.
        precision (str): ``'f32'``, ``'bf16'`` or ``'default'`` (bf16
            where the CPU computes it natively: AMX, AVX-512-BF16); ONNX
            Runtime runs f32.
        threads (int, optional): The runtime's inference threads.
        compile (bool): With ``'pytorch'``: ``torch.compile`` the backbone
            and neck.
    """

    default_scope = 'mmdet'
    backends = ('pytorch', 'onnxruntime', 'openvino')

    def __init__(self, model: Union[str, Config],
                 weights: Optional[str] = None,
                 device: Optional[str] = None, score_thr: float = 0.3,
                 show_progress: bool = False, backend: str = 'pytorch',
                 precision: str = 'f32',
                 threads: Optional[int] = None,
                 compile: bool = False) -> None:
        if backend not in self.backends:
            raise ValueError(f'backend must be one of {self.backends}, got '
                             f'{backend!r}')
        if compile and backend != 'pytorch':
            raise ValueError(f'compile=True is torch.compile: only backend='
                             f"'pytorch' takes it, got {backend!r}")
        if backend != 'pytorch':
            check_graph_weights(backend, weights, 'weights')
        self.backend, self.precision, self.threads = (backend, precision,
                                                      threads)
        self.compile = bool(compile)
        # the PyTorch fast path: the exported step's preprocessing
        self.fast = backend == 'pytorch' and (precision != 'f32' or
                                              self.compile)
        super().__init__(model, weights, device, show_progress)
        self.score_thr = score_thr
        self.visualizer = DetLocalVisualizer(
            name=f'streaming_det_{uuid.uuid4().hex}')
        self.visualizer.dataset_meta = self.dataset_meta

    def _init_model(self, cfg: Config, weights: Optional[str],
                    device: str = 'cpu') -> Optional[nn.Module]:
        if self.backend == 'pytorch':
            model = super()._init_model(cfg, weights, device)
            self.dataset_meta = model.dataset_meta
            return model
        self.stream = ExportedStreamingDetector(weights, self.backend,
                                                self.precision, self.threads)
        classes = self.stream.detector.classes
        with config_scope(cfg, self.scope):
            self.dataset_meta = dict(classes=classes) if classes else \
                config_meta(cfg)
        return None

    def _init_pipeline(self, cfg: Config) -> Optional[Callable]:
        if self.model is None:  # an exported graph: the stream is built
            return None
        if self.fast:
            self.stream = FastStreamingDetector(
                self.model, self.precision, self.compile, self.threads)
            return None
        # the stream owns the per-frame test pipeline and runs it
        self.stream = StreamingDetector(self.model)
        return self.stream.pipeline

    def infer_frame(self, frame: np.ndarray, draw: bool = False,
                    title: str = '') -> FrameResult:
        sample, seconds = self.stream.detect(frame)
        pred = sample.pred_instances
        prediction = dict(labels=pred.labels.tolist(),
                          scores=pred.scores.tolist(),
                          bboxes=pred.bboxes.tolist())
        drawn = None
        if draw:
            drawn = draw_detections(self.visualizer, frame, sample,
                                    self.score_thr)
            drawn = draw_title(drawn, f'{title} {1e3 * seconds:.1f} ms'
                               .strip())
        return FrameResult(prediction, sample, seconds, drawn)


class OnlineRecogInferencer(_VideoInferencer):
    """Online action recognition, shaped like MMAction2's inferencer.

    Each frame advances :class:`~tsm_mm.apis.OnlineRecognizer` by one step;
    a prediction is ``dict(pred_labels=[top-1], pred_scores=[running
    scores], pred_label_names=[top-1 name])``. A drawn frame (enlarged to
    240 rows if smaller) has the running top-1 class, its score and the
    latency in a title band scaled to the frame, added above it.

    Args:
        model (str | Config): A recognizer config with a TSMResNet.
        weights (str, optional): Its checkpoint (random weights if None).
        device (str, optional): Default: CUDA when there is one.
        window (int, optional): Frames averaged by the running scores.
        classes (str | Sequence[str], optional): Class names (a list or a
            file); default: the checkpoint's, else the config's
            (:func:`~tsm_mm.apis.recognition_class_names`).
        show_progress (bool): A progress bar per video.
    """

    default_scope = 'mmaction'

    def __init__(self, model: Union[str, Config],
                 weights: Optional[str] = None,
                 device: Optional[str] = None, window: Optional[int] = None,
                 classes: Union[str, Sequence[str], None] = None,
                 show_progress: bool = False) -> None:
        self.window = window
        super().__init__(model, weights, device, show_progress)
        self.class_names = recognition_class_names(self.model, classes)

    def _init_pipeline(self, cfg: Config) -> Callable:
        # the stream owns the per-frame test pipeline and runs it
        self.stream = OnlineRecognizer(self.model, self.window)
        return self.stream.pipeline

    def infer_frame(self, frame: np.ndarray, draw: bool = False,
                    title: str = '') -> FrameResult:
        step = self.stream.step(frame)
        score, label = step.scores.max(0)
        name = self.class_names[int(label)]
        prediction = dict(pred_labels=[int(label)],
                          pred_scores=step.scores.tolist(),
                          pred_label_names=[name])
        sample = BaseDataElement(pred_label=label[None],
                                 pred_score=step.scores)
        drawn = None
        if draw:
            if frame.shape[0] < MIN_VIS_HEIGHT:
                scale = MIN_VIS_HEIGHT / frame.shape[0]
                frame = cv2.resize(frame, None, fx=scale, fy=scale,
                                   interpolation=cv2.INTER_NEAREST)
            drawn = draw_title(frame, f'{title} {name} ({score:.2f}) '
                               f'{1e3 * step.latency:.1f} ms'.strip())
        return FrameResult(prediction, sample, step.latency, drawn)


def _open_video(inputs: VideoInput) -> Tuple[Iterable[np.ndarray], str,
                                             float]:
    """Frames, a name for the outputs and the frame rate of an input."""
    if isinstance(inputs, str):
        frames = VideoFrames(inputs)
        name = osp.splitext(osp.basename(osp.normpath(inputs)))[0]
        return frames, name, frames.fps
    if isinstance(inputs, np.ndarray) and inputs.ndim == 3:
        raise TypeError('one frame is not a video: pass a list of frames')
    frames = list(inputs)
    for i, frame in enumerate(frames):
        if not (isinstance(frame, np.ndarray) and frame.ndim == 3
                and frame.shape[2] == 3 and frame.dtype == np.uint8):
            raise TypeError(f'frame {i} is not an (H, W, 3) uint8 array')
    return frames, 'video', DEFAULT_FPS


def _dump_atomic(obj: List[dict], out_file: str) -> None:
    """``mmengine.fileio.dump`` as json, atomically."""
    with atomic_path(out_file) as tmp_file:
        dump(obj, tmp_file, file_format='json')
