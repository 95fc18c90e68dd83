"""The data preprocessor of a video detector: clips, no batch state."""
from typing import Optional, Sequence

from mmdet.models.data_preprocessors import (
    DetDataPreprocessor,
    TrackDataPreprocessor,
)
from mmdet.models.utils import samplelist_boxtype2tensor
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.utils import ConfigType
from mmengine.model.utils import stack_batch

from ...datasets.vid_checks import MIXING_TRANSFORMS


@MODELS.register_module()
class VideoDataPreprocessor(TrackDataPreprocessor):
    """MMDetection's ``TrackDataPreprocessor`` for a video detector: clips
    ``(T, C, H, W)`` become ``(N, T, C, H, W)``; at test time a plain image
    ``(C, H, W)`` with a ``DetDataSample`` (mmdet's ``inference_detector``,
    ``DetInferencer``) is batched as ``DetDataPreprocessor`` does; images in
    training are refused, naming what the dataloader should give.
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        if not plain_images(data.get('data_samples')):
            return super().forward(data, training)
        if training:
            raise ValueError(
                'a video detector trains on clips (TrackDataSample items '
                'of num_segments frames from a video dataset such as '
                'ImageNetVIDDataset, pipeline TransformBroadcaster('
                'share_random_params=True) + PackTrackInputs); its '
                'dataloader gave single images (DetDataSample), as a COCO '
                f'dataset does. Image-mixing transforms '
                f'({", ".join(MIXING_TRANSFORMS)})'
                ' paste other images into a frame, which no clip can '
                'share: drop them')
        # DetDataPreprocessor.forward, by hand: the buffers here are shaped
        # (1, C, 1, 1) for clips, which would broadcast a (C, H, W) image
        pad_shapes = self._get_pad_shape(data)
        data = self.cast_data(data)
        images = [image.float() for image in data['inputs']]
        if self._channel_conversion and images[0].size(0) == 3:
            images = [image[[2, 1, 0]] for image in images]
        if self._enable_normalize:
            images = [(image - self.mean[0]) / self.std[0]
                      for image in images]
        inputs = stack_batch(images, self.pad_size_divisor, self.pad_value)
        for sample, pad_shape in zip(data['data_samples'], pad_shapes):
            sample.set_metainfo(dict(batch_input_shape=tuple(
                inputs.shape[-2:]), pad_shape=pad_shape))
        if self.boxtype2tensor:
            samplelist_boxtype2tensor(data['data_samples'])
        return dict(inputs=inputs, data_samples=data['data_samples'])


def plain_images(samples: Optional[Sequence]) -> bool:
    """Whether a batch's samples are plain images (``DetDataSample``), not
    clips (``TrackDataSample``); a mix of both is refused."""
    if not samples:
        return False
    plain = [isinstance(sample, DetDataSample) for sample in samples]
    if any(plain) and not all(plain):
        raise TypeError('a batch mixes plain images (DetDataSample) and '
                        'clips: ' + str([type(s).__name__ for s in samples]))
    return all(plain)


def clip_preprocessor(cfg: Optional[ConfigType],
                      owner: str) -> Optional[ConfigType]:
    """A detector's ``data_preprocessor`` config, made to batch clips.

    MMDetection's ``DetDataPreprocessor`` and ``TrackDataPreprocessor``
    become :class:`VideoDataPreprocessor` with the same normalization and
    padding, so that clips come out as ``(N, T, C, H, W)``. Batch augments
    are refused: they hold per-batch state (YOLOX's
    ``BatchSyncRandomResize`` picks a new size every few iterations,
    ``BatchFixedSizePad`` pads one image batch) and MMDetection runs them
    on clips of one frame only.

    Args:
        cfg (dict, optional): The detector's ``data_preprocessor``.
        owner (str): The video detector's name, for messages.

    Returns:
        dict | None: The config to build.
    """
    if cfg is None or not isinstance(cfg, dict):
        return cfg
    kind = cfg.get('type')
    augments = cfg.get('batch_augments')
    if augments:
        names = [a.get('type', a) if isinstance(a, dict) else
                 type(a).__name__ for a in augments]
        raise ValueError(
            f'{owner}: data_preprocessor.batch_augments={names} change a '
            'whole batch per iteration, which MMDetection applies to clips '
            'of one frame only; set data_preprocessor.batch_augments=None '
            'and do that augmentation per clip in the pipeline, inside '
            'TransformBroadcaster(share_random_params=True) (e.g. a '
            'RandomResize for BatchSyncRandomResize)')
    if kind in ('DetDataPreprocessor', DetDataPreprocessor,
                'TrackDataPreprocessor', TrackDataPreprocessor):
        return dict(cfg, type=VideoDataPreprocessor)
    return cfg
