"""A detector's whole streaming step in PyTorch's CPU fast path, run as a
streaming runtime like the exported ones.

The backbone and neck (fixed shapes) run in
:class:`~tsm_mm.deploy.FastStreamStep` (channels-last, bf16 autocast where
asked, ``torch.compile`` as one graph where asked); the post-processing
(decoding, NMS, rescaling: data dependent) runs after it in eager fp32, the
same rule as the exported graph (:func:`postprocess_rule`). Frames arrive
preprocessed as for the exported graph, and the caches are kept per stream
by the runtime; only the network runs in PyTorch.
"""
from typing import Dict, Hashable, List, Optional, Tuple

import numpy as np
import torch
from torch import nn

from ..utils.arg_types import check_int
from .detector_graph import (
    DetectorFeatureStep,
    detector_interface,
    postprocess_rule,
)
from .exported_detector import RuntimeDetector
from .runtimes import StreamRows, StreamRuntime
from .torch_fast import FastStreamStep

# the runtimes' precision names -> FastStreamStep's dtypes
DTYPE_OF = {'f32': 'fp32', 'bf16': 'bf16', 'default': 'auto'}


class TorchStream(StreamRuntime):
    """A detector's step on PyTorch's fast path, the caches per stream.

    The streams of a step run as one batch. ``torch.compile`` compiles on
    the first step of each batch size.

    Args:
        detector (nn.Module): The mmdet detector the interface describes, in
            eval mode (a TSM video detector, or its 2D twin).
        interface (dict): Its step's interface
            (:func:`~tsm_mm.deploy.detector_interface`).
        precision (str): ``'f32'``, ``'bf16'`` (autocast) or ``'default'``
            (bf16 where the CPU computes it natively, else f32).
        compile (bool): ``torch.compile`` the backbone and neck.
        threads (int, optional): Sets torch's intra-op threads (for the
            whole process); None leaves them.

    Attributes:
        precision (str): What runs: ``'f32'`` or ``'bf16'``.
    """

    def __init__(self, detector: nn.Module, interface: Dict,
                 precision: str = 'f32', compile: bool = False,
                 threads: Optional[int] = None) -> None:
        super().__init__(interface)
        if precision not in DTYPE_OF:
            raise ValueError(f'precision must be one of {tuple(DTYPE_OF)}, '
                             f'got {precision!r}')
        if threads is not None:
            torch.set_num_threads(check_int(threads, 'threads', 1))
        self.network = FastStreamStep(DetectorFeatureStep(detector.eval()),
                                   DTYPE_OF[precision], compile=compile)
        self.postprocess = postprocess_rule(detector)
        self.precision = 'bf16' if self.network.precision == 'bf16' else 'f32'
        self.compiled = self.network.compiled
        h, w = interface['frame_size']
        self._rows = StreamRows(
            self.network.zero_caches(torch.zeros(1, 3, h, w)), torch.cat)

    def _run(self, frames: np.ndarray, side: Dict[str, np.ndarray],
             stream_ids: List[Hashable],
             restarts: List[bool]) -> Dict[str, np.ndarray]:
        outs = self.network(torch.from_numpy(frames),
                         *self._rows.gather(stream_ids, restarts))
        split = len(outs) - self.network.num_caches
        with torch.no_grad():
            detections = self.postprocess(
                list(outs[:split]), torch.from_numpy(side['img_shape']),
                torch.from_numpy(side['scale_factor']))
        self._rows.keep(stream_ids, outs[split:])
        return {name: value.numpy()
                for name, value in zip(self.output_names, detections)}

    def _abort(self, stream_ids: List[Hashable]) -> None:
        pass  # the caches change only after a run succeeded

    def _release(self, stream_id: Hashable) -> None:
        self._rows.pop(stream_id)


class TorchDetector(RuntimeDetector):
    """Detect objects in streams of BGR frames with :class:`TorchStream`:
    the interface's preprocessing, PyTorch's fast path for the network.

    Args:
        detector (nn.Module): An mmdet detector in eval mode.
        frame_size (tuple[int, int]): (H, W) of the padded frames.
        resize (dict, optional): The test ``Resize`` (``scale`` (w, h),
            ``keep_ratio``); None: frames are not resized.
        precision, compile, threads: See :class:`TorchStream`.
    """

    def __init__(self, detector: nn.Module, frame_size: Tuple[int, int],
                 resize: Optional[Dict] = None, precision: str = 'f32',
                 compile: bool = False,
                 threads: Optional[int] = None) -> None:
        interface = detector_interface(detector.eval(), frame_size,
                                       resize=resize)
        super().__init__(TorchStream(detector, interface, precision,
                                     compile, threads),
                         'pytorch-compile' if compile else 'pytorch')
