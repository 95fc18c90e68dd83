"""Any MMDetection detector over clips in training, streams at test time."""
import inspect
import itertools
from collections import defaultdict
from contextlib import contextmanager
from typing import (
    Hashable,
    Iterator,
    List,
    Optional,
    Sequence,
    Tuple,
    Union,
)

from mmdet.registry import MODELS
from mmdet.structures import DetDataSample, TrackDataSample
from mmdet.utils import ConfigType
from torch import Tensor

from ..stream_caches import RepeatedStreamError, StreamOrderError
from .clip_preprocessor import clip_preprocessor, plain_images

# how a test loop must feed the streams: one frame of a video per batch,
# each video in frame order
_BATCH_HINT = ('a batch may hold one frame of each video: to batch several '
               "videos, set the test dataloader's batch_sampler=dict(type="
               "'VideoInterleavedBatchSampler') (tsm_mm.datasets.samplers), "
               'or batch_size=1')
_ORDER_HINT = ('feed each video in frame order (TrackImgSampler or '
               'VideoInterleavedBatchSampler)')
# the streams of plain images: one each, closed after its only frame
_IMAGE_STREAMS = itertools.count()
# a stream: its id, the frame it gives and its video's length (if known)
Stream = Tuple[Hashable, int, Optional[int]]


def _routed(backbone: ConfigType) -> ConfigType:
    """The backbone config, told that this detector routes its frames."""
    kind = backbone['type']
    cls = kind if isinstance(kind, type) else MODELS.get(kind)
    if cls is not None and 'routed' in inspect.signature(cls).parameters:
        return dict(backbone, routed=True)
    return backbone


