from .atomic_write import (
    TMP_NAME,
    PendingFile,
    atomic_dir,
    atomic_path,
    atomic_paths,
    naming_target,
    remove_stale_temporaries,
    write_atomically,
)
from .timing import time_round_robin

__all__ = [
    'TMP_NAME', 'PendingFile', 'atomic_dir', 'atomic_path', 'atomic_paths',
    'naming_target', 'remove_stale_temporaries', 'time_round_robin',
    'write_atomically'
]
