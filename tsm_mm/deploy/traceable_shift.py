"""Run a TSM backbone's shift sites in forms tracing exporters record.

:func:`~tsm_mm.ops.temporal_shift` writes into slices of a new tensor
(and runs as an ``autograd.Function``); ``torch.onnx.export`` can trace
such writes into a constant, which silently ignores the input. Here every
output is built from ``torch.cat`` of input slices, so the graph depends on
its inputs only, for any batch size. The slots are those of the op
(tests check both against each other).
"""
from contextlib import contextmanager
from typing import Iterator, List, Optional, Sequence

import torch
from torch import Tensor, nn

from ..ops.temporal_shift import concat_shift, concat_shift_step


def _check_backbone(backbone: nn.Module) -> None:
    if not hasattr(backbone, 'num_shift_sites'):
        raise TypeError(f'{type(backbone).__name__} has no shift sites; '
                        'expected a TemporalShiftMixin backbone')
    if backbone.streaming:
        raise RuntimeError('a forward_stream step is running')


@contextmanager
def explicit_caches(backbone: nn.Module,
                    caches: Optional[Sequence[Tensor]] = None
                    ) -> Iterator[List[Tensor]]:
    """Run the shift sites of ``backbone`` as one stateless causal step.

    Inside the block, shift site k of a forward takes ``caches[k]`` as the
    previous frame's slot (zeros when ``caches`` is None) and appends its
    new cache to the yielded list; ``stream_caches`` is not touched.

    Args:
        backbone (nn.Module): A ``TemporalShiftMixin`` backbone.
        caches (Sequence[Tensor], optional): One (B, fold_k, H_k, W_k) tensor
            per shift site.

    Yields:
        list[Tensor]: The new caches, in site order, once the forward ran.
    """
    _check_backbone(backbone)
    if caches is not None and len(caches) != backbone.num_shift_sites:
        raise ValueError(f'got {len(caches)} caches for '
                         f'{backbone.num_shift_sites} shift sites')
    if getattr(backbone, 'temporal_pool', False):
        raise RuntimeError('temporal_pool mixes frames of a clip and '
                           'cannot run frame by frame')
    new_caches: List[Tensor] = []

    def step(x: Tensor, site: int, num_segments: int) -> Tensor:
        if site != len(new_caches):
            raise RuntimeError(f'shift site {site} ran out of order')
        fold = x.shape[1] // backbone.shift_div
        cached = (torch.zeros_like(x[:, fold:2 * fold]) if caches is None
                  else caches[site])
        out, cache = concat_shift_step(x, cached, fold)
        new_caches.append(cache)
        return out

    # the hooks call ``backbone._shift``: shadow it on this instance only
    backbone._shift = step
    try:
        yield new_caches
    finally:
        del backbone._shift


@contextmanager
def traceable_offline_shift(backbone: nn.Module) -> Iterator[None]:
    """Run the offline shift of ``backbone`` as :func:`concat_shift`."""
    _check_backbone(backbone)

    def shift(x: Tensor, site: int, num_segments: int) -> Tensor:
        return concat_shift(x, num_segments, x.shape[1] // backbone.shift_div,
                            backbone.direction)

    backbone._shift = shift
    try:
        yield
    finally:
        del backbone._shift
