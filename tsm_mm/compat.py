"""Work-arounds for known breakages of the pinned OpenMMLab stack.

Imported first by :mod:`tsm_mm`. Each patch names the upstream bug it covers
and does nothing when that bug is absent. (Loading MMEngine checkpoints on
torch >= 2.6, open-mmlab/mmengine#1616, is :mod:`tsm_mm.engine`'s job: it
widens torch's ``weights_only`` allow-list only while one file loads.)
"""
import importlib.util
import os.path as osp
import sys
import types

import torch


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


def torchvision_urls_without_torchvision() -> bool:
    """Resolve ``torchvision://NAME`` even where torchvision cannot import.

    MMEngine's ``load_from_torchvision`` imports torchvision only to list
    the model URLs, which MMEngine also ships (``hub/torchvision_0.12.json``,
    e.g. ``resnet50``). Without torchvision (or beside a torchvision built
    for another torch, whose import raises RuntimeError), the ImageNet init
    of the R-50 configs failed with ``No module named 'torchvision'``; this
    loader falls back to that file, and to MMEngine's own lookup otherwise.

    Returns:
        bool: Whether the loader was registered.
    """
    import mmengine
    from mmengine.runner import checkpoint as mm_checkpoint

    def load_from_torchvision(filename: str, map_location=None):
        try:
            return mm_checkpoint.load_from_torchvision(filename,
                                                       map_location)
        except (ImportError, RuntimeError):  # no (working) torchvision
            pass
        name = filename.split('://', 1)[1]
        urls = mmengine.load(osp.join(mmengine.__path__[0], 'hub',
                                      'torchvision_0.12.json'))
        if name not in urls:
            raise KeyError(f'{filename}: no such model in MMEngine\'s '
                           f'torchvision list (e.g. {sorted(urls)[:4]}); '
                           'install torchvision for newer names')
        return mm_checkpoint.load_from_http(urls[name],
                                            map_location=map_location)

    mm_checkpoint.CheckpointLoader.register_scheme(
        prefixes=('modelzoo://', 'torchvision://'), force=True)(
            load_from_torchvision)
    return True


patch_mmaction_drn()
allow_cpu_distributed()
torchvision_urls_without_torchvision()
