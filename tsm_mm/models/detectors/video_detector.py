"""Any MMDetection detector as a video detector, by one config change."""
from typing import Dict, Optional, Union

from mmdet.models.detectors import BaseDetector
from mmdet.registry import MODELS
from mmdet.utils import ConfigType
from torch import nn

from ..mixin_classes import mixin_class
from .video_detector_mixin import VideoDetectorMixin


def video_detector_class(base: type) -> type:
    """``base`` (a ``BaseDetector`` subclass) with
    :class:`VideoDetectorMixin` in front, e.g. ``VideoRetinaNet``."""
    if not (isinstance(base, type) and issubclass(base, BaseDetector)):
        raise TypeError(f'VideoDetector wraps an MMDetection BaseDetector, '
                        f'got {base!r}')
    if base.__name__ == 'FasterRCNN':  # its preset, by the same name
        return MODELS.get('VideoFasterRCNN')
    return mixin_class(VideoDetectorMixin, base, 'Video')


@MODELS.register_module()
class VideoDetector:
    """Any MMDetection detector, over clips in training and streams at
    test time.

    ``model = dict(type='VideoDetector', detector=<a stock model config>)``
    builds the detector's own class with :class:`VideoDetectorMixin` in
    front (``VideoRetinaNet``, ``VideoRTMDet``, ...; ``FasterRCNN`` gives
    :class:`VideoFasterRCNN`): clips of ``num_segments`` frames in
    ``loss``, 1-frame items routed to per-video streams in ``predict``,
    offline clips, tensor mode. The modules and state-dict keys are the
    detector's, so its 2D (e.g. COCO) checkpoint loads strictly.

    Over a stock config the change can also be written in place, the
    detector's other keys merging from the base as usual::

        model = dict(type='VideoDetector', detector='RetinaNet',
                     backbone=dict(type='StreamingTSMResNet', num_segments=8))

    Args:
        detector (dict | str): The detector's config (mmdet's ``MODELS``);
            its backbone may be a streaming TSM one (``StreamingTSM``,
            ``StreamingTSMResNet``, ``StreamingTSMCSPNeXt``, ...) or 2D. A
            type name takes the detector's arguments from ``kwargs``.
        data_preprocessor (dict, optional): Replaces the detector's
            (mmdet's ``DetDataPreprocessor`` or ``TrackDataPreprocessor``
            becomes a ``VideoDataPreprocessor``; batch augments are
            refused, see
            :func:`~tsm_mm.models.detectors.clip_preprocessor.clip_preprocessor`).

    Returns:
        nn.Module: The video detector (not a ``VideoDetector``).
    """

    def __new__(cls, detector: Union[ConfigType, str, type],
                data_preprocessor: Optional[ConfigType] = None,
                **kwargs) -> nn.Module:
        if isinstance(detector, (str, type)):
            detector = dict(kwargs, type=detector)
        elif kwargs:
            raise TypeError(f'VideoDetector: {sorted(kwargs)} belong in '
                            '`detector` when it is a dict (or name the '
                            "detector's type: detector='RetinaNet')")
        args: Dict = dict(detector)
        kind: Union[str, type] = args.pop('type')
        base = kind if isinstance(kind, type) else MODELS.get(kind)
        if base is None:
            raise KeyError(f'VideoDetector: detector type {kind!r} is not '
                           "in mmdet's MODELS (custom_imports?)")
        if data_preprocessor is not None:
            args['data_preprocessor'] = data_preprocessor
        return video_detector_class(base)(**args)
