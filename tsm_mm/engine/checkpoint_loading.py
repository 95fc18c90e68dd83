"""Load MMEngine checkpoints with ``weights_only=True`` and nothing more.

MMEngine checkpoints hold a few non-tensor objects: the message hub's
``HistoryBuffer`` (numpy arrays, numpy scalars and its statistics methods)
and OneCycleLR's annealing function. Pickle protocol 2 writes a method as
``getattr(owner_class, name)``, so loading needs ``getattr`` — but the real
``getattr`` lets a crafted file walk from any allowed function to
``eval``. Here ``builtins.getattr`` resolves, only while one file loads, to
a getattr that returns exactly the (class, attribute) pairs of
:data:`ALLOWED_ATTRIBUTES` and refuses everything else.
"""
import contextlib
import os.path as osp
import pickle
from typing import Any, Callable, Iterator, List, Optional, Tuple, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.optim import OneCycleParamScheduler
from mmengine.runner import CheckpointLoader

# (owner class, attribute): the only attributes a checkpoint may reach.
# Measured on checkpoints MMEngine 0.10.7 saves under LinearLR, MultiStepLR
# and OneCycleLR: the message hub pickles HistoryBuffer's statistics
# methods, OneCycleParamScheduler.state_dict() its ``anneal_func``.
ALLOWED_ATTRIBUTES: Tuple[Tuple[type, str], ...] = (
    (HistoryBuffer, 'min'),
    (HistoryBuffer, 'max'),
    (HistoryBuffer, 'current'),
    (HistoryBuffer, 'mean'),
    (OneCycleParamScheduler, '_annealing_cos'),
    (OneCycleParamScheduler, '_annealing_linear'),
)
# numpy dtypes whose instances a checkpoint may rebuild (logged scalars and
# HistoryBuffer arrays); object, string and void dtypes stay refused
NUMPY_DTYPES = ('float64', 'float32', 'float16', 'int64', 'int32', 'int16',
                'int8', 'uint8', 'bool')


class CheckpointLoadError(RuntimeError):
    """A checkpoint file that is damaged or holds objects outside the
    allow-list; the message names the file."""


def _owner_name(obj: Any) -> str:
    """Name ``obj`` for a message without calling its own methods."""
    kind = obj if isinstance(obj, type) else type(obj)
    name = f'{kind.__module__}.{kind.__qualname__}'
    return name if isinstance(obj, type) else f'a {name} object'


def allowed_getattr(obj: Any, name: str) -> Any:
    """``getattr`` for exactly the pairs of :data:`ALLOWED_ATTRIBUTES`.

    Args:
        obj: The owner; must be the allowed class itself (not an instance
            or a subclass).
        name (str): The attribute.

    Returns:
        The attribute.

    Raises:
        pickle.UnpicklingError: For any other pair.
    """
    for owner, attribute in ALLOWED_ATTRIBUTES:
        if obj is owner and type(name) is str and name == attribute:
            return getattr(owner, attribute)
    raise pickle.UnpicklingError(
        f'getattr({_owner_name(obj)}, {name!r}) is not among the attributes '
        'MMEngine checkpoints need')


def checkpoint_globals() -> List[Union[Callable, Tuple[Callable, str]]]:
    """What :func:`mmengine_checkpoint_globals` allows (torch's format)."""
    multiarray = np._core.multiarray if hasattr(np, '_core') else \
        np.core.multiarray
    dtypes = [type(np.dtype(name)) for name in NUMPY_DTYPES]
    # numpy 2 pickles name numpy._core, numpy 1 numpy.core: accept both
    rebuilders = [(getattr(multiarray, name), f'{package}.multiarray.{name}')
                  for name in ('_reconstruct', 'scalar')
                  for package in ('numpy._core', 'numpy.core')]
    return [(allowed_getattr, 'builtins.getattr'), HistoryBuffer,
            OneCycleParamScheduler, np.ndarray, np.dtype, *rebuilders,
            *dtypes]


@contextlib.contextmanager
def mmengine_checkpoint_globals() -> Iterator[None]:
    """Allow :func:`checkpoint_globals` in ``torch.load(weights_only=True)``
    inside the block only; entries that were allowed before stay, the
    others are removed on exit.

    The allow-list is process-wide while the block runs (torch keeps one),
    which is harmless: its getattr reaches only the listed attributes.
    """
    before = torch.serialization.get_safe_globals()
    added = [g for g in checkpoint_globals() if g not in before]
    with torch.serialization.safe_globals(added):
        yield


def _unpickler_reason(err: BaseException) -> str:
    """The unpickler's own sentence out of torch's long advice text."""
    text = str(err)
    marker = 'WeightsUnpickler error: '
    if marker in text:
        text = text.split(marker, 1)[1]
    return text.strip().split('\n\n')[0]


def load_checkpoint_file(filename: str,
                         map_location: Optional[Any] = 'cpu') -> Any:
    """``torch.load(filename, weights_only=True)`` for MMEngine checkpoints.

    Args:
        filename (str): A local checkpoint.
        map_location: As for :func:`torch.load`.

    Returns:
        The loaded object (usually a dict).

    Raises:
        FileNotFoundError: ``filename`` is not a file.
        CheckpointLoadError: The file is damaged, or it holds an object
            other than tensors, plain containers and the types MMEngine
            checkpoints hold (the message names the file and the object).
    """
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint not found: {filename}')
    try:
        with mmengine_checkpoint_globals():
            return torch.load(filename, map_location=map_location,
                              weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointLoadError(
            f'refused to load {filename}: it holds an object that is not '
            f'part of an MMEngine checkpoint ({_unpickler_reason(err)}). '
            'Only load it without weights_only if you trust its '
            'author.') from err
    except Exception as err:  # truncated zip, bad magic, wrong device, ...
        raise CheckpointLoadError(
            f'cannot load {filename}: {type(err).__name__}: {err}') from err


def load_from_local(filename: str, map_location: Optional[Any]) -> Any:
    """MMEngine's local checkpoint loader, with :func:`load_checkpoint_file`
    (the name keeps MMEngine's log line ``Loads checkpoint by local
    backend``)."""
    return load_checkpoint_file(osp.expanduser(filename), map_location)


def register_local_loader() -> None:
    """Make MMEngine load local checkpoints (``load_from``, ``--resume``,
    ``load_checkpoint``) through :func:`load_checkpoint_file`."""
    CheckpointLoader.register_scheme(prefixes='', loader=load_from_local,
                                     force=True)
