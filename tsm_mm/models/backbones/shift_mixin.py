"""TSM for any ResNet: the shift enters through forward pre-hooks."""
from typing import Hashable, List, Optional, Sequence

from torch import Tensor, nn

from ...ops import temporal_shift
from ...ops.temporal_shift import DIRECTIONS, temporal_shift_step
from ..stream_caches import StreamCaches


class _ShiftHook:
    """Forward pre-hook shifting the input of one module (a shift site)."""

    def __init__(self, owner: 'TemporalShiftMixin', site: int,
                 num_segments: int) -> None:
        self.owner, self.site, self.num_segments = owner, site, num_segments

    def __call__(self, module: nn.Module, args: tuple) -> tuple:
        return (self.owner._shift(args[0], self.site, self.num_segments),
                ) + args[1:]


class TemporalShiftMixin:
    """Adds the shift and the streaming API to a 2D ResNet subclass.

    The shift has no parameters, so it is added as forward pre-hooks on the
    shifted modules: the state-dict keys stay those of the 2D ResNet.
    Subclasses call :meth:`_init_shift` then :meth:`_add_shift_site`.
    """

    def _init_shift(self, num_segments: int, shift_div: int,
                    direction: str) -> None:
        if direction not in DIRECTIONS:
            raise ValueError(f'direction must be one of {DIRECTIONS}, '
                             f'got {direction!r}')
        if num_segments < 1:
            raise ValueError(f'num_segments must be >= 1, got {num_segments}')
        self.num_segments = num_segments
        self.shift_div = shift_div
        self.direction = direction
        self.num_shift_sites = 0
        self.stream_caches = StreamCaches()
        self._stream_ids: Optional[List[Hashable]] = None

    def _add_shift_site(self, module: nn.Module, num_segments: int) -> None:
        """Shift the input of ``module`` over clips of ``num_segments``."""
        module.register_forward_pre_hook(
            _ShiftHook(self, self.num_shift_sites, num_segments))
        self.num_shift_sites += 1

    def _shift(self, x: Tensor, site: int, num_segments: int) -> Tensor:
        if self._stream_ids is None:
            return temporal_shift(x, num_segments, self.shift_div,
                                  self.direction)
        fold = x.shape[1] // self.shift_div
        cached = self.stream_caches.read(site, self._stream_ids,
                                         x[:, fold:2 * fold])
        out, cache = temporal_shift_step(x, cached, self.shift_div)
        self.stream_caches.stage(site, cache)
        return out

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
        if len(set(stream_ids)) != len(stream_ids):
            raise ValueError(f'a stream may give one frame per step, got '
                             f'stream_ids={stream_ids}')
        self._stream_ids = stream_ids
        try:
            out = self.forward(x)
        except BaseException:
            self.stream_caches.discard()
            raise
        finally:
            self._stream_ids = None
        self.stream_caches.commit(stream_ids)
        return out

    def reset_streams(self,
                      stream_ids: Optional[Sequence[Hashable]] = None) -> None:
        """Forget the caches of ``stream_ids``, or of every stream."""
        self.stream_caches.reset(stream_ids)

    @property
    def streaming(self) -> bool:
        """Whether a :meth:`forward_stream` step is running."""
        return self._stream_ids is not None

    def train(self, mode: bool = True):
        """Set the mode as the ResNet does, and return the module."""
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
