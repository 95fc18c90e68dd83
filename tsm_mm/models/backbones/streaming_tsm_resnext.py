"""Streaming TSM-ResNeXt for MMDetection detectors."""
from mmdet.models.backbones import ResNeXt
from mmdet.registry import MODELS

from .shift_mixin import TemporalShiftMixin, blockres_blocks


@MODELS.register_module()
class StreamingTSMResNeXt(TemporalShiftMixin, ResNeXt):
    """MMDetection's ResNeXt whose residual branches shift along time.

    The shift sites are those of :class:`StreamingTSMResNet` (the input of
    ``conv1`` of every block, every other block for depth >= 101). Its
    state-dict keys are exactly those of MMDetection's ``ResNeXt``, so a
    2D detector's checkpoint loads strictly.

    Args:
        depth (int): 50, 101 or 152.
        groups (int): Groups of the 3x3 convs. Defaults to 1 (as
            MMDetection's ``ResNeXt``; its configs use 32 or 64).
        base_width (int): Channels per group at the first stage.
            Defaults to 4.
        num_segments (int): Frames per training clip, T. Defaults to 8.
        is_shift (bool): Whether to shift at all; False gives the 2D ResNeXt.
            Defaults to True.
        shift_div (int): 1/shift_div of the channels moves. Defaults to 8.
        direction (str): ``'causal'`` (the online rule; default) or
            ``'bidirectional'`` for offline use.
        **kwargs: Other arguments of MMDetection's ``ResNet``
            (``frozen_stages``, ``norm_eval``, ``norm_cfg``, ...).
    """

    def __init__(self,
                 depth: int,
                 groups: int = 1,
                 base_width: int = 4,
                 num_segments: int = 8,
                 is_shift: bool = True,
                 shift_div: int = 8,
                 direction: str = 'causal',
                 **kwargs) -> None:
        super().__init__(
            groups=groups, base_width=base_width, depth=depth, **kwargs)
        self._init_shift(num_segments, shift_div, direction)
        self.is_shift = is_shift
        if is_shift:
            layers = [getattr(self, name) for name in self.res_layers]
            for block in blockres_blocks(layers):
                self._add_shift_site(block.conv1, num_segments)
