"""Load a checkpoint's weights only when they are the model's, naming the
file otherwise.

MMEngine loads ``load_from`` leniently: a checkpoint of another model loads
what matches, logs a warning and the run goes on, so ``tools/test.py``
scores random weights and ``--resume`` fails later in the optimizer with
an error that names no file.
"""
import re
from collections import OrderedDict
from typing import Any, List, Mapping

from mmengine.model import BaseTTAModel, is_model_wrapper
from torch import nn

from .checkpoint_loading import CheckpointLoadError

SHOWN = 5  # keys named in a message


class CheckpointMismatchError(CheckpointLoadError):
    """A checkpoint whose weights are not those of the model."""


def _first(keys: List[str]) -> str:
    more = f', ... ({len(keys) - SHOWN} more)' if len(keys) > SHOWN else ''
    return ', '.join(keys[:SHOWN]) + more


def _state_dict(checkpoint: Mapping) -> 'OrderedDict[str, Any]':
    """The weights of ``checkpoint`` without DDP's ``module.`` prefix."""
    weights = checkpoint.get('state_dict', checkpoint)
    state = OrderedDict((re.sub(r'^module\.', '', k), v)
                        for k, v in weights.items())
    metadata = getattr(weights, '_metadata', None)
    if metadata is not None:
        state._metadata = metadata
    return state


def load_weights_strictly(model: nn.Module, checkpoint: Mapping,
                          filename: str) -> None:
    """Load the weights of ``checkpoint`` into ``model``; every weight of
    the model must be there, with its shape, and nothing else.

    The model's own load hooks run (e.g. :class:`~tsm_mm.models.TSMResNet`
    accepts MMAction2 ``ResNetTSM`` keys); BN's ``num_batches_tracked``
    may be absent, as MMEngine allows.

    Args:
        model (nn.Module): The model (a wrapper's inner model is used).
        checkpoint (Mapping): A loaded checkpoint (with ``state_dict``) or
            a bare state dict.
        filename (str): Where ``checkpoint`` came from, for the message.

    Raises:
        CheckpointMismatchError: The weights do not fit; the message names
            ``filename`` and the first keys concerned.
    """
    while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    what = f'{filename} does not fit the {type(model).__name__}'
    if not isinstance(checkpoint, Mapping):
        raise CheckpointMismatchError(
            f'{what}: it holds a {type(checkpoint).__name__}, not weights')
    try:
        result = model.load_state_dict(_state_dict(checkpoint), strict=False)
    except RuntimeError as err:  # shapes: one line per weight
        lines = [line.strip() for line in str(err).splitlines()[1:]]
        raise CheckpointMismatchError(f'{what}: {_first(lines)}') from err
    missing = [k for k in result.missing_keys
               if not k.endswith('num_batches_tracked')]
    problems = []
    if missing:
        problems.append(f'{len(missing)} of its weights are not in the '
                        f'checkpoint: {_first(missing)}')
    if result.unexpected_keys:
        problems.append(f'{len(result.unexpected_keys)} keys of the '
                        'checkpoint are not in the model: '
                        f'{_first(result.unexpected_keys)}')
    if problems:
        raise CheckpointMismatchError(f'{what}: ' + '; '.join(problems))
