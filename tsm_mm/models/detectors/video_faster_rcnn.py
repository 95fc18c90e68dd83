"""Faster R-CNN over clips in training and over streams at test time."""
from collections import defaultdict
from typing import Dict, Hashable, List, Optional, Tuple

from mmdet.models.detectors import FasterRCNN
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample, TrackDataSample
from torch import Tensor


@MODELS.register_module()
class VideoFasterRCNN(FasterRCNN):
    """Faster R-CNN for video: clips in, every frame supervised.

    Training takes N clips of T frames (``(N, T, C, H, W)`` with
    ``TrackDataSample`` s from :class:`~tsm_mm.datasets.ImageNetVIDDataset`)
    and runs them as N*T images, clip-major, so a TSM backbone shifts
    within each clip. At test time, 1-frame items are routed to the
    backbone's stream of their ``video_id`` (:meth:`forward_stream`); frame 0
    starts a stream afresh, a skipped or repeated frame is an error. Items of
    T > 1 frames are predicted offline as clips. With a 2D backbone, every
    frame is an image: the same class serves as the single-frame baseline.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._stream_ids: Optional[List[Hashable]] = None
        self._next_frame: Dict[Hashable, int] = {}

    @property
    def streams(self) -> bool:
        """Whether the backbone keeps per-stream caches."""
        return hasattr(self.backbone, 'forward_stream')

    def extract_feat(self, batch_inputs: Tensor) -> Tuple[Tensor]:
        """Backbone and neck; frame by frame while a stream step runs."""
        if self._stream_ids is not None:
            x = self.backbone.forward_stream(batch_inputs, self._stream_ids)
        else:
            x = self.backbone(batch_inputs)
        return self.neck(x) if self.with_neck else x

    def _flatten(self, batch_inputs: Tensor,
                 batch_data_samples: List[TrackDataSample]
                 ) -> Tuple[Tensor, List[DetDataSample]]:
        """(N, T, C, H, W) clips and their samples -> N*T frames."""
        if batch_inputs.dim() != 5:
            raise ValueError('VideoFasterRCNN takes clips (N, T, C, H, W) '
                             'from TrackDataPreprocessor, got shape '
                             f'{tuple(batch_inputs.shape)}')
        n, t = batch_inputs.shape[:2]
        segments = getattr(self.backbone, 'num_segments', t)
        if t > 1 and getattr(self.backbone, 'is_shift', False) and \
                t != segments:
            raise ValueError(f'clips have {t} frames but the backbone '
                             f'shifts over num_segments={segments}')
        samples = [frame for clip in batch_data_samples for frame in clip]
        return batch_inputs.flatten(0, 1), samples

    def loss(self, batch_inputs: Tensor,
             batch_data_samples: List[TrackDataSample]) -> dict:
        """Losses over every frame of every clip."""
        return super().loss(*self._flatten(batch_inputs, batch_data_samples))

    def predict(self, batch_inputs: Tensor,
                batch_data_samples: List[TrackDataSample],
                rescale: bool = True) -> List[TrackDataSample]:
        """Detections for every frame; 1-frame items run as streams."""
        frames, samples = self._flatten(batch_inputs, batch_data_samples)
        if batch_inputs.shape[1] > 1 or not self.streams:
            super().predict(frames, samples, rescale)
            return batch_data_samples
        stream_ids = [self._route(s) for s in samples]
        # a stream keeps one feature size: run frames of equal padded size
        # together, each cropped to its own padding
        groups = defaultdict(list)
        for i, sample in enumerate(samples):
            groups[tuple(sample.metainfo.get(
                'pad_shape', frames.shape[-2:]))[:2]].append(i)
        for (h, w), rows in groups.items():
            self._stream_ids = [stream_ids[i] for i in rows]
            for i in rows:
                samples[i].set_metainfo(dict(batch_input_shape=(h, w)))
            try:
                super().predict(frames[rows, :, :h, :w],
                                [samples[i] for i in rows], rescale)
            finally:
                self._stream_ids = None
        for sid, sample in zip(stream_ids, samples):
            self._next_frame[sid] = sample.metainfo['frame_id'] + 1
            length = sample.metainfo.get('ori_video_length')
            if length is not None and self._next_frame[sid] >= length:
                self.reset_streams([sid])  # the video ended: free its cache
        return batch_data_samples

    def _route(self, sample: DetDataSample) -> Hashable:
        """The stream of a frame; checks that its video arrives in order."""
        meta = sample.metainfo
        if 'video_id' not in meta or 'frame_id' not in meta:
            raise KeyError('streaming needs video_id and frame_id in the '
                           f'metainfo of {meta.get("img_path", "a frame")}')
        sid, frame_id = meta['video_id'], meta['frame_id']
        if frame_id == 0:
            self.reset_streams([sid])
        elif self._next_frame.get(sid) != frame_id:
            raise ValueError(
                f'video {sid}: frame {frame_id} ({meta.get("img_path")}) '
                f'arrived but the stream expects frame '
                f'{self._next_frame.get(sid, 0)}; feed each video in frame '
                'order (TrackImgSampler or VideoInterleavedBatchSampler)')
        return sid

    def reset_streams(self, stream_ids=None) -> None:
        """Forget the caches (and frame counters) of some or all videos."""
        if self.streams:
            self.backbone.reset_streams(stream_ids)
        if stream_ids is None:
            self._next_frame.clear()
        for sid in stream_ids or ():
            self._next_frame.pop(sid, None)

    def _forward(self, batch_inputs: Tensor,
                 batch_data_samples: Optional[List[TrackDataSample]] = None):
        """Raw network outputs of the N*T frames (tensor mode)."""
        if batch_inputs.dim() == 5:
            batch_inputs = batch_inputs.flatten(0, 1)
        if batch_data_samples is not None:
            batch_data_samples = [
                f for clip in batch_data_samples for f in clip]
        return super()._forward(batch_inputs, batch_data_samples)
