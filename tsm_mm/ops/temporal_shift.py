"""The temporal shift of TSM (Lin et al., ICCV 2019), written once."""
from typing import Optional, Tuple

import torch
from torch import Tensor

DIRECTIONS = ('bidirectional', 'causal')


def _check(x: Tensor, num_segments: int, shift_div: int) -> int:
    """Validate the arguments and return ``fold``, the channels per slot."""
    if x.dim() != 4:
        raise ValueError(
            f'x must be (N*T, C, H, W), got shape {tuple(x.shape)}')
    if num_segments < 1 or x.shape[0] % num_segments:
        raise ValueError(f'x.shape[0]={x.shape[0]} is not a multiple of '
                         f'num_segments={num_segments}')
    if not 2 <= shift_div <= x.shape[1]:
        raise ValueError(
            f'shift_div={shift_div} must be in [2, C={x.shape[1]}]')
    return x.shape[1] // shift_div


def _move(x: Tensor, num_segments: int, fold: int,
          offsets: Tuple[int, int]) -> Tensor:
    """Slot k (channels ``[k*fold, (k+1)*fold)``) takes frame t+offsets[k]."""
    nt, c, h, w = x.shape
    clips = x.view(nt // num_segments, num_segments, c, h, w)
    out = torch.empty_like(clips)
    for slot, offset in enumerate(offsets):
        src = clips[:, :, slot * fold:(slot + 1) * fold]
        dst = out[:, :, slot * fold:(slot + 1) * fold]
        if offset == 0:
            dst.copy_(src)
        elif offset > 0:
            dst[:, :-1].copy_(src[:, 1:])
            dst[:, -1].zero_()
        else:
            dst[:, 1:].copy_(src[:, :-1])
            dst[:, 0].zero_()
    out[:, :, 2 * fold:].copy_(clips[:, :, 2 * fold:])
    return out.view(nt, c, h, w)


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
    if direction not in DIRECTIONS:
        raise ValueError(f'direction must be one of {DIRECTIONS}, '
                         f'got {direction!r}')
    fold = _check(x, num_segments, shift_div)
    if torch.jit.is_tracing():  # tracers record ops, not Functions
        return concat_shift(x, num_segments, fold, direction)
    offsets = (1, -1) if direction == 'bidirectional' else (0, -1)
    return _TemporalShift.apply(x, num_segments, fold, offsets)


def temporal_shift_step(x: Tensor,
                        cached: Optional[Tensor],
                        shift_div: int = 8) -> Tuple[Tensor, Tensor]:
    """One causal step of a stream: the previous frame's slot moves in.

    Args:
        x (Tensor): The current frame of each stream, shape (B, C, H, W).
        cached (Tensor, optional): Channels ``[fold, 2*fold)`` of each
            stream's previous frame, shape (B, fold, H, W); None for zeros.
        shift_div (int): As in :func:`temporal_shift`.

    Returns:
        tuple[Tensor, Tensor]: The shifted frame (a new tensor) and the cache
        for the next step (a copy of this frame's ``[fold, 2*fold)``).
    """
    fold = _check(x, 1, shift_div)
    out = torch.empty_like(x)
    out[:, :fold] = x[:, :fold]
    if cached is None:
        out[:, fold:2 * fold] = 0
    else:
        out[:, fold:2 * fold] = cached
    out[:, 2 * fold:] = x[:, 2 * fold:]
    return out, x[:, fold:2 * fold].clone()


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
    nt, c, h, w = x.shape
    clips = x.reshape(nt // num_segments, num_segments, c, h, w)
    zeros = torch.zeros_like(clips[:, :1, :fold])
    if direction == 'bidirectional':  # slot 0 takes frame t+1
        first = torch.cat([clips[:, 1:, :fold], zeros], 1)
    else:
        first = clips[:, :, :fold]
    second = torch.cat([zeros, clips[:, :-1, fold:2 * fold]], 1)  # t-1
    out = torch.cat([first, second, clips[:, :, 2 * fold:]], 2)
    return out.reshape(nt, c, h, w)


def concat_shift_step(x: Tensor, cached: Tensor,
                      fold: int) -> tuple:
    """One causal step, built by concatenation.

    Args:
        x (Tensor): The current frames, (B, C, H, W).
        cached (Tensor): Channels ``[fold, 2*fold)`` of the previous frames,
            (B, fold, H, W); zeros for a new stream.
        fold (int): Channels per slot.

    Returns:
        tuple[Tensor, Tensor]: The shifted frames and the next cache.
    """
    if not torch.jit.is_tracing() and \
            cached.shape[1:] != x[:, fold:2 * fold].shape[1:]:
        raise ValueError(f'a cache of shape {tuple(cached.shape)} does not '
                         f'fit frames of shape {tuple(x.shape)} with '
                         f'fold={fold}')
    out = torch.cat([x[:, :fold], cached, x[:, 2 * fold:]], 1)
    return out, x[:, fold:2 * fold]
