"""Streaming TSM-CSPNeXt (RTMDet's backbone) for MMDetection detectors."""
from mmdet.models.backbones import CSPNeXt
from mmdet.registry import MODELS

from .streaming_shift_mixin import StreamingShiftMixin


@MODELS.register_module()
class StreamingTSMCSPNeXt(StreamingShiftMixin, CSPNeXt):
    """MMDetection's CSPNeXt whose residual blocks shift along time.

    A preset of :class:`~tsm_mm.models.backbones.StreamingTSM`: the sites
    are ``'stage*.*.blocks.*.conv1'``, the first conv of the residual
    branch of every ``CSPNeXtBlock`` that has an identity path
    (``add_identity``; the last stage of the P5 arch has none), as TSM's
    ``blockres``. Its state-dict keys are exactly those of ``CSPNeXt``, so
    an RTMDet checkpoint loads strictly.

    Args:
        num_segments (int): Frames per training clip, T. Defaults to 8.
        is_shift (bool): Whether to shift at all. Defaults to True.
        shift_div (int): 1/shift_div of the channels moves. Defaults to 8.
        direction (str): ``'causal'`` (default) or ``'bidirectional'``.
        max_streams (int): Streams whose caches are kept at most.
        max_idle_steps (int): A stream not fed for this many steps goes.
        routed (bool): Whether the caller routes clips and streams
            (``VideoDetector`` sets it); else an offline forward is refused.
        sites (str | list[str], optional): Patterns replacing the default.
        **kwargs: Arguments of MMDetection's ``CSPNeXt`` (``arch``,
            ``deepen_factor``, ``widen_factor``, ``out_indices``, ...).
    """

    default_sites = 'stage*.*.blocks.*.conv1'
