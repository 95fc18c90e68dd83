"""The PyTorch CPU fast path of a streaming step: one pure step, run in
channels-last, under bf16 autocast where the CPU computes bf16 natively,
and optionally compiled as one graph (``torch.compile``, no graph break).

The step is a module like :class:`~tsm_mm.deploy.BackboneStreamStep` or
:class:`~tsm_mm.deploy.DetectorFeatureStep`: ``(frame, *caches) ->
(*outputs, *new_caches)`` (no caches for a 2D twin). Outputs and caches
come back in float32 and the caches in one fixed layout, so that the new
caches of a step feed the next one whatever the precision, and a compiled
step is not recompiled.
"""
from typing import Callable, List, Tuple, Union

import torch
from torch import Tensor, nn

from .onnx_stream import cache_shapes

DTYPES = ('auto', 'fp32', 'bf16')
# instruction sets that run bf16 natively; elsewhere oneDNN emulates it
# (slower than fp32)
BF16_ISAS = ('avx512_bf16', 'amx_bf16')


def _cpuinfo_flags() -> set:
    """The CPU flags of /proc/cpuinfo, empty where there is none."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('flags'):
                    return set(line.split(':', 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_supports_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX-512-BF16 or AMX-BF16).

    Read at run time (torch's cpuinfo, else /proc/cpuinfo), and only where
    oneDNN runs bf16 at all.

    Returns:
        bool: True where a bf16 step can be faster than fp32.
    """
    if not (torch.backends.mkldnn.is_available()
            and torch.ops.mkldnn._is_mkldnn_bf16_supported()):
        return False
    get_capabilities = getattr(torch.cpu, 'get_capabilities', None)
    if get_capabilities is not None:
        caps = get_capabilities()
        return any(bool(caps.get(isa, False)) for isa in BF16_ISAS)
    return bool(_cpuinfo_flags() & set(BF16_ISAS))


def _num_caches(step: nn.Module) -> int:
    if not hasattr(step, 'shift_backbone'):
        raise TypeError(f'step must be a streaming step module (e.g. '
                        f'BackboneStreamStep), got {type(step).__name__}')
    backbone = step.shift_backbone
    if backbone is None:
        return 0  # a 2D network: a step with no caches
    if not hasattr(backbone, 'num_shift_sites'):
        raise TypeError(f'{type(step).__name__}.shift_backbone '
                        f'{type(backbone).__name__} has no shift sites')
    return backbone.num_shift_sites


class FastStreamStep(nn.Module):
    """A streaming step on the CPU fast path, for inference only.

    Every call runs without autograd. With ``channels_last`` the step's
    weights are converted in place (the wrapped module is shared).

    Args:
        step (nn.Module): A step module with ``shift_backbone`` (set to
            eval mode): ``BackboneStreamStep``, ``DetectorStreamStep``,
            ``DetectorFeatureStep``; with ``shift_backbone`` None (a 2D
            twin) the step has no caches.
        dtype (str): ``'fp32'``, ``'bf16'`` (autocast) or ``'auto'``: bf16
            where :func:`cpu_supports_bf16`, else fp32.
        channels_last (bool): Run the weights, the frame and the caches in
            ``torch.channels_last``.
        compile (bool): ``torch.compile`` the whole step as one graph
            (``fullgraph=True``).
        backend (str | Callable): The ``torch.compile`` backend.

    Attributes:
        precision (str): What ``dtype`` chose: ``'fp32'`` or ``'bf16'``.
    """

    def __init__(self, step: nn.Module, dtype: str = 'auto',
                 channels_last: bool = True, compile: bool = False,
                 backend: Union[str, Callable] = 'inductor') -> None:
        super().__init__()
        if dtype not in DTYPES:
            raise ValueError(f'dtype must be one of {DTYPES}, got {dtype!r}')
        self.num_caches = _num_caches(step)
        self.step = step.eval()
        if self.num_caches:
            # the once-per-backbone warning of a bidirectional one running
            # causally logs now: logging inside the graph would break it
            step.shift_backbone._warn_if_trained_bidirectional()
        if dtype == 'auto':
            dtype = 'bf16' if cpu_supports_bf16() else 'fp32'
        self.precision = dtype
        self.channels_last = bool(channels_last)
        self.compiled = bool(compile)
        self.memory_format = (torch.channels_last if self.channels_last
                              else torch.contiguous_format)
        if self.channels_last:
            self.step.to(memory_format=torch.channels_last)
        self._run = (torch.compile(self._step, fullgraph=True,
                                   backend=backend, dynamic=False)
                     if self.compiled else self._step)

    @property
    def compute_dtype(self) -> torch.dtype:
        """The dtype the convolutions run in."""
        return torch.bfloat16 if self.precision == 'bf16' else torch.float32

    def zero_caches(self, frame: Tensor) -> List[Tensor]:
        """The caches of new streams for frames shaped like ``frame``.

        Args:
            frame (Tensor): (B, 3, H, W).

        Returns:
            list[Tensor]: float32 zeros, one per shift site.
        """
        if not self.num_caches:
            return []
        shapes = cache_shapes(self.step.shift_backbone, frame)
        return [torch.zeros(shape).contiguous(
            memory_format=self.memory_format) for shape in shapes]

    def _step(self, frame: Tensor, *caches: Tensor) -> Tuple[Tensor, ...]:
        fmt = self.memory_format
        frame = frame.contiguous(memory_format=fmt)
        # the caches enter in the dtype of the activations they join (cat
        # of two dtypes would promote the whole site input to float32)
        caches = [c.to(dtype=self.compute_dtype, memory_format=fmt)
                  for c in caches]
        with torch.autocast('cpu', dtype=torch.bfloat16,
                            enabled=self.precision == 'bf16'):
            outs = self.step(frame, *caches)
        split = len(outs) - self.num_caches
        feats = [out.float() for out in outs[:split]]
        new_caches = [c.to(dtype=torch.float32).contiguous(memory_format=fmt)
                      for c in outs[split:]]
        return (*feats, *new_caches)

    def forward(self, frame: Tensor, *caches: Tensor) -> Tuple[Tensor, ...]:
        """(B, 3, H, W) frames and K caches -> outputs and K new caches.

        Args:
            frame (Tensor): Preprocessed frames, float32.
            *caches (Tensor): One per shift site (see :meth:`zero_caches`).

        Returns:
            tuple[Tensor]: The step's outputs then its new caches, float32.
        """
        if len(caches) != self.num_caches:
            raise ValueError(f'got {len(caches)} caches for '
                             f'{self.num_caches} shift sites')
        with torch.no_grad():
            return self._run(frame, *caches)


def graph_breaks(step: nn.Module, *example: Tensor) -> int:
    """The graph breaks TorchDynamo meets in one call of ``step``.

    Args:
        step (nn.Module): A module or function.
        *example (Tensor): Its inputs.

    Returns:
        int: ``graph_break_count`` of :func:`torch._dynamo.explain`.
    """
    with torch.no_grad():
        explained = torch._dynamo.explain(step)(*example)
    return explained.graph_break_count

