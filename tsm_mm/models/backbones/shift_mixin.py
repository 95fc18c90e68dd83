"""TSM for any 2D backbone: the shift enters through forward pre-hooks.

The backbone runs its shift sites in one of three modes, each entered only
through the backbone's own methods:

* offline (default): :func:`~tsm_mm.ops.temporal_shift` over clips;
* a stream step (:meth:`~TemporalShiftMixin.stream_step`): the causal rule
  with the caches of :class:`~tsm_mm.models.stream_caches.StreamCaches`,
  committed when the step ends cleanly. Without autograd, a site's input
  gets the cached slot swapped in place and back after the site ran (a
  forward hook), so a step moves three slots, not the whole input;
* explicit caches (:meth:`~TemporalShiftMixin.explicit_caches`): a
  stateless causal step whose caches come in and go out as tensors, built
  out of place so that tracing exporters record it (ONNX): a correction
  added to the output of a site's first conv where that conv is linear
  (:func:`~tsm_mm.ops.temporal_shift.shifted_conv_correction`), else a
  concatenation.
"""
import logging
from contextlib import contextmanager
from typing import (
    Callable,
    Hashable,
    Iterator,
    List,
    Optional,
    Sequence,
    Tuple,
)

import torch
from mmcv.cnn import ConvModule
from mmengine.logging import print_log
from torch import Tensor, nn

from ...ops import temporal_shift
from ...ops.temporal_shift import (
    check_cache_fits,
    concat_shift_step,
    offsets_of,
    restore_slot_,
    shift_fold,
    shifted_conv_correction,
    stream_slot,
    swap_slot_,
)
from ...utils.arg_types import check_int
from ..stream_caches import (
    FrameIds,
    Lengths,
    StreamCaches,
    StreamIds,
    StreamStep,
)

# (x, site) -> shifted x: how the shift sites run in the current mode
ShiftFn = Callable[[Tensor, int, int], Tensor]
# what running a bidirectional model causally cost on the toy actions
# (README, recognition table): the user should hear it once
BIDIRECTIONAL_STREAM_COST = (
    'on the toy actions a bidirectional R-18 scored 99.2% top-1 offline but '
    '70.8% run causally, where one trained causally scored 97.5% frame by '
    'frame')


class _ShiftHook:
    """Forward pre-hook shifting the input of one module (a shift site)."""

    def __init__(self, owner: 'TemporalShiftMixin', site: int,
                 num_segments: int) -> None:
        self.owner, self.site, self.num_segments = owner, site, num_segments

    def __call__(self, module: nn.Module, args: tuple) -> tuple:
        owner, x = self.owner, args[0]
        if owner._shift_mode is None:  # offline
            if owner.unrouted_error is not None:
                raise RuntimeError(owner.unrouted_error)
            x = temporal_shift(x, self.num_segments, owner.shift_div,
                               owner.direction)
        else:
            x = owner._shift_mode(x, self.site, self.num_segments)
        return (x, ) + args[1:]


class _RestoreHook:
    """Forward hook: undo an in-place stream step once the site ran."""

    def __init__(self, owner: 'TemporalShiftMixin') -> None:
        self.owner = owner

    def __call__(self, module: nn.Module, args: tuple, out) -> None:
        if self.owner._swapped:
            restore_slot_(*self.owner._swapped.pop())


class _CorrectionHook:
    """Forward hook of a site's first conv: add the pending shift
    correction of an explicit-caches step to its output."""

    def __init__(self, owner: 'TemporalShiftMixin') -> None:
        self.owner = owner

    def __call__(self, module: nn.Module, args: tuple, out: Tensor):
        corrections = self.owner._corrections
        if not corrections:
            return None
        conv, slot_change, fold = corrections.pop()
        if conv is not module:
            raise RuntimeError('a shift site did not run its first conv '
                               'next: the shift correction has no place')
        return out + shifted_conv_correction(conv, slot_change, fold)


def linear_entry(module: nn.Module) -> Optional[nn.Conv2d]:
    """The conv that reads a shift site's input first, as it comes, when
    it is linear (plain ``nn.Conv2d``, ungrouped, zero-padded).

    Args:
        module (nn.Module): The site: a conv, or a ConvModule whose order
            starts with its conv (no explicit padding layer).

    Returns:
        nn.Conv2d | None: The conv, or None when the site's first op is
        not one (the step then builds the shifted input by concatenation).
    """
    if isinstance(module, ConvModule) and module.order[0] == 'conv' \
            and not module.with_explicit_padding:
        module = module.conv
    if type(module) is nn.Conv2d and module.groups == 1 \
            and module.padding_mode == 'zeros':
        return module
    return None