class VideoDetectorMixin:
    """Makes an MMDetection detector class a video detector.

    Put in front of a ``BaseDetector`` subclass (:class:`VideoDetector`
    does it for any registered detector). Training takes N clips of T
    frames (``(N, T, C, H, W)`` with ``TrackDataSample`` s from
    :class:`~tsm_mm.datasets.ImageNetVIDDataset`) and runs them as N*T
    images, clip-major, so a TSM backbone shifts within each clip; T must
    be the backbone's ``num_segments``. At test time, 1-frame items are
    routed to the backbone's stream of their ``video_id`` (its
    :meth:`stream_step`): frame 0 starts a stream afresh, a skipped or
    repeated frame is an error, and the whole step (caches, frame
    counters, release of finished videos) commits only when the whole
    prediction succeeded. Items of ``num_segments`` frames are predicted
    offline as clips. With a 2D backbone, every frame is an image: the
    same class serves as the single-frame baseline.

    Plain images (``DetDataSample`` items, as MMDetection's
    ``inference_detector`` and ``DetInferencer`` send them, batched
    ``(N, C, H, W)`` by the data preprocessor) are each the first frame of
    a video of its own: nothing is shifted in (TSM's rule at frame 0),
    nothing is kept for the next image, and ``DetDataSample`` s with
    ``pred_instances`` come back. Under :meth:`image_stream` (the user's
    door is :func:`tsm_mm.apis.video_stream`) they are instead the
    consecutive frames of one stream.

    The backbone is told it is routed (``routed=True``), and a
    ``DetDataPreprocessor`` or ``TrackDataPreprocessor`` becomes a
    ``VideoDataPreprocessor``, which batches clips and plain images
    (:func:`~tsm_mm.models.detectors.clip_preprocessor.clip_preprocessor`).
    Nothing else changes: same modules, same state-dict keys.
    """

    def __init__(self, backbone: ConfigType, *args,
                 data_preprocessor: Optional[ConfigType] = None,
                 **kwargs) -> None:
        super().__init__(
            _routed(backbone), *args,
            data_preprocessor=clip_preprocessor(data_preprocessor,
                                                type(self).__name__),
            **kwargs)
        # [stream id, next frame] while plain images stream (image_stream)
        self._image_stream: Optional[list] = None

    @property
    def streams(self) -> bool:
        """Whether the backbone runs frame by frame with per-stream state."""
        return hasattr(self.backbone, 'stream_step')

    def _clip_frames(self, batch_inputs: Tensor,
                     batch_data_samples: Optional[List[TrackDataSample]],
                     mode: str) -> Tuple[Tensor, List[DetDataSample]]:
        """(N, T, C, H, W) clips and their samples -> N*T frames.

        T must be the backbone's ``num_segments`` when it shifts, except for
        1-frame items in ``predict`` (stream steps).
        """
        if batch_inputs.dim() != 5:
            raise ValueError(f'{type(self).__name__} ({mode}) takes clips '
                             '(N, T, C, H, W) from TrackDataPreprocessor, '
                             f'got shape {tuple(batch_inputs.shape)}')
        t = batch_inputs.shape[1]
        if getattr(self.backbone, 'num_shift_sites', 0) and \
                t != self.backbone.num_segments and \
                not (mode == 'predict' and t == 1):
            raise ValueError(
                f'{type(self).__name__} ({mode}): clips have {t} frames but '
                'the backbone shifts over num_segments='
                f'{self.backbone.num_segments}' +
                ('' if mode == 'predict' else
                 '; 1-frame items are stream steps, at test time only'))
        samples = None if batch_data_samples is None else \
            [frame for clip in batch_data_samples for frame in clip]
        return batch_inputs.flatten(0, 1), samples

    def loss(self, batch_inputs: Tensor,
             batch_data_samples: List[TrackDataSample]) -> dict:
        """Losses over every frame of every clip."""
        return super().loss(
            *self._clip_frames(batch_inputs, batch_data_samples, 'loss'))

    def predict(self, batch_inputs: Union[Tensor, Sequence[Tensor]],
                batch_data_samples: Union[List[TrackDataSample],
                                          List[DetDataSample]],
                rescale: bool = True
                ) -> Union[List[TrackDataSample], List[DetDataSample]]:
        """Detections for every frame; 1-frame items run as streams, plain
        images as 1-frame streams of their own (see the class)."""
        if plain_images(batch_data_samples):
            return self._predict_images(batch_inputs, batch_data_samples,
                                        rescale)
        frames, samples = self._clip_frames(batch_inputs, batch_data_samples,
                                            'predict')
        if batch_inputs.shape[1] > 1 or not self.streams:
            super().predict(frames, samples, rescale)
            return batch_data_samples
        self._predict_streams(frames, samples,
                              [self._stream_of(s) for s in samples], rescale)
        return batch_data_samples

    def _predict_images(self, images: Union[Tensor, Sequence[Tensor]],
                        samples: List[DetDataSample],
                        rescale: bool) -> List[DetDataSample]:
        """Plain images: 1-frame streams of their own, or the next frames
        of the stream of :meth:`image_stream`."""
        if not isinstance(images, Tensor) or images.dim() != 4 or \
                len(images) != len(samples):
            raise ValueError(f'{type(self).__name__} (predict) takes plain '
                             'images as (N, C, H, W) with N DetDataSamples '
                             '(as its data preprocessor batches them), got '
                             f'{getattr(images, "shape", type(images))} and '
                             f'{len(samples)} samples')
        if not self.streams:
            return super().predict(images, samples, rescale)
        if self._image_stream is None:
            size = getattr(getattr(self.backbone, 'stream_caches', None),
                           'max_streams', len(samples))
            for start in range(0, len(samples), size):
                stop = min(start + size, len(samples))
                self._predict_streams(
                    images[start:stop], samples[start:stop],
                    [(('image', next(_IMAGE_STREAMS)), 0, 1)
                     for _ in range(start, stop)], rescale)
            return samples
        for i in range(len(samples)):  # one frame of the stream per step
            stream_id, frame_id = self._image_stream
            self._predict_streams(images[i:i + 1], samples[i:i + 1],
                                  [(stream_id, frame_id, None)], rescale)
            self._image_stream[1] = frame_id + 1
        return samples

    def _predict_streams(self, frames: Tensor, samples: List[DetDataSample],
                         streams: List[Stream], rescale: bool) -> None:
        """One stream step: row i of ``frames`` is the given frame of
        ``streams[i]``; predictions go into ``samples``."""
        stream_ids, frame_ids, lengths = zip(*streams)
        # a stream keeps one feature size: run frames of equal padded size
        # together, each cropped to its own padding
        groups = defaultdict(list)
        for i, sample in enumerate(samples):
            groups[tuple(sample.metainfo.get(
                'pad_shape', frames.shape[-2:]))[:2]].append(i)
        try:
            with self.backbone.stream_step(stream_ids, frame_ids,
                                           lengths) as step:
                for (h, w), rows in groups.items():
                    for i in rows:
                        samples[i].set_metainfo(
                            dict(batch_input_shape=(h, w)))
                    with step.rows([stream_ids[i] for i in rows]):
                        super().predict(frames[rows, :, :h, :w],
                                        [samples[i] for i in rows], rescale)
        except StreamOrderError as err:
            path = samples[err.row].metainfo.get('img_path')
            hint = _BATCH_HINT if isinstance(err, RepeatedStreamError) \
                else _ORDER_HINT
            raise type(err)(f'{err} [{path}]; {hint}', err.row,
                            err.stream_id) from err

    @contextmanager
    def image_stream(self, stream_id: Hashable) -> Iterator[None]:
        """Plain images predicted inside are the frames 0, 1, 2, ... of
        one stream; leaving resets it. See :func:`tsm_mm.apis.video_stream`.

        Args:
            stream_id (Hashable): The stream's id.
        """
        if self._image_stream is not None:
            raise RuntimeError(
                f'{type(self).__name__}: stream {self._image_stream[0]!r} '
                'is open: plain images stream into one video at a time')
        self._image_stream = [stream_id, 0]
        try:
            yield
        finally:
            self._image_stream = None
            self.reset_streams([stream_id])

    @staticmethod
    def _stream_of(sample: DetDataSample
                   ) -> Tuple[Hashable, int, Optional[int]]:
        """The stream, frame and video length of a 1-frame item."""
        meta = sample.metainfo
        if 'video_id' not in meta or 'frame_id' not in meta:
            raise KeyError('streaming needs video_id and frame_id in the '
                           f'metainfo of {meta.get("img_path", "a frame")}')
        return (meta['video_id'], meta['frame_id'],
                meta.get('ori_video_length'))

    def reset_streams(self, stream_ids=None) -> None:
        """Forget the caches and frame counters of some or all videos."""
        if self.streams:
            self.backbone.reset_streams(stream_ids)

    def _forward(self, batch_inputs: Tensor,
                 batch_data_samples: Optional[List[TrackDataSample]] = None):
        """Raw network outputs of the N*T frames (tensor mode)."""
        if batch_inputs.dim() == 4 and \
                not getattr(self.backbone, 'num_shift_sites', 0):
            return super()._forward(batch_inputs, batch_data_samples)
        return super()._forward(
            *self._clip_frames(batch_inputs, batch_data_samples, 'tensor'))
