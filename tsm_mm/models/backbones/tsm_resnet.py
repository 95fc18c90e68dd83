"""TSM-ResNet for MMAction2: a drop-in for ``ResNetTSM`` that keeps keys."""
from typing import Dict, Hashable, List, Optional, Sequence, Union

from mmaction.models.backbones.resnet import ResNet
from mmaction.registry import MODELS
from mmcv.cnn import NonLocal3d
from torch import Tensor, nn

from ...utils.arg_types import check_int
from .shift_mixin import TemporalShiftMixin, blockres_blocks

SHIFT_PLACES = ('blockres', 'block')
# key segments of ResNetTSM's wrappers: TemporalShift / TemporalPool (.net),
# NL3DWrapper (.block); tsm_mm keeps the wrapped modules' own keys
WRAPPER_SEGMENTS = ('net', 'block')


class ShiftPlaceError(ValueError, NotImplementedError):
    """An unknown ``shift_place``: a ValueError, and the NotImplementedError
    MMAction2's ``ResNetTSM`` raises, so callers catching either work."""


def _temporal_pool(x: Tensor, num_segments: int) -> Tensor:
    """Max-pool over time with kernel 3, stride 2, as ``ResNetTSM``."""
    nt, c, h, w = x.shape
    clips = x.view(nt // num_segments, num_segments, c, h, w).transpose(1, 2)
    pooled = nn.functional.max_pool3d(
        clips, kernel_size=(3, 1, 1), stride=(2, 1, 1), padding=(1, 0, 0))
    return pooled.transpose(1, 2).reshape(-1, c, h, w)


class _NonLocalHook:
    """Forward hook: a block's output through its ``non_local_block``, over
    the frames of each clip (as ``NL3DWrapper`` of ``ResNetTSM``)."""

    def __init__(self, owner: 'TSMResNet', name: str,
                 num_segments: int) -> None:
        self.owner, self.name = owner, name
        self.num_segments = num_segments

    def __call__(self, block: nn.Module, args: tuple, out: Tensor) -> Tensor:
        if self.owner.streaming:  # any frame-by-frame entry of the mixin
            raise RuntimeError(
                'non-local blocks mix all frames of a clip and cannot run '
                f'frame by frame (non_local at {self.owner.non_local_blocks})')
        nt, c, h, w = out.shape
        t = self.num_segments
        if nt % t:
            raise ValueError(f'non-local block {self.name}: {nt} frames are '
                             f'not whole clips of {t}')
        clips = out.view(nt // t, t, c, h, w).transpose(1, 2)  # N, C, T, H, W
        clips = block.non_local_block(clips.contiguous())
        return clips.transpose(1, 2).reshape(nt, c, h, w)


def _non_local_flags(non_local: Sequence, layers: Sequence[nn.Module]
                     ) -> List[List[bool]]:
    """Per stage, per block: whether a non-local block follows it.

    Args:
        non_local (Sequence): One entry per stage: a sequence with one flag
            per block, or one int for all blocks of the stage.
        layers (Sequence[nn.Module]): The stages.

    Returns:
        list[list[bool]]: The flags.
    """
    if isinstance(non_local, int) or len(non_local) != len(layers):
        raise ValueError(f'non_local needs one entry per stage '
                         f'({len(layers)}), got {non_local!r}')
    flags = []
    for i, (stage, layer) in enumerate(zip(non_local, layers)):
        stage = [stage] * len(layer) if isinstance(stage, int) else stage
        if len(stage) != len(layer):
            raise ValueError(f'non_local[{i}] has {len(stage)} flags, but '
                             f'layer{i + 1} has {len(layer)} blocks')
        flags.append([bool(flag) for flag in stage])
    return flags


def strip_wrapper_segments(key: str) -> str:
    """A ``ResNetTSM`` (or official TSM) key without its wrappers' segments.

    e.g. ``layer2.0.block.conv1.conv.net.weight`` ->
    ``layer2.0.conv1.conv.weight``.
    """
    return '.'.join(part for part in key.split('.')
                    if part not in WRAPPER_SEGMENTS)


def _accept_resnet_tsm_keys(module: nn.Module, state_dict: dict, prefix: str,
                            *args) -> None:
    """Load pre-hook: ``ResNetTSM`` keys in this backbone's names."""
    for key in [k for k in state_dict if k.startswith(prefix)]:
        plain = prefix + strip_wrapper_segments(key[len(prefix):])
        if plain != key:
            state_dict[plain] = state_dict.pop(key)


@MODELS.register_module()
class TSMResNet(TemporalShiftMixin, ResNet):
    """ResNet with temporal shift, for MMAction2 recognizers.

    Same options and outputs as MMAction2's ``ResNetTSM``, but its state-dict
    keys are those of MMAction2's ``ResNet`` (the shift adds no parameters);
    ``ResNetTSM`` checkpoints load strictly too. Adds the causal rule and
    frame-by-frame streaming (:meth:`forward_stream`).

    Non-local blocks are ``NonLocal3d`` modules registered inside the block
    they follow, as ``layerX.Y.non_local_block`` (the name of MMAction2's
    ``ResNet3d`` blocks), and run on the block's output over each clip's
    frames. Keys are MMAction2 ``ResNet`` keys plus
    ``layerX.Y.non_local_block.*``. ``ResNetTSM`` keys map by dropping its
    wrappers' segments: ``layerX.Y.block.*`` (``NL3DWrapper``) and
    ``.net`` (shift, pool) go, ``layerX.Y.non_local_block.*`` stay, e.g.
    ``layer2.0.block.conv1.conv.net.weight`` -> ``layer2.0.conv1.conv.weight``.

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
        non_local (Sequence): Per stage, per block: 1 adds a non-local block
            after it (an int for all blocks of a stage). MMAction2's R-50
            TSM-NL: ``((0, 0, 0), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0),
            (0, 0, 0))``. Non-local mixes all frames of a clip, so it is
            refused with ``direction='causal'`` and in
            :meth:`forward_stream`. After ``temporal_pool`` it sees T/2
            frames per clip (``ResNetTSM`` groups T there, mixing clips).
            Defaults to None (none; as ``(0, 0, 0, 0)``).
        non_local_cfg (dict, optional): Options of ``mmcv.cnn.NonLocal3d``;
            needed when ``non_local`` adds a block (``ResNetTSM`` silently
            adds none without it). Defaults to None.
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
                 non_local: Optional[Sequence[Union[int,
                                                    Sequence[int]]]] = None,
                 non_local_cfg: Optional[Dict] = None,
                 pretrained2d: bool = True,
                 **kwargs) -> None:
        if not isinstance(shift_place, str) or \
                shift_place not in SHIFT_PLACES:
            raise ShiftPlaceError(f'shift_place must be one of '
                                  f'{SHIFT_PLACES}, got {shift_place!r}')
        num_segments = check_int(num_segments, 'num_segments', 1)
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
        non_local_flags = _non_local_flags(
            non_local or [0] * len(layers), layers)
        self.non_local_cfg = dict(non_local_cfg or {})
        if any(map(any, non_local_flags)):
            if not self.non_local_cfg:
                raise ValueError('non_local adds blocks but non_local_cfg is '
                                 "empty: give NonLocal3d's options, e.g. "
                                 "dict(mode='embedded_gaussian')")
            if direction == 'causal':
                raise ValueError("direction='causal' cannot have non-local "
                                 'blocks: they mix all frames of a clip; '
                                 'set non_local to zeros')
        self.non_local_blocks: List[str] = []
        if temporal_pool:
            layers[1].register_forward_pre_hook(self._pool_hook)
        segments = [num_segments // 2 if temporal_pool and i else
                    num_segments for i in range(len(layers))]
        shifted = set(blockres_blocks(layers))
        sites = [(block if shift_place == 'block' else block.conv1,
                  segments[i]) for i, layer in enumerate(layers)
                 for block in layer
                 if shift_place == 'block' or block in shifted]
        if is_shift:
            self._add_shift_sites(sites)
        for i, layer in enumerate(layers):
            for j, block in enumerate(layer):
                if non_local_flags[i][j]:
                    self._add_non_local(f'{self.res_layers[i]}.{j}', block,
                                        segments[i])
        self.register_load_state_dict_pre_hook(_accept_resnet_tsm_keys)

    def _add_non_local(self, name: str, block: nn.Module,
                       num_segments: int) -> None:
        """Run a new ``block.non_local_block`` on the output of ``block``."""
        channels = getattr(block, 'conv3', block.conv2).norm.num_features
        block.add_module('non_local_block',
                         NonLocal3d(channels, **self.non_local_cfg))
        block.register_forward_hook(_NonLocalHook(self, name, num_segments))
        self.non_local_blocks.append(name)

    def _pool_hook(self, module: nn.Module, args: tuple) -> tuple:
        if self.streaming:
            raise RuntimeError('temporal_pool mixes frames of a clip and '
                               'cannot run frame by frame')
        return (_temporal_pool(args[0], self.num_segments), ) + args[1:]

    def _load_torchvision_checkpoint(self, logger=None) -> None:
        """Load a torchvision 2D ResNet; non-local blocks keep their init.

        ``ResNet``'s loader maps every ``ConvModule`` to a torchvision name
        and fails on the norm-less ones of non-local blocks, which
        torchvision lacks anyway, so they are detached while it runs.
        """
        blocks = [self.get_submodule(name) for name in self.non_local_blocks]
        held = [block._modules.pop('non_local_block') for block in blocks]
        try:
            super()._load_torchvision_checkpoint(logger)
        finally:
            for block, non_local_block in zip(blocks, held):
                block.add_module('non_local_block', non_local_block)

    def forward_stream(self, x: Tensor, stream_ids: Sequence[Hashable]):
        """Run one frame per stream (causal); see the mixin. Refused with
        ``temporal_pool`` or non-local blocks."""
        return super().forward_stream(x, stream_ids)
