"""A local file backend whose writes are all-or-nothing.

MMEngine's ``LocalBackend.put`` opens the target in place: a crash while
writing leaves a truncated file under the final name. Here every write goes
to a temporary file in the same folder, is flushed and fsynced, renamed
over the target (atomic on POSIX) and the folder fsynced, so a reader sees
the old file or the new one, never a part.
"""
import os
import os.path as osp
import re
import tempfile
from pathlib import Path
from typing import List, Union

from mmengine.fileio import LocalBackend, register_backend

# the temporary files of :func:`write_atomically`: .<name>.<random>.tmp
TMP_NAME = re.compile(r'\.(?P<name>.+)\.[A-Za-z0-9_]{8}\.tmp')


def fsync_dir(dirname: str) -> None:
    """Make a rename or removal in ``dirname`` durable."""
    fd = os.open(dirname or '.', os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(data: bytes, filepath: Union[str, Path]) -> None:
    """Write ``data`` to ``filepath`` through a fsynced temporary file.

    Args:
        data (bytes): The whole content.
        filepath (str | Path): The target; its folder is created if needed.
    """
    filepath = str(filepath)
    dirname = osp.dirname(osp.abspath(filepath))
    os.makedirs(dirname, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f'.{osp.basename(filepath)}.', suffix='.tmp', dir=dirname)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
    fsync_dir(dirname)


def remove_stale_temporaries(dirname: str) -> List[str]:
    """Delete what :func:`write_atomically` left in ``dirname`` when its
    process was killed mid-write.

    Returns:
        list[str]: The removed paths.
    """
    removed = []
    if not osp.isdir(dirname):
        return removed
    for name in sorted(os.listdir(dirname)):
        path = osp.join(dirname, name)
        if TMP_NAME.fullmatch(name) and osp.isfile(path):
            os.remove(path)
            removed.append(path)
    return removed


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
