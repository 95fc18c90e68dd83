"""Load MMEngine checkpoints with ``weights_only=True`` and nothing more.

MMEngine checkpoints hold a few non-tensor objects: the message hub's
``HistoryBuffer`` (numpy arrays, numpy scalars and its statistics methods)
and OneCycleLR's annealing function. Pickle protocol 2 writes a method as
``getattr(owner_class, name)``, so loading needs ``getattr`` — but the real
``getattr`` lets a crafted file walk from any allowed function to
``eval``. Here ``builtins.getattr`` resolves, only while one file loads, to
a getattr that returns exactly the (class, attribute) pairs of
:data:`ALLOWED_ATTRIBUTES` and refuses everything else.

Every scheme of MMEngine's ``CheckpointLoader`` (local files, ``http(s)://``,
``torchvision://``, ``open-mmlab://``, ``mmcls://``, ``pavi://``, ``s3://``)
loads this way: :func:`register_weights_only_schemes` wraps each registered
loader so that, while it runs, ``torch.load`` in its thread is
:func:`load_checkpoint_file`. The loaders keep resolving names, downloading
and caching as MMEngine does (``torch.hub`` would unpickle the cached file
with ``weights_only=False``). A loaded checkpoint's ``meta['config']``, text
that ``Runner.resume`` would execute, is dropped.
"""
import contextlib
import functools
import logging
import os
import os.path as osp
import pickle
import threading
from typing import IO, Any, Callable, Iterator, List, Optional, Tuple, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer, print_log
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


# torch.load as torch defines it; what every load here ends in
_torch_load = torch.load
_scope = threading.local()  # .name: the checkpoint a loader is loading
_lock = threading.Lock()
_open_scopes = 0


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
    """The unpickler's own sentence out of torch's long advice text
    (without its advice to allow the global)."""
    text = str(err)
    marker = 'WeightsUnpickler error: '
    if marker in text:
        text = text.split(marker, 1)[1]
    return text.strip().split('\n\n')[0].split(' Please use ')[0]


def _load(source: Union[str, IO[bytes]], map_location: Optional[Any],
          name: str) -> Any:
    """``torch.load(source, weights_only=True)`` with the allow-list; errors
    name ``name``."""
    try:
        with mmengine_checkpoint_globals():
            return _torch_load(source, map_location=map_location,
                               weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointLoadError(
            f'refused to load {name}: it holds an object that is not '
            f'part of an MMEngine checkpoint ({_unpickler_reason(err)}); '
            'nothing in it was run') from err
    except Exception as err:  # truncated zip, bad magic, wrong device, ...
        raise CheckpointLoadError(
            f'cannot load {name}: {type(err).__name__}: {err}') from err


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
    return _load(filename, map_location, filename)


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


def _weights_only_torch_load(f: Union[str, os.PathLike, IO[bytes]],
                             map_location: Optional[Any] = None,
                             *args, **kwargs) -> Any:
    """``torch.load`` while :func:`weights_only_torch_load` is open: in
    that thread :func:`load_checkpoint_file` (whatever ``weights_only``
    the caller asked for), elsewhere torch's own."""
    name = getattr(_scope, 'name', None)
    if name is None:
        return _torch_load(f, map_location, *args, **kwargs)
    if isinstance(f, (str, os.PathLike)):
        return load_checkpoint_file(os.fspath(f), map_location)
    return _load(f, map_location, name)  # bytes of a client (s3, ...)


@contextlib.contextmanager
def weights_only_torch_load(name: str) -> Iterator[None]:
    """Make ``torch.load`` in this thread load weights only (see
    :func:`load_checkpoint_file`) inside the block; other threads keep
    torch's own.

    Args:
        name (str): The checkpoint being loaded; errors about a buffer (no
            file name) name it.
    """
    global _open_scopes
    outer = getattr(_scope, 'name', None)
    with _lock:
        if _open_scopes == 0:
            torch.load = _weights_only_torch_load
        _open_scopes += 1
    _scope.name = name
    try:
        yield
    finally:
        _scope.name = outer
        with _lock:
            _open_scopes -= 1
            if _open_scopes == 0 and torch.load is _weights_only_torch_load:
                torch.load = _torch_load


def drop_config_text(checkpoint: Any, filename: str) -> None:
    """Remove ``meta['config']`` from a loaded checkpoint, with a warning.

    MMEngine's ``Runner.resume`` runs that text as Python
    (``Config.fromstring``) to count GPUs; MMEngine itself saves the
    config as ``meta['cfg']``, which nothing executes.
    """
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    if isinstance(meta, dict) and 'config' in meta:
        del meta['config']
        print_log(f"{filename}: left out meta['config'] (Runner.resume "
                  'would run it as Python)', logger='current',
                  level=logging.WARNING)


def weights_only_scheme(loader: Callable) -> Callable:
    """``loader`` (a ``CheckpointLoader`` scheme) loading weights only.

    Args:
        loader (Callable): ``loader(filename, map_location)``, e.g.
            MMEngine's ``load_from_http``.

    Returns:
        Callable: The same loader (same name, so MMEngine's log line stays)
        whose ``torch.load`` calls go through :func:`load_checkpoint_file`;
        a refusal names ``filename`` and the file it resolved to.
    """
    if getattr(loader, 'weights_only', False):
        return loader

    @functools.wraps(loader)
    def load(filename: str, map_location: Optional[Any] = None) -> Any:
        try:
            with weights_only_torch_load(filename):
                checkpoint = loader(filename, map_location)
        except CheckpointLoadError as err:
            if filename in str(err):
                raise
            raise CheckpointLoadError(f'{filename}: {err}') from err
        drop_config_text(checkpoint, filename)
        return checkpoint

    load.weights_only = True
    return load


def register_weights_only_schemes() -> None:
    """Wrap every scheme registered with MMEngine's ``CheckpointLoader``
    (its own, :func:`register_local_loader`'s, and any registered before)
    in :func:`weights_only_scheme` (``force=True``)."""
    for prefix, loader in list(CheckpointLoader._schemes.items()):
        CheckpointLoader.register_scheme(
            prefixes=prefix, loader=weights_only_scheme(loader), force=True)
