"""A local file backend whose writes are all-or-nothing.

MMEngine's ``LocalBackend.put`` opens the target in place: a crash while
writing leaves a truncated file under the final name. Here every write goes
through :func:`tsm_mm.utils.write_atomically` (a fsynced temporary file in
the same folder, renamed over the target, the folder fsynced), so a reader
sees the old file or the new one, never a part.
"""
from pathlib import Path
from typing import Union

from mmengine.fileio import LocalBackend, register_backend

# re-exported: the checkpoint hook and older imports use them from here
from ..utils.atomic_write import (  # noqa: F401
    TMP_NAME,
    fsync_dir,
    remove_stale_temporaries,
    write_atomically,
)


@register_backend('atomic_local')
class AtomicLocalBackend(LocalBackend):
    """``LocalBackend`` whose ``put``/``put_text`` are atomic and durable.

    Select it with ``backend_args=dict(backend='atomic_local')``; it claims
    no URI prefix, so nothing else changes.
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        write_atomically(obj, filepath)

    def put_text(self, obj: str, filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        write_atomically(obj.encode(encoding), filepath)
