from .atomic_checkpoint_hook import AtomicCheckpointHook
from .checkpoint_fit_hook import CheckpointFitHook

__all__ = ['AtomicCheckpointHook', 'CheckpointFitHook']
