"""Training-engine pieces: safe checkpoint loading, crash-safe saving,
resuming past damaged checkpoints. Importing this registers them with
MMEngine (the local checkpoint loader, ``AtomicCheckpointHook``, the
``atomic_local`` file backend)."""
from .atomic_local_backend import AtomicLocalBackend, write_atomically
from .checkpoint_loading import (
    ALLOWED_ATTRIBUTES,
    CheckpointLoadError,
    load_checkpoint_file,
    mmengine_checkpoint_globals,
    register_local_loader,
)
from .hooks import AtomicCheckpointHook
from .resume import (
    check_resume_checkpoint,
    checkpoint_problem,
    find_resume_checkpoint,
)

register_local_loader()

__all__ = [
    'ALLOWED_ATTRIBUTES', 'AtomicCheckpointHook', 'AtomicLocalBackend',
    'CheckpointLoadError', 'check_resume_checkpoint', 'checkpoint_problem',
    'find_resume_checkpoint', 'load_checkpoint_file',
    'mmengine_checkpoint_globals', 'write_atomically'
]
