"""Streaming TSM-ResNet for MMDetection detectors."""
from mmdet.models.backbones import ResNet
from mmdet.registry import MODELS

from .shift_mixin import TemporalShiftMixin, blockres_blocks


@MODELS.register_module()
class StreamingTSMResNet(TemporalShiftMixin, ResNet):
    """MMDetection's ResNet whose residual branches shift along time.

    Trained on clips of ``num_segments`` frames (offline), run frame by
    frame with per-stream caches (:meth:`forward_stream`). Its state-dict
    keys are exactly those of MMDetection's ``ResNet``, so a 2D detector's
    checkpoint loads strictly.

    Args:
        depth (int): 18, 34, 50, 101 or 152.
        num_segments (int): Frames per training clip, T. Defaults to 8.
        is_shift (bool): Whether to shift at all; False gives the 2D ResNet.
            Defaults to True.
        shift_div (int): 1/shift_div of the channels moves. Defaults to 8.
        direction (str): ``'causal'`` (the online rule; default) or
            ``'bidirectional'`` for offline use.
        **kwargs: Other arguments of MMDetection's ``ResNet``
            (``frozen_stages``, ``norm_eval``, ``norm_cfg``, ...).
    """

    def __init__(self,
                 depth: int,
                 num_segments: int = 8,
                 is_shift: bool = True,
                 shift_div: int = 8,
                 direction: str = 'causal',
                 **kwargs) -> None:
        super().__init__(depth, **kwargs)
        self._init_shift(num_segments, shift_div, direction)
        self.is_shift = is_shift
        if is_shift:
            layers = [getattr(self, name) for name in self.res_layers]
            for block in blockres_blocks(layers):
                self._add_shift_site(block.conv1, num_segments)
