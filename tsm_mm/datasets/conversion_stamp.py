"""One conversion id over the json files written together, checked when a
dataset loads one of them, so that a crash between renames never yields a
mixed set.

Every json of a set carries ``info = {'conversion_id': ..., 'files':
[...]}`` and its folder holds :data:`MANIFEST`, whose ``files`` maps each
json name to the id of the conversion that wrote it. A set is switched so:

1. every json is written and synced to a temporary;
2. the manifest is replaced first, with the new ids and ``writing`` naming
   the files about to change; then each json is renamed into place;
3. the manifest is replaced again, without those names in ``writing``.

A crash before step 2 leaves the old set; during step 2, a manifest that
says the set is being replaced, so the dataset refuses those files; after
step 3, the new set. :func:`check_conversion_stamp` refuses a file named
in ``writing`` or whose id is not the one the manifest records; a json
without a manifest beside it (from elsewhere) is not checked.
"""
import json
import logging
import os.path as osp
import time
import uuid
from typing import Dict, List, Optional

import mmengine.fileio as fileio
from mmengine.fileio import dump
from mmengine.logging import print_log

from ..utils.atomic_write import atomic_path, atomic_paths, naming_target

__all__ = ['MANIFEST', 'check_conversion_stamp', 'dump_stamped_set']

MANIFEST = 'conversion.json'
_RERUN = 're-run tools/convert_imagenet_vid.py with --out {}'


def _dump(content: dict, tmp: str, target: str) -> None:
    # close() inside naming_target: a full disk often shows only there
    with naming_target(target, tmp), open(tmp, 'w') as f:
        dump(content, f, file_format='json')


def _read_manifest(folder: str) -> dict:
    """The manifest of ``folder`` before a new conversion (empty if none);
    an unreadable one is replaced, with a warning."""
    path = osp.join(folder, MANIFEST)
    if not osp.exists(path):
        return dict(files={}, writing=[])
    try:
        with open(path) as f:
            record = json.load(f)
        return dict(files=dict(record['files']),
                    writing=list(record.get('writing', [])))
    except (OSError, ValueError, KeyError, TypeError) as err:
        print_log(f'{path}: unreadable ({err}); replaced by a new one, '
                  'which knows only the files written now',
                  logger='current', level=logging.WARNING)
        return dict(files={}, writing=[])


def dump_stamped_set(contents: Dict[str, dict]) -> str:
    """Write json files of one folder as one set, all or none.

    Each content gets ``info`` (the conversion id and the set's names);
    the folder's :data:`MANIFEST` records them (steps in the module's
    docstring). If writing fails, no file is changed.

    Args:
        contents (dict[str, dict]): Target path -> json content; the
            targets share one folder.

    Returns:
        str: The conversion id.

    Raises:
        OSError: A file cannot be written (the message names it) or a
            target is a folder (refused before anything is written).
    """
    folders = {osp.dirname(osp.abspath(p)) for p in contents}
    if len(folders) != 1:
        raise ValueError(f'the files of a set share one folder, got '
                         f'{list(contents)}')
    folder = folders.pop()
    conversion_id = f'{time.strftime("%Y%m%d-%H%M%S")}-{uuid.uuid4().hex[:8]}'
    names = [osp.basename(p) for p in contents]
    record = _read_manifest(folder)
    record['files'].update(dict.fromkeys(names, conversion_id))
    unfinished = [n for n in record['writing'] if n not in names]
    manifest = osp.join(folder, MANIFEST)
    # atomic_paths renames in the order given: the manifest goes first
    with atomic_paths([manifest, *contents]) as (manifest_tmp, *temps):
        _dump(dict(files=record['files'], writing=unfinished + names),
              manifest_tmp, manifest)
        info = dict(conversion_id=conversion_id, files=names)
        for (path, content), tmp in zip(contents.items(), temps):
            _dump(dict(content, info=info), tmp, path)
    with atomic_path(manifest) as tmp:
        _dump(dict(files=record['files'], writing=unfinished), tmp, manifest)
    return conversion_id


def check_conversion_stamp(ann_file: str,
                           content: dict,
                           backend_args: Optional[dict] = None) -> None:
    """Refuse a json whose set was not switched completely.

    Args:
        ann_file (str): The json file loaded.
        content (dict): Its content.
        backend_args (dict, optional): MMEngine file backend arguments.

    Raises:
        ValueError: A :data:`MANIFEST` beside ``ann_file`` says its set is
            being replaced, records another conversion for it, or cannot
            be read. The message names both files and how to mend them.
    """
    folder = osp.dirname(ann_file)
    manifest = osp.join(folder, MANIFEST)
    if not fileio.exists(manifest, backend_args=backend_args):
        return
    rerun = _RERUN.format(folder or '.')
    try:
        record = json.loads(fileio.get_text(manifest,
                                            backend_args=backend_args))
        files: Dict[str, str] = dict(record['files'])
        writing: List[str] = list(record.get('writing', []))
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f'{ann_file}: cannot check it against {manifest}, '
                         f'which is unreadable ({err}): {rerun}') from None
    name = osp.basename(ann_file)
    if name in writing:
        raise ValueError(
            f'{ann_file}: a conversion was interrupted while it replaced '
            f'{", ".join(writing)} ({manifest} says so), so they may mix two '
            f'conversions: {rerun}')
    if name not in files:
        return
    info = content.get('info') if isinstance(content, dict) else None
    found = info.get('conversion_id') if isinstance(info, dict) else None
    if found != files[name]:
        others = ', '.join(sorted(set(files) - {name}))
        raise ValueError(
            f'{ann_file}: written by conversion {found!r}, but {manifest} '
            f'records {files[name]!r} for it, so it may not be one set with '
            f'the other json files there ({others or "none"}): {rerun} (or '
            f'remove {manifest} if you replaced {name} on purpose)')
