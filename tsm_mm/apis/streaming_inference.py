"""Run a model frame by frame over a video: detection and recognition.

Each frame goes through the config's own test pipeline (its decoding step
replaced by the frame in memory) and the model's data preprocessor, so a
frame read here gives the model the same input as the dataset path.
"""
import copy
import logging
import os
import os.path as osp
import time
import uuid
from collections import deque
from typing import (
    ContextManager,
    Dict,
    List,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
    Union,
)

import numpy as np
import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.logging import MMLogger, print_log
from mmengine.registry import DATASETS, MODELS, DefaultScope
from mmengine.runner import load_checkpoint
from torch import Tensor, nn

# frame_id of a video whose length is unknown: its stream is never closed
# by the detector itself (StreamingDetector.reset closes it)
UNKNOWN_LENGTH = 2**31 - 1
# detection transforms that need files or annotations a frame lacks
_ANNOTATION_LOADERS = ('LoadAnnotations', 'LoadTrackAnnotations')
_MULTI_VIEW_CROPS = ('ThreeCrop', 'TenCrop')


def _scope(cfg: Config, default: str) -> ContextManager:
    """A context in which the config's registries are the default."""
    return DefaultScope.overwrite_default_scope(
        cfg.get('default_scope', default))


def init_model(config: Union[str, Config],
               checkpoint: Optional[str] = None,
               device: str = 'cpu',
               default_scope: str = 'mmdet') -> nn.Module:
    """Build the model of a config, with weights or at random, for eval.

    Without a checkpoint the model gets its own ``init_weights`` (pretrained
    backbones are skipped: nothing is downloaded). ``model.cfg`` keeps the
    config and ``model.dataset_meta`` the classes, from the checkpoint's
    meta, else from the config's test dataset.

    Args:
        config (str | Config): Config file or object.
        checkpoint (str, optional): Weights to load, strictly (MMEngine's
            ``load_checkpoint``).
        device (str): Where the model runs.
        default_scope (str): Registry scope when the config names none.

    Returns:
        nn.Module: The model, in eval mode, on ``device``.
    """
    cfg = Config.fromfile(config) if isinstance(config, str) else \
        copy.deepcopy(config)
    backbone = cfg.model.get('backbone', {})
    for key in ('init_cfg', 'pretrained'):
        if backbone.get(key) is not None:
            backbone[key] = None
    with _scope(cfg, default_scope):
        model = MODELS.build(cfg.model)
        meta = {}
        if checkpoint is None:
            _quiet_init_weights(model)
        else:
            meta = load_checkpoint(model, checkpoint, map_location='cpu',
                                   strict=True,
                                   logger='current').get('meta', {})
        model.dataset_meta = meta.get('dataset_meta') or _config_meta(cfg)
    model.cfg = cfg
    return model.to(device).eval()


def _quiet_init_weights(model: nn.Module) -> None:
    """``init_weights`` without its report line per parameter."""
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)


def _config_meta(cfg: Config) -> dict:
    """The test dataset's metainfo: the config's, else its class's."""
    dataset = cfg.get('test_dataloader', {}).get('dataset', {})
    if dataset.get('metainfo'):
        return dict(dataset.metainfo)
    with DATASETS.switch_scope_and_registry(None) as registry:
        dataset_cls = registry.get(dataset.get('type', ''))
    return dict(getattr(dataset_cls, 'METAINFO', {}))


def _test_pipeline(cfg: Config) -> List[dict]:
    dataset = cfg.get('test_dataloader', {}).get('dataset', {})
    pipeline = dataset.get('pipeline', cfg.get('test_pipeline'))
    if not pipeline:
        raise ValueError('the config has no test_dataloader.dataset.pipeline'
                         ' nor test_pipeline')
    return copy.deepcopy(list(pipeline))


def detection_frame_pipeline(pipeline: Sequence[dict]) -> List[dict]:
    """A detection test pipeline for frames in memory.

    ``LoadImageFromFile`` becomes ``LoadImageFromNDArray`` and annotation
    loaders go, also inside wrappers such as ``TransformBroadcaster``.

    Args:
        pipeline (Sequence[dict]): The config's test pipeline.

    Returns:
        list[dict]: The new pipeline.
    """
    frame_pipeline = []
    for transform in copy.deepcopy(list(pipeline)):
        if transform['type'] in _ANNOTATION_LOADERS:
            continue
        if transform['type'] == 'LoadImageFromFile':
            transform['type'] = 'LoadImageFromNDArray'
        if 'transforms' in transform:
            transform['transforms'] = detection_frame_pipeline(
                transform['transforms'])
        frame_pipeline.append(transform)
    return frame_pipeline


