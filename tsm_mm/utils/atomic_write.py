"""Write a file so that readers see the old one or the whole new one."""
import os
import os.path as osp
import tempfile
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """A temporary path next to ``path`` that replaces it on success.

    Whatever the body writes to the yielded path is flushed to disk and
    renamed onto ``path`` (``os.replace``, atomic on POSIX) when the body
    returns; if it raises, the temporary file is removed and ``path`` is
    left as it was.

    Args:
        path (str): The file to write.

    Yields:
        str: The temporary path to write to (same folder and extension).
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    stem, ext = osp.splitext(osp.basename(path))
    fd, tmp = tempfile.mkstemp(prefix=f'.{stem}.', suffix=f'.tmp{ext}',
                               dir=folder)
    os.close(fd)
    try:
        yield tmp
        with open(tmp, 'rb+') as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
