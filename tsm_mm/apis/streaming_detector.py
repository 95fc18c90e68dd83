"""Detect objects in the frames of a video, one frame at a time."""
from typing import Optional, Sequence, Tuple, Union

import numpy as np
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
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
