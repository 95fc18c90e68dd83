"""Training-engine pieces: safe checkpoint loading, crash-safe saving,
resuming past damaged checkpoints. Importing this registers them with
MMEngine (weights-only loading for every checkpoint scheme,
``AtomicCheckpointHook``, the ``atomic_local`` file backend)."""
from .atomic_local_backend import AtomicLocalBackend, write_atomically
from .checkpoint_fit import CheckpointMismatchError, load_weights_strictly
from .checkpoint_loading import (
    ALLOWED_ATTRIBUTES,
    CheckpointLoadError,
    load_checkpoint_file,
    mmengine_checkpoint_globals,
    register_local_loader,
    register_weights_only_schemes,
    weights_only_scheme,
)
from .hooks import AtomicCheckpointHook, CheckpointFitHook
from .resume import (
    check_resume_checkpoint,
    checkpoint_problem,
    find_resume_checkpoint,
)

register_local_loader()
register_weights_only_schemes()

__all__ = [
    'ALLOWED_ATTRIBUTES', 'AtomicCheckpointHook', 'AtomicLocalBackend',
    'CheckpointFitHook', 'CheckpointLoadError', 'CheckpointMismatchError',
    'check_resume_checkpoint', 'checkpoint_problem', 'find_resume_checkpoint',
    'load_checkpoint_file', 'load_weights_strictly',
    'mmengine_checkpoint_globals', 'weights_only_scheme', 'write_atomically'
]
