"""Streaming TSM-MobileNetV2 for MMDetection detectors."""
from mmdet.models.backbones import MobileNetV2
from mmdet.registry import MODELS

from .streaming_shift_mixin import StreamingShiftMixin


@MODELS.register_module()
class StreamingTSMMobileNetV2(StreamingShiftMixin, MobileNetV2):
    """MMDetection's MobileNetV2 whose inverted residuals shift along time.

    A preset of :class:`~tsm_mm.models.backbones.StreamingTSM`: the sites
    are ``'layer*.*.expand_conv'`` of the blocks with an identity
    connection (10 blocks at width 1.0), as in the official online demo.
    Trained on clips of ``num_segments`` frames, run frame by frame with
    per-stream caches (:meth:`forward_stream`). Its state-dict keys are
    exactly those of MMDetection's ``MobileNetV2``, so a 2D checkpoint
    loads strictly.

    Args:
        num_segments (int): Frames per training clip, T. Defaults to 8.
        is_shift (bool): Whether to shift at all; False gives the 2D
            MobileNetV2. Defaults to True.
        shift_div (int): 1/shift_div of the channels moves. Defaults to 8.
        direction (str): ``'causal'`` (the online rule; default) or
            ``'bidirectional'`` for offline use.
        max_streams (int): Streams whose caches are kept at most.
            Defaults to 16.
        max_idle_steps (int): A stream not fed for this many steps is
            released. Defaults to 256.
        routed (bool): Whether the caller routes clips and streams
            (``VideoDetector`` sets it); else an offline forward is refused.
        sites (str | list[str], optional): Module-path patterns replacing
            the default sites.
        **kwargs: Other arguments of MMDetection's ``MobileNetV2``
            (``widen_factor``, ``out_indices``, ``frozen_stages``,
            ``norm_cfg``, ...).
    """

    default_sites = 'layer*.*.expand_conv'
