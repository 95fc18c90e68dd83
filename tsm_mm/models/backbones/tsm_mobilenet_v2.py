"""TSM-MobileNetV2 for MMAction2: ``MobileNetV2TSM`` with 2D keys."""
from typing import List

from mmaction.models.backbones.mobilenet_v2 import MobileNetV2
from mmaction.registry import MODELS
from mmengine.logging import MMLogger
from mmengine.runner import load_checkpoint
from torch import nn

from .shift_mixin import TemporalShiftMixin
from .tsm_resnet import _accept_resnet_tsm_keys


def residual_blocks(model: nn.Module) -> List[nn.Module]:
    """The inverted-residual blocks with an identity connection.

    The blocks ``MobileNetV2TSM`` and the official online demo shift: stride
    1 and as many output as input channels (10 blocks at width 1.0).
    """
    return [block for name in model.layers[:-1]
            for block in getattr(model, name) if block.use_res_connect]


@MODELS.register_module()
class TSMMobileNetV2(TemporalShiftMixin, MobileNetV2):
    """MobileNetV2 with temporal shift, for MMAction2 recognizers.

    Same options and outputs as MMAction2's ``MobileNetV2TSM``: the input
    of the expansion conv of every inverted-residual block with an identity
    connection is shifted. Its state-dict keys are those of MMAction2's
    ``MobileNetV2`` (the shift adds no parameters), so a 2D checkpoint
    loads through ``pretrained``; ``MobileNetV2TSM`` checkpoints
    (``...conv.0.net.conv.weight``) load strictly too. Adds the causal rule
    and frame-by-frame streaming (:meth:`forward_stream`).

    Args:
        num_segments (int): Frames per clip, T. Defaults to 8.
        is_shift (bool): Whether to shift at all. Defaults to True.
        shift_div (int): 1/shift_div of the channels moves each way.
            Defaults to 8.
        direction (str): ``'bidirectional'`` or ``'causal'`` (online).
            Defaults to ``'bidirectional'``.
        pretrained2d (bool): As ``MobileNetV2TSM``: ``pretrained`` is a 2D
            MobileNetV2 checkpoint, loaded strictly by :meth:`init_weights`
            (``MobileNetV2TSM`` keys load too); False loads it through
            ``init_cfg``, not strictly. Without ``pretrained`` either
            initializes from scratch. Defaults to True.
        **kwargs: Other arguments of MMAction2's ``MobileNetV2``
            (``pretrained``, ``widen_factor``, ``out_indices``,
            ``frozen_stages``, ``norm_eval``, ...).
    """

    def __init__(self,
                 num_segments: int = 8,
                 is_shift: bool = True,
                 shift_div: int = 8,
                 direction: str = 'bidirectional',
                 pretrained2d: bool = True,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self._init_shift(num_segments, shift_div, direction)
        self.is_shift = is_shift
        self.pretrained2d = pretrained2d
        if is_shift:
            self._add_shift_sites([(block.conv[0], self.num_segments)
                                   for block in residual_blocks(self)])
        self.register_load_state_dict_pre_hook(_accept_resnet_tsm_keys)

    def init_weights(self) -> None:
        """Load ``pretrained`` strictly when ``pretrained2d`` (as
        ``MobileNetV2TSM``), else initialize through ``init_cfg``."""
        if self.pretrained2d and isinstance(self.pretrained, str):
            load_checkpoint(self, self.pretrained, map_location='cpu',
                            strict=True,
                            logger=MMLogger.get_current_instance())
            return
        super().init_weights()
