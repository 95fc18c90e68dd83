"""Any MMDetection detector over clips in training, streams at test time."""
import inspect
from collections import defaultdict
from typing import Hashable, List, Optional, Tuple

from mmdet.registry import MODELS
from mmdet.structures import DetDataSample, TrackDataSample
from mmdet.utils import ConfigType
from torch import Tensor

from ..stream_caches import RepeatedStreamError, StreamOrderError
from .clip_preprocessor import clip_preprocessor

# how a test loop must feed the streams: one frame of a video per batch,
# each video in frame order
_BATCH_HINT = ('a batch may hold one frame of each video: to batch several '
               "videos, set the test dataloader's batch_sampler=dict(type="
               "'VideoInterleavedBatchSampler') (tsm_mm.datasets.samplers), "
               'or batch_size=1')
_ORDER_HINT = ('feed each video in frame order (TrackImgSampler or '
               'VideoInterleavedBatchSampler)')


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

    The backbone is told it is routed (``routed=True``), and a
    ``DetDataPreprocessor`` becomes a ``TrackDataPreprocessor``
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

    def predict(self, batch_inputs: Tensor,
                batch_data_samples: List[TrackDataSample],
                rescale: bool = True) -> List[TrackDataSample]:
        """Detections for every frame; 1-frame items run as streams."""
        frames, samples = self._clip_frames(batch_inputs, batch_data_samples,
                                            'predict')
        if batch_inputs.shape[1] > 1 or not self.streams:
            super().predict(frames, samples, rescale)
            return batch_data_samples
        stream_ids, frame_ids, lengths = zip(
            *[self._stream_of(s) for s in samples])
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
        return batch_data_samples

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
