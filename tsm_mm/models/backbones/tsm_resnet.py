"""TSM-ResNet for MMAction2: a drop-in for ``ResNetTSM`` that keeps keys."""
from typing import Hashable, Sequence

from mmaction.models.backbones.resnet import ResNet
from mmaction.registry import MODELS
from torch import Tensor, nn

from .shift_mixin import TemporalShiftMixin, blockres_blocks

SHIFT_PLACES = ('blockres', 'block')


def _temporal_pool(x: Tensor, num_segments: int) -> Tensor:
    """Max-pool over time with kernel 3, stride 2, as ``ResNetTSM``."""
    nt, c, h, w = x.shape
    clips = x.view(nt // num_segments, num_segments, c, h, w).transpose(1, 2)
    pooled = nn.functional.max_pool3d(
        clips, kernel_size=(3, 1, 1), stride=(2, 1, 1), padding=(1, 0, 0))
    return pooled.transpose(1, 2).reshape(-1, c, h, w)


def _accept_resnet_tsm_keys(module: nn.Module, state_dict: dict, prefix: str,
                            *args) -> None:
    """Drop the ``.net`` that ``ResNetTSM``'s wrapper modules add to keys."""
    for key in [k for k in state_dict if k.startswith(prefix)]:
        if '.net.' in key[len(prefix):]:
            new_key = prefix + key[len(prefix):].replace('.net.', '.')
            state_dict[new_key] = state_dict.pop(key)


@MODELS.register_module()
class TSMResNet(TemporalShiftMixin, ResNet):
    """ResNet with temporal shift, for MMAction2 recognizers.

    Same options and outputs as MMAction2's ``ResNetTSM``, but its state-dict
    keys are those of MMAction2's ``ResNet`` (the shift adds no parameters);
    ``ResNetTSM`` checkpoints load strictly too. Adds the causal rule and
    frame-by-frame streaming (:meth:`forward_stream`).

    Args:
        depth (int): 18, 34, 50, 101 or 152.
        num_segments (int): Frames per clip, T. Defaults to 8.
        is_shift (bool): Whether to shift at all. Defaults to True.
        shift_div (int): 1/shift_div of the channels moves each way.
            Defaults to 8.
        shift_place (str): ``'blockres'`` shifts the residual branch of each
            block (every other block for depth >= 101); ``'block'`` shifts
            the input of each whole block. Defaults to ``'blockres'``.
        direction (str): ``'bidirectional'`` or ``'causal'`` (online).
            Defaults to ``'bidirectional'``.
        temporal_pool (bool): Halve T by max-pooling before ``layer2``.
            Defaults to False.
        pretrained2d (bool): ``pretrained`` is a torchvision 2D checkpoint
            (``torchvision_pretrain`` of ``ResNet``). Defaults to True.
        **kwargs: Other arguments of MMAction2's ``ResNet`` (``pretrained``,
            ``frozen_stages``, ``norm_eval``, ``partial_bn``, ...).
    """

    def __init__(self,
                 depth: int,
                 num_segments: int = 8,
                 is_shift: bool = True,
                 shift_div: int = 8,
                 shift_place: str = 'blockres',
                 direction: str = 'bidirectional',
                 temporal_pool: bool = False,
                 pretrained2d: bool = True,
                 **kwargs) -> None:
        if shift_place not in SHIFT_PLACES:
            raise ValueError(f'shift_place must be one of {SHIFT_PLACES}, '
                             f'got {shift_place!r}')
        if temporal_pool and num_segments % 2:
            raise ValueError('temporal_pool needs an even num_segments, got '
                             f'{num_segments}')
        kwargs.setdefault('torchvision_pretrain', pretrained2d)
        super().__init__(depth, **kwargs)
        self._init_shift(num_segments, shift_div, direction)
        self.is_shift = is_shift
        self.shift_place = shift_place
        self.temporal_pool = temporal_pool
        layers = [getattr(self, name) for name in self.res_layers]
        if temporal_pool:
            layers[1].register_forward_pre_hook(self._pool_hook)
        if is_shift:
            for i, layer in enumerate(layers):
                segments = num_segments // 2 if temporal_pool and i else \
                    num_segments
                if shift_place == 'block':
                    blocks = [(block, block) for block in layer]
                else:
                    blocks = [(block, block.conv1)
                              for block in blockres_blocks(layers)
                              if block in list(layer)]
                for _, site in blocks:
                    self._add_shift_site(site, segments)
        self.register_load_state_dict_pre_hook(_accept_resnet_tsm_keys)

    def _pool_hook(self, module: nn.Module, args: tuple) -> tuple:
        if self.streaming:
            raise RuntimeError('temporal_pool mixes frames of a clip and '
                               'cannot run frame by frame')
        return (_temporal_pool(args[0], self.num_segments), ) + args[1:]

    def forward_stream(self, x: Tensor, stream_ids: Sequence[Hashable]):
        """Run one frame per stream (causal); see the mixin."""
        return super().forward_stream(x, stream_ids)
