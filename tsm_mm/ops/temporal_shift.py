"""The temporal shift of TSM (Lin et al., ICCV 2019), from one rule.

The rule (:data:`OFFSETS`): with ``fold = C // shift_div``, slot ``k``
(channels ``[k*fold, (k+1)*fold)``, k = 0, 1) of frame t takes frame
``t + OFFSETS[direction][k]`` of its clip, zeros where that frame is
outside the clip; the other channels stay. Every form below is derived
from it:

* :func:`temporal_shift`: the offline op over clips, an autograd Function
  whose backward is the shift by the opposite offsets (its adjoint);
* :func:`concat_shift`: the same op built by concatenation, for tracers;
* a stream step: a causal rule has offsets <= 0, so frame t needs only the
  slot of frame t-1 that moves in (:func:`stream_slot`), kept as a cache;
  :func:`concat_shift_step` returns the shifted copy (traceable),
  :func:`shifted_conv_correction` enters the slot after a plain conv by
  linearity (traceable, no copy of the frame), and :func:`swap_slot_` swaps
  the slot in place (undone by :func:`restore_slot_`), moving 3 slots
  instead of copying the frame.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..utils.arg_types import check_int

OFFSETS = {'bidirectional': (1, -1), 'causal': (0, -1)}
DIRECTIONS = tuple(OFFSETS)
# the slot of offset -1 of each rule that needs no future frame (decided
# once: stream steps look it up on every site of every frame)
_PAST_SLOT = {direction: offsets.index(-1)
              for direction, offsets in OFFSETS.items()
              if sorted(offsets) == [-1, 0]}


def shift_fold(x: Tensor, num_segments: int, shift_div: int) -> int:
    """Validate the arguments and return ``fold``, the channels per slot."""
    if x.dim() != 4:
        raise ValueError(
            f'x must be (N*T, C, H, W), got shape {tuple(x.shape)}')
    check_int(num_segments, 'num_segments', 1)
    check_int(shift_div, 'shift_div')
    if x.shape[0] % num_segments:
        raise ValueError(f'x.shape[0]={x.shape[0]} is not a multiple of '
                         f'num_segments={num_segments}')
    if not 2 <= shift_div <= x.shape[1]:
        raise ValueError(
            f'shift_div={shift_div} must be in [2, C={x.shape[1]}]')
    return x.shape[1] // shift_div


def offsets_of(direction: str) -> Tuple[int, int]:
    """The frame offset of each slot under ``direction`` (see the rule)."""
    if not isinstance(direction, str) or direction not in OFFSETS:
        raise ValueError(f'direction must be one of {DIRECTIONS}, '
                         f'got {direction!r}')
    return OFFSETS[direction]


def stream_slot(fold: int, direction: str = 'causal') -> slice:
    """The channels a stream step takes from the previous frame.

    Args:
        fold (int): Channels per slot.
        direction (str): A rule whose offsets are all 0 or -1.

    Returns:
        slice: The channels of the slot of offset -1.
    """
    if direction not in _PAST_SLOT:
        offsets_of(direction)  # names an unknown direction
        raise ValueError(f'{direction!r} takes future frames: it cannot run '
                         'frame by frame')
    k = _PAST_SLOT[direction]
    return slice(k * fold, (k + 1) * fold)


def _move(x: Tensor, num_segments: int, fold: int,
          offsets: Tuple[int, ...]) -> Tensor:
    """The rule by copies into one new tensor (eager, fastest)."""
    nt, c, h, w = x.shape
    clips = x.view(nt // num_segments, num_segments, c, h, w)
    out = torch.empty_like(clips)
    t = num_segments
    for k, offset in enumerate(offsets):
        src = clips[:, :, k * fold:(k + 1) * fold]
        dst = out[:, :, k * fold:(k + 1) * fold]
        lo, hi = max(0, -offset), t - max(0, offset)  # frames that have one
        dst[:, lo:hi].copy_(src[:, lo + offset:hi + offset])
        dst[:, :lo].zero_()
        dst[:, hi:].zero_()
    rest = len(offsets) * fold
    out[:, :, rest:].copy_(clips[:, :, rest:])
    return out.view(nt, c, h, w)


def _concat(x: Tensor, num_segments: int, fold: int,
            offsets: Tuple[int, ...]) -> Tensor:
    """The rule by concatenation (what tracing exporters record)."""
    nt, c, h, w = x.shape
    clips = x.reshape(nt // num_segments, num_segments, c, h, w)
    slots = []
    for k, offset in enumerate(offsets):
        src = clips[:, :, k * fold:(k + 1) * fold]
        if offset:
            zeros = torch.zeros_like(src[:, :abs(offset)])
            src = (torch.cat([src[:, offset:], zeros], 1) if offset > 0 else
                   torch.cat([zeros, src[:, :offset]], 1))
        slots.append(src)
    out = torch.cat(slots + [clips[:, :, len(offsets) * fold:]], 2)
    return out.reshape(nt, c, h, w)


class _TemporalShift(torch.autograd.Function):
    """The shift with its adjoint (the opposite shift) as backward.

    Autograd through slice assignment would differentiate ``as_strided``
    views, which is many times slower on the CPU.
    """

    @staticmethod
    def forward(ctx, x: Tensor, num_segments: int, fold: int,
                offsets: Tuple[int, int]) -> Tensor:
        ctx.args = (num_segments, fold, offsets)
        return _move(x, num_segments, fold, offsets)

    @staticmethod
    def backward(ctx, grad: Tensor):
        num_segments, fold, offsets = ctx.args
        adjoint = tuple(-offset for offset in offsets)
        return (_TemporalShift.apply(grad.contiguous(), num_segments, fold,
                                     adjoint), None, None, None)


def temporal_shift(x: Tensor,
                   num_segments: int,
                   shift_div: int = 8,
                   direction: str = 'bidirectional') -> Tensor:
    """Shift a fraction of the channels one frame along time.

    With ``fold = C // shift_div``: channels ``[0, fold)`` of frame t take
    frame t+1 (bidirectional only), ``[fold, 2*fold)`` take frame t-1, the
    rest stay; a missing neighbour gives zeros.

    Args:
        x (Tensor): Frames of clips, shape (N*T, C, H, W), clip-major.
        num_segments (int): T, the frames per clip.
        shift_div (int): 1/shift_div of the channels moves each way.
        direction (str): ``'bidirectional'`` (offline) or ``'causal'``
            (only the past moves in; the online rule).

    Returns:
        Tensor: A new tensor of the shape of ``x``.
    """
    offsets = offsets_of(direction)
    fold = shift_fold(x, num_segments, shift_div)
    if torch.jit.is_tracing():  # tracers record ops, not Functions
        return _concat(x, num_segments, fold, offsets)
    return _TemporalShift.apply(x, num_segments, fold, offsets)


def concat_shift(x: Tensor, num_segments: int, fold: int,
                 direction: str) -> Tensor:
    """Offline shift of (N*T, C, H, W) clips, built by concatenation.

    Args:
        x (Tensor): Frames of clips, clip-major.
        num_segments (int): T.
        fold (int): Channels per slot.
        direction (str): ``'bidirectional'`` or ``'causal'``.

    Returns:
        Tensor: The shifted frames, shape of ``x``.
    """
    return _concat(x, num_segments, fold, offsets_of(direction))


def check_cache_fits(cached: Tensor, x: Tensor, fold: int) -> None:
    """Refuse a cache that is not the slot of frames shaped as ``x``
    (checked outside tracing: traced shapes are symbolic)."""
    if not torch.jit.is_tracing() and \
            cached.shape != x[:, stream_slot(fold)].shape:
        raise ValueError(f'a cache of shape {tuple(cached.shape)} does not '
                         f'fit frames of shape {tuple(x.shape)} with '
                         f'fold={fold}')


def concat_shift_step(x: Tensor, cached: Tensor,
                      fold: int) -> Tuple[Tensor, Tensor]:
    """One causal step, out of place, built by concatenation.

    Args:
        x (Tensor): The current frames, (B, C, H, W).
        cached (Tensor): The previous frames' :func:`stream_slot`,
            (B, fold, H, W); zeros for a new stream.
        fold (int): Channels per slot.

    Returns:
        tuple[Tensor, Tensor]: The shifted frames and the next cache (a view
        of ``x``).
    """
    slot = stream_slot(fold)
    check_cache_fits(cached, x, fold)
    out = torch.cat([x[:, :slot.start], cached, x[:, slot.stop:]], 1)
    return out, x[:, slot]


def shifted_conv_correction(conv: nn.Conv2d, slot_change: Tensor,
                            fold: int) -> Tensor:
    """What a causal step adds to ``conv(x)`` to give ``conv`` of the
    shifted frames, without building them.

    A zero-padded, ungrouped conv is linear in its input, so with
    ``x'`` = ``x`` whose :func:`stream_slot` holds the cache:
    ``conv(x') = conv(x) + conv_slot(cached - x[:, slot])``, ``conv_slot``
    being ``conv`` restricted to the slot's input channels, without bias.
    Exported graphs keep the site's input in place (the concatenation form
    copies it per site, and runtimes break their layouts over it).

    Args:
        conv (nn.Conv2d): The first op of the shift site, groups=1,
            padding_mode='zeros'.
        slot_change (Tensor): ``cached - x[:, stream_slot(fold)]``,
            (B, fold, H, W).
        fold (int): Channels per slot.

    Returns:
        Tensor: The correction, the shape of ``conv(x)``.
    """
    return F.conv2d(slot_change, conv.weight[:, stream_slot(fold)], None,
                    conv.stride, conv.padding, conv.dilation)


def swap_slot_(x_slot: Tensor, cached: Optional[Tensor]) -> Tensor:
    """One causal step in place: the frames' slot takes the cached one.

    Only the :func:`stream_slot` moves: it is copied out (the next cache)
    and the previous frames' slot is copied in, so the frames it is a view
    of become the shifted frames. Undo it with :func:`restore_slot_` once
    they have been read.

    Args:
        x_slot (Tensor): ``x[:, stream_slot(fold)]`` of the current frames
            ``x``, (B, fold, H, W); a view, modified in place.
        cached (Tensor, optional): The previous frames' slot, the shape of
            ``x_slot``; None for zeros.

    Returns:
        Tensor: The next cache: this step's slot, (B, fold, H, W).
    """
    new_cache = x_slot.clone()
    if cached is None:
        x_slot.zero_()
    else:
        x_slot.copy_(cached)
    return new_cache


def restore_slot_(x_slot: Tensor, new_cache: Tensor) -> None:
    """Undo :func:`swap_slot_`: put this step's slot back into ``x``."""
    x_slot.copy_(new_cache)