def _in_channels(module: nn.Module) -> Optional[int]:
    """Input channels of a shift site: its own, or its first conv's."""
    if getattr(module, 'in_channels', None) is not None:
        return module.in_channels
    for sub in module.modules():
        if isinstance(sub, nn.Conv2d):
            return sub.in_channels
    return None


class TemporalShiftMixin:
    """Adds the shift and the streaming API to a 2D backbone subclass.

    The shift has no parameters, so it is added as forward pre-hooks on the
    shifted modules: the state-dict keys stay those of the 2D backbone.
    Subclasses call :meth:`_init_shift` then :meth:`_add_shift_sites`.
    """

    def _init_shift(self, num_segments: int, shift_div: int,
                    direction: str, max_streams: int = 16,
                    max_idle_steps: int = 256) -> None:
        """Set the shift's options; call after the 2D backbone's init.

        Args:
            num_segments (int): Frames per clip, T.
            shift_div (int): 1/shift_div of the channels moves each way.
            direction (str): ``'bidirectional'`` or ``'causal'``.
            max_streams (int): Streams whose caches are kept at most.
            max_idle_steps (int): Steps after which an unfed stream goes.
        """
        offsets_of(direction)  # refuses an unknown direction
        self.num_segments = check_int(num_segments, 'num_segments', 1)
        self.shift_div = check_int(shift_div, 'shift_div', 2)
        self.direction = direction
        self.num_shift_sites = 0
        self._warned_causal_run = False
        # why an offline forward is refused (no detector routes the clips)
        self.unrouted_error: Optional[str] = None
        self.stream_caches = StreamCaches(max_streams, max_idle_steps)
        self._shift_mode: Optional[ShiftFn] = None  # None: offline
        # (input's slot, its own values) of the site that runs swapped; a
        # list, set per site without nn.Module.__setattr__'s cost
        self._swapped: List[Tuple[Tensor, Tensor]] = []
        # per site: its linear first conv, or None (concatenation)
        self._site_convs: List[Optional[nn.Conv2d]] = []
        # (first conv, cached - x_slot, fold) of the site running now in
        # explicit caches, added to the conv's output by _CorrectionHook
        self._corrections: List[Tuple[nn.Conv2d, Tensor, int]] = []

    def _add_shift_sites(self, sites: Sequence[Tuple[nn.Module, int]]
                         ) -> None:
        """Shift the input of each module over clips of its num_segments.

        Refuses a backbone of ``num_segments=1`` (training would fill every
        shifted slot with zeros, while streaming fills it with the past),
        and a ``shift_div`` that leaves no site shifting; skips, with a
        warning, a site of fewer than ``shift_div`` channels (no channel
        would move, as in the official code).

        Args:
            sites (Sequence[tuple[nn.Module, int]]): Each shift site and
                the frames per clip at its input.
        """
        if not sites:
            return
        if self.num_segments < 2:
            raise ValueError(
                f'{type(self).__name__}: num_segments=1 with the shift on '
                'trains every shifted slot on zeros, while streaming feeds '
                'it the previous frame; train on clips (num_segments >= 2) '
                'or build it with is_shift=False')
        widths = [_in_channels(module) for module, _ in sites]
        for (module, _), channels in zip(sites, widths):
            if channels is None:
                raise TypeError(f'cannot tell the input channels of shift '
                                f'site {self._site_name(module)}')
        widest = max(widths)
        if widest < self.shift_div:
            raise ValueError(
                f'{type(self).__name__}: shift_div={self.shift_div} leaves '
                'no site that shifts: the widest, '
                f'{self._site_name(sites[widths.index(widest)][0])}, has '
                f'{widest} input channels, so no channel would move; use '
                f'shift_div <= {widest} (the paper: 8), or is_shift=False '
                'for the 2D network')
        for (module, num_segments), channels in zip(sites, widths):
            self._add_shift_site(module, num_segments, channels)

    def _site_name(self, module: nn.Module) -> str:
        """The name of a submodule, for messages."""
        return next((n for n, m in self.named_modules() if m is module),
                    type(module).__name__)

    def _add_shift_site(self, module: nn.Module, num_segments: int,
                        channels: int) -> None:
        """Shift the input of ``module``, unless it is narrower than
        ``shift_div`` (skipped with a warning)."""
        if channels < self.shift_div:
            name = self._site_name(module)
            print_log(
                f'{type(self).__name__}: no shift at {name}: its input has '
                f'{channels} channels, fewer than shift_div='
                f'{self.shift_div}, so no channel would move', 'current',
                level=logging.WARNING)
            return
        module.register_forward_pre_hook(
            _ShiftHook(self, self.num_shift_sites, num_segments))
        module.register_forward_hook(_RestoreHook(self))
        conv = linear_entry(module)
        if conv is not None:
            conv.register_forward_hook(_CorrectionHook(self))
        self._site_convs.append(conv)
        self.num_shift_sites += 1

    @contextmanager
    def stream_step(self, stream_ids: StreamIds, frame_ids: FrameIds = None,
                    lengths: Lengths = None) -> Iterator[StreamStep]:
        """One frame of each stream, committed as one transaction.

        Inside the block every forward runs frame by frame (causal rule)
        on the rows of ``stream_ids`` (or of ``step.rows(...)``). On a clean
        exit the new caches, frame counters and releases of finished
        streams are committed together; on an exception none is. A
        backbone built ``direction='bidirectional'`` warns once that it
        runs causally here, and what that cost.

        Args:
            stream_ids (Sequence[Hashable]): Distinct streams, one frame
                each; an id not seen before (or reset) starts from zeros.
            frame_ids (Sequence[int], optional): Each stream's frame, an int
                >= 0: 0 restarts it, another must be the one it expects (else
                :class:`~tsm_mm.models.stream_caches.StreamOrderError`).
                None continues each stream.
            lengths (Sequence[int | None], optional): Each video's length,
                when known: its stream is released after its last frame.

        Yields:
            StreamStep: The step (``step.rows(ids)`` runs a subset).
        """
        if getattr(self, 'temporal_pool', False):
            raise RuntimeError('temporal_pool mixes frames of a clip and '
                               'cannot run frame by frame')
        caches, swapped = self.stream_caches, self._swapped
        slot_start = stream_slot(1).start  # of a fold of one channel

        def shift(x: Tensor, site: int, num_segments: int) -> Tensor:
            rows = caches.feed(x.shape[0])
            fold = x.shape[1] // self.shift_div  # sites checked at build
            x_slot = x.narrow(1, slot_start * fold, fold)
            cached = rows.read(site, x_slot)
            if torch.is_grad_enabled():  # autograd needs x as it was
                if cached is None:
                    cached = torch.zeros_like(x_slot)
                out, cache = concat_shift_step(x, cached, fold)
                rows.stage(site, cache.detach().clone())
                return out
            cache = swap_slot_(x_slot, cached)
            swapped.append((x_slot, cache))
            rows.stage(site, cache)
            return x

        with caches.step(stream_ids, frame_ids, lengths) as step, \
                self._mode(shift):
            yield step
            if not self.num_shift_sites:  # nothing cached, frames counted
                caches.feed(len(step.stream_ids))

    @contextmanager
    def explicit_caches(self, caches: Optional[Sequence[Tensor]] = None
                        ) -> Iterator[List[Tensor]]:
        """Run the shift sites as one stateless causal step.

        Inside the block, shift site k of a forward takes ``caches[k]`` as
        the previous frame's slot (zeros when ``caches`` is None) and
        appends its new cache to the yielded list; :attr:`stream_caches` is
        not touched. Built out of place, so tracing exporters record it: a
        site whose first op is a linear conv (:func:`linear_entry`) keeps
        its input and corrects that conv's output; another one gets the
        shifted input by concatenation.

        Args:
            caches (Sequence[Tensor], optional): One (B, fold_k, H_k, W_k)
                tensor per shift site.

        Yields:
            list[Tensor]: The new caches, in site order, once a forward ran.
        """
        if caches is not None and len(caches) != self.num_shift_sites:
            raise ValueError(f'got {len(caches)} caches for '
                             f'{self.num_shift_sites} shift sites')
        if getattr(self, 'temporal_pool', False):
            raise RuntimeError('temporal_pool mixes frames of a clip and '
                               'cannot run frame by frame')
        new_caches: List[Tensor] = []

        def shift(x: Tensor, site: int, num_segments: int) -> Tensor:
            if site != len(new_caches):
                raise RuntimeError(f'shift site {site} ran out of order')
            conv = self._site_convs[site]
            if conv is not None:
                fold = conv.in_channels // self.shift_div  # static in graphs
                x_slot = x[:, stream_slot(fold)]
                if caches is None:
                    change = -x_slot
                else:
                    check_cache_fits(caches[site], x, fold)
                    change = caches[site] - x_slot
                self._corrections.append((conv, change, fold))
                new_caches.append(x_slot)
                return x
            fold = shift_fold(x, 1, self.shift_div)
            cached = (torch.zeros_like(x[:, stream_slot(fold)])
                      if caches is None
                      else caches[site])
            out, cache = concat_shift_step(x, cached, fold)
            new_caches.append(cache)
            return out

        with self._mode(shift):
            yield new_caches

    @contextmanager
    def _mode(self, shift: ShiftFn) -> Iterator[None]:
        """Run the shift sites as ``shift`` (a causal step) in the block."""
        if self._shift_mode is not None:
            raise RuntimeError('the backbone is already running a stream '
                               'step or explicit caches')
        self._warn_if_trained_bidirectional()
        self._shift_mode = shift
        try:
            yield
        finally:
            self._shift_mode = None
            self._corrections.clear()  # a site raised
            while self._swapped:  # a site raised
                restore_slot_(*self._swapped.pop())

    def _warn_if_trained_bidirectional(self) -> None:
        """Warn, once per backbone, that a bidirectional one runs causally.

        A warning, not a refusal: a bidirectional checkpoint can be run
        causally (same weights, same slots; built with
        ``direction='causal'`` it runs so without a word), and the backbone
        cannot tell at build whether its test loop will stream (1-frame
        test items do). So the first causal step of a backbone built
        bidirectional says what that costs.
        """
        if self.direction != 'bidirectional' or not self.num_shift_sites \
                or self._warned_causal_run:
            return
        self._warned_causal_run = True
        print_log(
            f"{type(self).__name__} was built with direction='bidirectional' "
            'but runs frame by frame with the causal rule: the channels it '
            'shifted from the next frame now keep the current one. '
            f'Measured: {BIDIRECTIONAL_STREAM_COST}. Train models that '
            "stream with direction='causal'; to run this checkpoint "
            "causally on purpose, build it with direction='causal' (same "
            'weights, no warning)', 'current', level=logging.WARNING)

    def forward_stream(self, x: Tensor, stream_ids: Sequence[Hashable]):
        """Run one frame of each stream, with the causal rule.

        Args:
            x (Tensor): One frame per stream, shape (B, C, H, W).
            stream_ids (Sequence[Hashable]): The stream of each row; an id not
                seen before (or reset) starts from zero caches.

        Returns:
            Tensor | tuple[Tensor]: What :meth:`forward` returns for ``x``.
        """
        stream_ids = list(stream_ids)
        if len(stream_ids) != x.shape[0]:
            raise ValueError(f'got {x.shape[0]} frames for {len(stream_ids)} '
                             f'stream_ids')
        with self.stream_step(stream_ids):
            return self.forward(x)

    def reset_streams(self,
                      stream_ids: Optional[Sequence[Hashable]] = None) -> None:
        """Forget the state of ``stream_ids``, or of every stream."""
        self.stream_caches.reset(stream_ids)

    @property
    def streaming(self) -> bool:
        """Whether the shift sites run frame by frame now."""
        return self._shift_mode is not None

    def train(self, mode: bool = True):
        """Set the mode as the base backbone does, and return the module."""
        super().train(mode)
        return self


def blockres_blocks(res_layers: Sequence[nn.Module]) -> List[nn.Module]:
    """The blocks whose residual branch is shifted, as the official code.

    Every block, or every other block of each stage when ``layer3`` has 23
    or more blocks (ResNet-101/152).

    Args:
        res_layers (Sequence[nn.Module]): The stages, ``layer1`` first.

    Returns:
        list[nn.Module]: The shifted blocks.
    """
    step = 2 if len(res_layers) > 2 and len(res_layers[2]) >= 23 else 1
    return [block for layer in res_layers for block in list(layer)[::step]]
