"""Streaming TSM-ResNeXt for MMDetection detectors."""
from mmdet.models.backbones import ResNeXt
from mmdet.registry import MODELS

from .streaming_tsm_resnet import StreamingTSMResNet


@MODELS.register_module()
class StreamingTSMResNeXt(StreamingTSMResNet, ResNeXt):
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
        **kwargs: :class:`StreamingTSMResNet`'s shift and stream arguments
            (``num_segments``, ``is_shift``, ``shift_div``, ``direction``,
            ``max_streams``, ``max_idle_steps``, ``routed``, ``sites``) and
            MMDetection's ``ResNet`` arguments.
    """

    def __init__(self,
                 depth: int,
                 groups: int = 1,
                 base_width: int = 4,
                 **kwargs) -> None:
        # by keyword: ResNeXt's own first parameter is groups
        super().__init__(
            depth=depth, groups=groups, base_width=base_width, **kwargs)
