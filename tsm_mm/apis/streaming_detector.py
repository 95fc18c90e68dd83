"""Detect objects in the frames of a video, one frame at a time."""
import os.path as osp
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.structures import InstanceData
from torch import nn

from ..datasets.frame_items import clip_item, is_clip_pipeline
from ..utils.timing import timed_call
from .frame_pipelines import config_test_pipeline, detection_frame_pipeline
from .model_init import config_scope, init_model

# frame_id of a video whose length is unknown: its stream is never closed
# by the detector itself (StreamingDetector.reset closes it)
UNKNOWN_LENGTH = 2**31 - 1


class StreamingDetector:
    """Detect objects in the frames of one video at a time, in order.

    Made for :class:`~tsm_mm.models.VideoDetector` (``VideoFasterRCNN``,
    ...): each frame is a 1-frame item with ``video_id``/``frame_id``,
    which the detector routes to the backbone's stream of that video (a
    streaming TSM backbone keeps its caches; a 2D backbone sees single
    images). The config's test pipeline may be per frame (ending in
    ``PackDetInputs``; the frames are packed as clips of one) or a clip
    pipeline (``TransformBroadcaster`` ... ``PackTrackInputs``).

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
        pipeline = test_pipeline or config_test_pipeline(model.cfg)
        with config_scope(model.cfg, 'mmdet'):
            self.pipeline = Compose(detection_frame_pipeline(pipeline))
        self._clips = is_clip_pipeline(self.pipeline)
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
        stream = dict(frame_id=self._frame_id, video_id=self._video_id,
                      ori_video_length=self._length)
        results = dict(stream, img=frame, img_id=self._frame_id,
                       video_length=1)
        if self._clips:  # a clip pipeline takes lists over the frames
            item = self.pipeline({k: [v] for k, v in results.items()})
        else:
            item = clip_item([self.pipeline(results)])
            # routed whatever meta_keys the pipeline packs
            item['data_samples'][0].set_metainfo(stream)
        data = pseudo_collate([item])
        tracks, seconds = timed_call(lambda: self.model.test_step(data),
                                 self.device)
        self._frame_id += 1
        return tracks[0][0].cpu(), seconds


class RuntimeStreamingDetector:
    """:class:`StreamingDetector`'s interface over a runtime of the whole
    step (:class:`~tsm_mm.deploy.RuntimeDetector`): one video at a time,
    the caches kept by the runtime.

    Args:
        detector (RuntimeDetector, optional): Runs the step; None: built
            by :meth:`_build` at the first frame.
    """

    def __init__(self, detector=None) -> None:
        self.detector = detector
        self._frame_id = 0

    @property
    def precision(self) -> Optional[str]:
        """What the runtime computes in (None before it is built)."""
        return None if self.detector is None else self.detector.precision

    def _build(self, frame: np.ndarray):
        raise NotImplementedError

    def reset(self, num_frames: Optional[int] = None) -> None:
        """Start a new video (its first frame comes next)."""
        self._frame_id = 0

    def detect(self, frame: np.ndarray) -> Tuple[DetDataSample, float]:
        """Detections of the next frame of the current video (see
        :meth:`StreamingDetector.detect`); the time is the network's (not
        the preprocessing)."""
        if self.detector is None:
            self.detector = self._build(frame)
        (result, ), seconds = self.detector.detect([frame], [0],
                                                   [self._frame_id])
        self._frame_id += 1
        sample = DetDataSample(metainfo=dict(ori_shape=frame.shape[:2]))
        sample.pred_instances = InstanceData(
            **{key: torch.from_numpy(value) for key, value in result.items()})
        return sample, seconds


class ExportedStreamingDetector(RuntimeStreamingDetector):
    """The whole step exported (:class:`~tsm_mm.deploy.ExportedDetector`),
    one video at a time.

    Args:
        onnx_path (str): The graph from ``tools/export_onnx.py``; its
            interface is the ``.json`` beside it.
        backend (str): ``'onnxruntime'`` or ``'openvino'``.
        precision (str): OpenVINO's ``'f32'``, ``'bf16'`` or ``'default'``.
        threads (int, optional): Inference threads.
    """

    def __init__(self, onnx_path: str, backend: str,
                 precision: str = 'f32',
                 threads: Optional[int] = None) -> None:
        from ..deploy.exported_detector import ExportedDetector
        interface = osp.splitext(onnx_path)[0] + '.json'
        if not osp.isfile(interface):
            raise FileNotFoundError(
                f'{interface}: the interface of {onnx_path} is missing '
                '(tools/export_onnx.py writes it beside the graph)')
        super().__init__(ExportedDetector(onnx_path, interface, backend,
                                          precision, threads))


class FastStreamingDetector(RuntimeStreamingDetector):
    """A video detector on PyTorch's CPU fast path
    (:class:`~tsm_mm.deploy.TorchDetector`: channels-last, bf16,
    ``torch.compile``), one video at a time.

    Frames are preprocessed as for the exported step (cv2/numpy, the
    config's test ``Resize``) and padded to the size the first frame gives
    (its resized size, up to the preprocessor's ``pad_size_divisor``), as
    mmdet pads it; a later frame that resizes larger is refused.

    Args:
        model (nn.Module): From :func:`init_model` (``model.cfg`` set).
        precision (str): ``'f32'``, ``'bf16'`` or ``'default'`` (bf16
            where the CPU computes it natively).
        compile (bool): ``torch.compile`` the backbone and neck.
        threads (int, optional): torch's intra-op threads.
    """

    def __init__(self, model: nn.Module, precision: str = 'f32',
                 compile: bool = False,
                 threads: Optional[int] = None) -> None:
        super().__init__()
        from .frame_pipelines import config_test_resize
        self.model = model.eval()
        self.resize = config_test_resize(model.cfg)
        self.options = dict(precision=precision, compile=compile,
                            threads=threads)

    @property
    def precision(self) -> str:
        """What the fast path computes in, known before its first frame
        (``'default'``: bf16 where the CPU has it)."""
        if self.detector is not None:
            return self.detector.precision
        from ..deploy.torch_fast import cpu_supports_bf16
        asked = self.options['precision']
        return 'bf16' if asked == 'bf16' or (
            asked == 'default' and cpu_supports_bf16()) else 'f32'

    def _build(self, frame: np.ndarray):
        from ..deploy import TorchDetector
        from ..deploy.exported_detector import resized_size
        h, w = frame.shape[:2]
        if self.resize:
            w, h = resized_size((w, h), self.resize['scale'],
                                self.resize['keep_ratio'])
        divisor = int(getattr(self.model.data_preprocessor,
                              'pad_size_divisor', 1))
        size = (-(-h // divisor) * divisor, -(-w // divisor) * divisor)
        return TorchDetector(self.model, size, self.resize, **self.options)
