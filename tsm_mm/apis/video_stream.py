"""Plain images through MMDetection's inference APIs as one video's frames.
"""
import itertools
from contextlib import contextmanager
from typing import Hashable, Iterator, Optional

from mmengine.model import is_model_wrapper
from torch import nn

from ..models.detectors import VideoDetectorMixin

# default stream ids, apart from any dataset's video ids
_STREAM_IDS = itertools.count()


@contextmanager
def video_stream(model: nn.Module,
                 video_id: Optional[Hashable] = None) -> Iterator[Hashable]:
    """Run the plain images a video detector predicts inside as the
    consecutive frames of one video.

    Outside it, each plain image (``inference_detector``,
    ``DetInferencer``) is the first frame of a video of its own, so a TSM
    backbone shifts nothing in. Inside it, the images are frames 0, 1,
    2, ... of one stream, in call order, as
    :class:`~tsm_mm.apis.StreamingDetInferencer` and ``Runner.test()`` run
    a video. Leaving it resets the stream::

        with video_stream(model):
            results = [inference_detector(model, f) for f in frames]

    Args:
        model (nn.Module): A video detector
            (:class:`~tsm_mm.models.VideoDetector`, ``VideoFasterRCNN``),
            e.g. from ``init_detector``; a model wrapper's module is taken.
        video_id (Hashable, optional): The stream's id. Defaults to a new
            one.

    Yields:
        Hashable: The stream's id.
    """
    detector = model.module if is_model_wrapper(model) else model
    if not isinstance(detector, VideoDetectorMixin):
        raise TypeError(f'{type(detector).__name__} does not stream video: '
                        'video_stream takes a model built by VideoDetector '
                        '(or VideoFasterRCNN)')
    stream_id = ('video_stream', next(_STREAM_IDS)) if video_id is None \
        else video_id
    with detector.image_stream(stream_id):
        yield stream_id
