"""Which checkpoint ``--resume`` continues from, skipping damaged ones.

MMEngine resumes from the file ``<work_dir>/last_checkpoint`` names and
fails when that file is gone or truncated (a run killed while saving with
MMEngine's ``CheckpointHook``), or when the record itself is not text. Here
the newest intact ``iter_*.pth`` / ``epoch_*.pth`` is taken instead, and the
log says which and why.
"""
import logging
import os
import os.path as osp
import re
import zipfile
from typing import List, Optional, Tuple

from mmengine.logging import print_log

from .checkpoint_loading import CheckpointLoadError, load_checkpoint_file

# the names of MMEngine's CheckpointHook (filename_tmpl iter_{}/epoch_{})
CHECKPOINT_NAME = re.compile(r'(?:iter|epoch)_(\d+)\.pth')


def checkpoint_problem(path: str) -> Optional[str]:
    """Why ``path`` cannot be resumed from; None when it is intact.

    Zip checkpoints (``torch.save``'s format) are checked against the CRC
    of every member without unpickling; older formats are loaded.

    Args:
        path (str): A checkpoint file.

    Returns:
        str | None: e.g. ``'is missing'``, ``'is truncated or damaged
        (...)'``.
    """
    if not osp.isfile(path):
        return 'is missing'
    if osp.getsize(path) == 0:
        return 'is empty'
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                bad = archive.testzip()
        except (zipfile.BadZipFile, OSError, EOFError) as err:
            return f'is truncated or damaged ({err})'
        return None if bad is None else \
            f'is damaged (bad CRC of {bad})'
    try:  # a truncated zip has no central directory: it lands here too
        load_checkpoint_file(path)
    except CheckpointLoadError as err:
        return f'is truncated or damaged ({err.__cause__ or err})'
    return None


def checkpoints_newest_first(dirname: str) -> List[str]:
    """``iter_*.pth`` and ``epoch_*.pth`` of ``dirname``, highest step
    first (modification time breaks ties)."""
    if not osp.isdir(dirname):
        return []
    found = []
    for name in os.listdir(dirname):
        match = CHECKPOINT_NAME.fullmatch(name)
        if match:
            path = osp.join(dirname, name)
            found.append((int(match.group(1)), osp.getmtime(path), path))
    return [path for *_, path in sorted(found, reverse=True)]


def read_last_checkpoint(record: str) -> Tuple[str, str]:
    """The path a ``last_checkpoint`` file names, and what is wrong with
    the file.

    Args:
        record (str): ``<work_dir>/last_checkpoint``.

    Returns:
        tuple[str, str]: The path (``''`` when there is none) and why there
        is none (``''`` when there is one).
    """
    if not osp.isfile(record):
        return '', f'{record} is missing'
    with open(record, 'rb') as f:
        data = f.read()
    try:
        named = data.decode('utf-8').strip()
    except UnicodeDecodeError:
        return '', f'{record} is not a readable path (it holds binary data)'
    if not named:
        return '', f'{record} is empty'
    if '\0' in named or '\n' in named:
        return '', (f'{record} is not a readable path (it holds '
                    f'{named[:40]!r})')
    return named, ''


def find_resume_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint to auto-resume from (``--resume`` without a path).

    The one ``<work_dir>/last_checkpoint`` names when it is intact, else
    the newest intact checkpoint of its folder and ``work_dir`` (logged as
    a warning with the reason; also when the record is unreadable).

    Args:
        work_dir (str): The run's work dir.

    Returns:
        str | None: None when the run has no checkpoint yet.

    Raises:
        CheckpointLoadError: There are checkpoints but none is intact.
    """
    record = osp.join(work_dir, 'last_checkpoint')
    named, why = read_last_checkpoint(record)
    if named:
        problem = checkpoint_problem(named)
        if problem is None:
            return named
        why = f'{named} (named by {record}) {problem}'
    folders = dict.fromkeys(
        [osp.dirname(named), work_dir] if named else [work_dir])
    candidates = [path for folder in folders
                  for path in checkpoints_newest_first(folder)]
    skipped = []
    for path in candidates:
        if path == named:
            continue
        problem = checkpoint_problem(path)
        if problem is None:
            print_log(f'{why}: resuming from {path}, the newest intact '
                      'checkpoint' + ''.join(f'; skipped {s}'
                                             for s in skipped),
                      logger='current', level=logging.WARNING)
            return path
        skipped.append(f'{path}, which {problem}')
    if named or skipped:
        raise CheckpointLoadError(
            f'nothing intact to resume from in {work_dir}: {why}' +
            ''.join(f'; {s}' for s in skipped))
    return None


def check_resume_checkpoint(path: str) -> str:
    """``path`` if it is intact, else an error naming it and the newest
    intact checkpoint beside it (``--resume PATH``: no silent switch).

    Raises:
        CheckpointLoadError: ``path`` is missing or damaged.
    """
    problem = checkpoint_problem(path)
    if problem is None:
        return path
    intact = [p for p in checkpoints_newest_first(osp.dirname(path) or '.')
              if p != path and checkpoint_problem(p) is None]
    hint = f'; the newest intact one beside it is {intact[0]}' if intact \
        else ''
    raise CheckpointLoadError(f'cannot resume from {path}: it {problem}'
                              f'{hint}')
