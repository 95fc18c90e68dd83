"""Work-arounds for known breakages of the pinned OpenMMLab stack.

Imported first by :mod:`tsm_mm`. Each patch names the upstream bug it covers
and does nothing when that bug is absent.
"""
import collections
import importlib.util
import os.path as osp
import sys
import types

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.optim import OneCycleParamScheduler
from mmengine.utils import digit_version


class _MissingDRN:
    """Placeholder for MMAction2's DRN localizer, absent from the wheel."""

    def __init__(self, *args, **kwargs):
        raise ImportError(
            'DRN is not shipped in the mmaction2 1.2.0 wheel '
            '(open-mmlab/mmaction2#2714); install mmaction2 from source to '
            'use it.')


def patch_mmaction_drn() -> bool:
    """Provide ``mmaction.models.localizers.drn`` when the wheel lacks it.

    Covers open-mmlab/mmaction2#2714: the 1.2.0 wheel omits the ``drn``
    package, so ``import mmaction.models`` fails.

    Returns:
        bool: Whether the placeholder module was installed.
    """
    spec = importlib.util.find_spec('mmaction')
    if spec is None or spec.origin is None:
        return False
    drn_dir = osp.join(osp.dirname(spec.origin), 'models', 'localizers', 'drn')
    if osp.isdir(drn_dir) or 'mmaction.models.localizers.drn' in sys.modules:
        return False
    package = types.ModuleType('mmaction.models.localizers.drn')
    package.__path__ = []
    module = types.ModuleType('mmaction.models.localizers.drn.drn')
    module.DRN = package.DRN = _MissingDRN
    package.drn = module
    sys.modules[package.__name__] = package
    sys.modules[module.__name__] = module
    return True


def _mmengine_checkpoint_globals() -> list:
    """The non-tensor types MMEngine checkpoints hold (message hub, meta)."""
    multiarray = getattr(np, '_core', getattr(np, 'core', None)).multiarray
    dtypes = [type(np.dtype(name)) for name in (
        'float64', 'float32', 'float16', 'int64', 'int32', 'int16', 'int8',
        'uint8', 'bool')]
    # getattr rebuilds HistoryBuffer's bound statistics methods and
    # OneCycleLR's anneal function (a static method of its class); calling
    # anything still needs an allowed callable
    return [HistoryBuffer, OneCycleParamScheduler, np.ndarray, np.dtype,
            multiarray._reconstruct, multiarray.scalar, collections.Counter,
            getattr, *dtypes]


def allow_mmengine_checkpoints() -> bool:
    """Let ``torch.load(weights_only=True)`` read MMEngine checkpoints.

    Covers open-mmlab/mmengine#1616 (``--resume`` fails on torch >= 2.6,
    whose ``torch.load`` defaults to ``weights_only=True`` while MMEngine
    checkpoints hold ``HistoryBuffer`` and numpy objects): allow exactly
    those types instead of unpickling arbitrary objects.

    Returns:
        bool: Whether the allow-list was registered.
    """
    if digit_version(torch.__version__) < digit_version('2.6.0'):
        return False
    torch.serialization.add_safe_globals(_mmengine_checkpoint_globals())
    return True


def allow_cpu_distributed() -> bool:
    """Let ``--launcher pytorch`` start (gloo) on torch builds without CUDA.

    Covers MMEngine 0.10's ``_init_dist_pytorch``, which always calls
    ``torch.cuda.set_device`` (AttributeError ``_cuda_setDevice`` on CPU
    builds); the original runs whenever CUDA is there.

    Returns:
        bool: Whether the CPU path was installed.
    """
    if torch.cuda.is_available():
        return False
    from mmengine.dist import utils as dist_utils
    original = dist_utils._init_dist_pytorch

    def init_dist_pytorch(backend, init_backend='torch', **kwargs) -> None:
        if init_backend != 'torch':
            return original(backend, init_backend, **kwargs)
        torch.distributed.init_process_group(backend=backend, **kwargs)

    dist_utils._init_dist_pytorch = init_dist_pytorch
    return True


patch_mmaction_drn()
allow_mmengine_checkpoints()
allow_cpu_distributed()