def recognition_frame_pipeline(pipeline: Sequence[dict]) -> List[dict]:
    """A recognition test pipeline for one decoded frame.

    Keeps what follows the last decoding step (``RawFrameDecode``,
    ``DecordDecode``, ...): resizing, cropping, formatting and packing.
    Multi-view crops (``ThreeCrop``, ``TenCrop``) become a ``CenterCrop`` of
    the same size, as in MMAction2's val pipelines: a stream takes one view.

    Args:
        pipeline (Sequence[dict]): The config's test pipeline.

    Returns:
        list[dict]: The transforms after decoding.
    """
    types = [transform['type'] for transform in pipeline]
    decodes = [i for i, name in enumerate(types) if name.endswith('Decode')]
    if not decodes:
        raise ValueError(f'no decoding step (*Decode) in the test pipeline '
                         f'{types}')
    frame_pipeline = copy.deepcopy(list(pipeline)[decodes[-1] + 1:])
    for i, transform in enumerate(frame_pipeline):
        if transform['type'] in _MULTI_VIEW_CROPS:
            print_log(f'{transform["type"]} -> CenterCrop: one view per '
                      'frame', 'current')
            frame_pipeline[i] = dict(type='CenterCrop',
                                     crop_size=transform['crop_size'])
    return frame_pipeline


