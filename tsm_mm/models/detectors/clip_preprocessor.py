"""The data preprocessor of a video detector: clips, no batch state."""
from typing import Optional

from mmdet.models.data_preprocessors import (
    DetDataPreprocessor,
    TrackDataPreprocessor,
)
from mmdet.utils import ConfigType


def clip_preprocessor(cfg: Optional[ConfigType],
                      owner: str) -> Optional[ConfigType]:
    """A detector's ``data_preprocessor`` config, made to batch clips.

    MMDetection's ``DetDataPreprocessor`` becomes ``TrackDataPreprocessor``
    with the same normalization and padding, so that clips come out as
    ``(N, T, C, H, W)``. Batch augments are refused: they hold per-batch
    state (YOLOX's ``BatchSyncRandomResize`` picks a new size every few
    iterations, ``BatchFixedSizePad`` pads one image batch) and MMDetection
    runs them on clips of one frame only.

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
    if kind in ('DetDataPreprocessor', DetDataPreprocessor):
        return dict(cfg, type=TrackDataPreprocessor)
    return cfg
