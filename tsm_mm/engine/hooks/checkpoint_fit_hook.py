"""Refuse the checkpoint a run loads when its weights are not the model's,
before MMEngine loads it leniently (and, resuming, the optimizer state)."""
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from ..checkpoint_fit import load_weights_strictly


@HOOKS.register_module()
class CheckpointFitHook(Hook):
    """Load ``load_from``'s weights strictly (``tools/test.py``, ``--resume``).

    ``Runner.load_checkpoint`` calls the hooks' ``after_load_checkpoint``
    with the checkpoint before it loads it into the model (with
    ``strict=False``) and before ``resume`` loads the optimizer; here the
    weights are loaded strictly first, and a mismatch stops the run naming
    the file. Register it at ``'VERY_HIGH'`` priority (before ``EMAHook``
    swaps the weights).

    Args:
        filename (str): The checkpoint the runner loads, for the message.
    """

    priority = 'VERY_HIGH'

    def __init__(self, filename: str) -> None:
        self.filename = filename

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        load_weights_strictly(runner.model, checkpoint, self.filename)