def _timed(fn, device: torch.device):
    """``fn()`` and its wall time in seconds (GPU work included)."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    with torch.no_grad():
        out = fn()
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    return out, time.perf_counter() - start


class StreamingDetector:
    """Detect objects in the frames of one video at a time, in order.

    Made for :class:`~tsm_mm.models.VideoFasterRCNN`: each frame is a
    1-frame item with ``video_id``/``frame_id``, which the detector routes
    to the backbone's stream of that video (a streaming TSM backbone keeps
    its caches; a 2D backbone sees single images).

    Args:
        model (nn.Module): From :func:`init_model` (``model.cfg`` set).
        test_pipeline (Sequence[dict], optional): Replaces the config's
            test pipeline.
    """

    def __init__(self, model: nn.Module,
                 test_pipeline: Optional[Sequence[dict]] = None) -> None:
        if not hasattr(model, 'reset_streams'):
            raise TypeError(f'{type(model).__name__} does not route frames '
                            'to streams: use VideoFasterRCNN')
        self.model = model
        pipeline = test_pipeline or _test_pipeline(model.cfg)
        with _scope(model.cfg, 'mmdet'):
            self.pipeline = Compose(detection_frame_pipeline(pipeline))
        self.device = next(model.parameters()).device
        self._video_id = -1
        self._frame_id = 0
        self._length = UNKNOWN_LENGTH
        self.reset()

    @classmethod
    def from_config(cls, config: Union[str, Config],
                    checkpoint: Optional[str] = None,
                    device: str = 'cpu') -> 'StreamingDetector':
        """Build the model (see :func:`init_model`) and its detector."""
        return cls(init_model(config, checkpoint, device, 'mmdet'))

    def reset(self, num_frames: Optional[int] = None) -> None:
        """Start a new video (its first frame comes next).

        Args:
            num_frames (int, optional): Its length, when known: the stream
                is freed after its last frame and a frame more is an error.
        """
        self.model.reset_streams([self._video_id])
        self._video_id += 1
        self._frame_id = 0
        self._length = num_frames or UNKNOWN_LENGTH

    def detect(self, frame: np.ndarray) -> Tuple[DetDataSample, float]:
        """Detections of the next frame of the current video.

        Args:
            frame (np.ndarray): (H, W, 3) BGR uint8.

        Returns:
            tuple[DetDataSample, float]: The frame's ``pred_instances`` (in
            its pixel coordinates, on the CPU) and the model's time in
            seconds (preprocessor and network, not the pipeline).
        """
        results = dict(img=[frame], img_id=[self._frame_id],
                       frame_id=[self._frame_id], video_id=[self._video_id],
                       video_length=[1], ori_video_length=[self._length])
        data = pseudo_collate([self.pipeline(results)])
        tracks, seconds = _timed(lambda: self.model.test_step(data),
                                 self.device)
        self._frame_id += 1
        return tracks[0][0].cpu(), seconds


class OnlineStep(NamedTuple):
    """What :meth:`OnlineRecognizer.step` gives for one frame."""
    logits: Tensor  # (num_classes,): this frame's head output
    scores: Tensor  # (num_classes,): softmax of the mean logits so far
    latency: float  # seconds: preprocessor, backbone step and head


def frame_logits(model: nn.Module, features: Tensor) -> Tensor:
    """A recognizer head's logits per frame, before the temporal consensus.

    Args:
        model (nn.Module): A ``Recognizer2D`` with a TSN/TSM head.
        features (Tensor): Backbone output, (N, C, h, w).

    Returns:
        Tensor: (N, num_classes).
    """
    head = model.cls_head
    if getattr(head, 'avg_pool', None) is not None:
        features = head.avg_pool(features)
    return head.fc_cls(features.flatten(1))


class OnlineRecognizer:
    """Recognise actions online with a causal TSM recognizer.

    One frame per step through ``backbone.forward_stream``; the head's
    per-frame logits are ``fc_cls(avg_pool(feature))`` (TSMHead without its
    consensus), and the running scores are the softmax of their mean over
    the last ``window`` frames (all frames so far when None): with the
    clip's frames, what the recognizer gives for the clip offline
    (AvgConsensus, then ``average_clips='prob'``).

    Args:
        model (nn.Module): A ``Recognizer2D`` whose backbone streams
            (:class:`~tsm_mm.models.TSMResNet`), from :func:`init_model`.
        window (int, optional): Frames averaged by the running scores.
        test_pipeline (Sequence[dict], optional): Replaces the config's
            test pipeline; the steps after its decoding apply per frame.
    """

    def __init__(self, model: nn.Module, window: Optional[int] = None,
                 test_pipeline: Optional[Sequence[dict]] = None) -> None:
        if not hasattr(model.backbone, 'forward_stream'):
            raise TypeError(f'{type(model.backbone).__name__} cannot run '
                            'frame by frame: use TSMResNet')
        if getattr(model.backbone, 'direction', 'causal') != 'causal':
            print_log(f'the backbone was built {model.backbone.direction}; '
                      'streaming applies the causal shift', 'current',
                      level=30)
        if window is not None and window < 1:
            raise ValueError(f'window must be >= 1, got {window}')
        self.model, self.window = model, window
        pipeline = test_pipeline or _test_pipeline(model.cfg)
        with _scope(model.cfg, 'mmaction'):
            self.pipeline = Compose(recognition_frame_pipeline(pipeline))
        self.device = next(model.parameters()).device
        self._logits: deque = deque(maxlen=window)
        self._stream = 0
        self.reset()

    @classmethod
    def from_config(cls, config: Union[str, Config],
                    checkpoint: Optional[str] = None,
                    window: Optional[int] = None,
                    device: str = 'cpu') -> 'OnlineRecognizer':
        """Build the model (see :func:`init_model`) and its recognizer."""
        return cls(init_model(config, checkpoint, device, 'mmaction'),
                   window)

    @property
    def num_classes(self) -> int:
        return self.model.cls_head.fc_cls.out_features

    def reset(self) -> None:
        """Start a new video: zero caches, no past logits."""
        self.model.backbone.reset_streams()
        self._logits.clear()

    def frame_input(self, frame: np.ndarray) -> Tensor:
        """The model's input for one BGR frame, (1, C, H, W)."""
        return self._preprocess(self._pack(frame))

    def _pack(self, frame: np.ndarray) -> dict:
        """The test pipeline's steps after decoding, on one frame."""
        rgb = np.ascontiguousarray(frame[..., ::-1])  # mmaction decodes RGB
        shape = rgb.shape[:2]
        return pseudo_collate([self.pipeline(dict(
            imgs=[rgb], num_clips=1, clip_len=1, modality='RGB',
            frame_inds=np.array([0]), img_shape=shape,
            original_shape=shape))])

    def _preprocess(self, data: dict) -> Tensor:
        """The data preprocessor (normalisation) on a packed frame."""
        inputs = self.model.data_preprocessor(data, False)['inputs']
        inputs = inputs.reshape((-1, ) + inputs.shape[-3:])
        if inputs.shape[0] != 1:
            raise ValueError(f'the test pipeline makes {inputs.shape[0]} '
                             'views of a frame (multi-crop?); streaming '
                             'takes one')
        return inputs

    def frame_logits(self, features: Tensor) -> Tensor:
        """The head's logits per frame (:func:`frame_logits`)."""
        return frame_logits(self.model, features)

    def step(self, frame: np.ndarray) -> OnlineStep:
        """Advance the current video by one frame.

        Args:
            frame (np.ndarray): (H, W, 3) BGR uint8.

        Returns:
            OnlineStep: This frame's logits, the running scores and the
            model's time in seconds.
        """

        data = self._pack(frame)

        def run() -> Tensor:
            inputs = self._preprocess(data)
            features = self.model.backbone.forward_stream(
                inputs, [self._stream])
            return self.frame_logits(features)[0]

        logits, seconds = _timed(run, self.device)
        self._logits.append(logits)
        mean = torch.stack(list(self._logits)).mean(0)
        return OnlineStep(logits.cpu(), mean.softmax(-1).cpu(), seconds)


def plot_frame_latency(latencies: Dict[str, Sequence[float]],
                       out_file: str) -> None:
    """Per-frame latency of one or more models as a PNG.

    Left: milliseconds per frame; right: their distribution (box plot,
    median labelled). Written atomically.

    Args:
        latencies (dict[str, Sequence[float]]): Seconds per frame, by model
            name.
        out_file (str): The PNG.
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
    box_ax.set_xticks(range(1, len(milliseconds) + 1), list(milliseconds))
    for i, values in enumerate(milliseconds.values(), 1):
        box_ax.annotate(f'{np.median(values):.1f}', (i, np.median(values)),
                        textcoords='offset points', xytext=(12, 0),
                        fontsize=8, va='center')
    box_ax.set_title('median (ms)', fontsize=9)
    fig.tight_layout()
    folder = osp.dirname(osp.abspath(out_file))
    os.makedirs(folder, exist_ok=True)
    tmp_file = osp.join(folder, f'.{osp.basename(out_file)}.'
                        f'{uuid.uuid4().hex}.tmp')
    try:
        fig.savefig(tmp_file, dpi=110, format='png')
        os.replace(tmp_file, out_file)
    finally:
        if osp.exists(tmp_file):
            os.remove(tmp_file)
