"""Streaming TSM-ResNet for MMDetection detectors."""
from mmdet.models.backbones import ResNet
from mmdet.registry import MODELS

from .shift_mixin import TemporalShiftMixin, blockres_blocks


@MODELS.register_module()
class StreamingTSMResNet(TemporalShiftMixin, ResNet):
    """MMDetection's ResNet whose residual branches shift along time.

    Trained on clips of ``num_segments`` frames (offline), run frame by
    frame with per-stream caches (:meth:`forward_stream`,
    :meth:`stream_step`). Its state-dict keys are exactly those of
    MMDetection's ``ResNet``, so a 2D detector's checkpoint loads strictly.

    Args:
        depth (int): 18, 34, 50, 101 or 152.
        num_segments (int): Frames per training clip, T (>= 2 with the
            shift on). Defaults to 8.
        is_shift (bool): Whether to shift at all; False gives the 2D ResNet.
            Defaults to True.
        shift_div (int): 1/shift_div of the channels moves. Defaults to 8.
        direction (str): ``'causal'`` (the online rule; default) or
            ``'bidirectional'`` for offline use.
        max_streams (int): Streams whose caches are kept at most; beyond it
            the least recently fed is released with a warning (at R-50 on
            1000x600 frames a stream holds 32 MiB). Defaults to 16.
        max_idle_steps (int): A stream not fed for this many steps is
            released with a warning. Defaults to 256.
        routed (bool): Whether a detector gives it whole clips and routes
            test frames to streams (``VideoFasterRCNN`` sets it). When
            False, a warning at build says that a stock detector would
            shift the unrelated images of a batch into each other.
        **kwargs: Other arguments of MMDetection's ``ResNet``
            (``frozen_stages``, ``norm_eval``, ``norm_cfg``, ...).
    """

    def __init__(self,
                 depth: int,
                 num_segments: int = 8,
                 is_shift: bool = True,
                 shift_div: int = 8,
                 direction: str = 'causal',
                 max_streams: int = 16,
                 max_idle_steps: int = 256,
                 routed: bool = False,
                 **kwargs) -> None:
        super().__init__(depth=depth, **kwargs)
        self._init_shift(num_segments, shift_div, direction, max_streams,
                         max_idle_steps)
        self.is_shift = is_shift
        if is_shift:
            layers = [getattr(self, name) for name in self.res_layers]
            for block in blockres_blocks(layers):
                self._add_shift_site(block.conv1, num_segments)
        self._warn_unless_routed(routed)
