"""Refuse tool outputs that would destroy an input or a user's file.

The tools write through :mod:`~tsm_mm.utils.atomic_write`, whose rename
replaces whatever the target names: an input given again as the output, a
file reached through a link to an input, or a file the tool never wrote.
:func:`check_outputs` runs before any work and refuses those cases, naming
the arguments; only ``--overwrite`` lets an existing file (never an input)
be replaced.
"""
import argparse
import os
import os.path as osp
from pathlib import Path
from typing import Callable, Dict, Mapping, Optional, Sequence, Union

PathLike = Union[str, Path]


def _same_file(a: str, b: str) -> bool:
    """Whether two paths name one file: equal once links are resolved, or
    one inode (a hard link, a symbolic one, a bind mount)."""
    if osp.realpath(a) == osp.realpath(b):
        return True
    try:
        return osp.samefile(a, b)  # st_dev and st_ino
    except OSError:  # one of them does not exist
        return False


def _inside(path: str, folder: str) -> bool:
    real, root = osp.realpath(path), osp.realpath(folder)
    return osp.commonpath([real, root]) == root and real != root


def _local(paths: Mapping[str, Optional[PathLike]]) -> Dict[str, str]:
    """The named local paths: no None, no URL (``scheme://``)."""
    return {name: os.fspath(path) for name, path in paths.items()
            if path is not None and '://' not in os.fspath(path)}


def check_outputs(outputs: Mapping[str, Optional[PathLike]],
                  inputs: Optional[Mapping[str, Optional[PathLike]]] = None,
                  overwrite: bool = False,
                  flag: str = '--overwrite') -> None:
    """Refuse outputs that would replace an input or an existing file.

    Call it before the work starts. Each output is checked against every
    input (the same file through any path, symbolic or hard link, or a
    path inside an input folder) and against what exists already.

    Args:
        outputs (Mapping[str, str | Path | None]): The files the tool
            writes, by the argument that names them (e.g. ``'--out'``, or
            ``'the interface file of --out'`` for a file written beside
            it). None: not written.
        inputs (Mapping[str, str | Path | None], optional): The files and
            folders the tool reads, by argument. None values and URLs are
            skipped.
        overwrite (bool): Whether an existing file that is no input may be
            replaced.
        flag (str): The option that sets ``overwrite``, for the message.

    Raises:
        ValueError: An output is an input or lies inside an input folder,
            is a folder, or two outputs name the same file.
        FileExistsError: An output exists and ``overwrite`` is False.
    """
    outs, ins = _local(outputs), _local(inputs or {})
    for name, path in outs.items():
        for in_name, in_path in ins.items():
            if osp.lexists(in_path) and _same_file(path, in_path):
                raise ValueError(
                    f'{name} {path} is the same file as {in_name} '
                    f'{in_path}: writing it would destroy that input; '
                    'choose another path')
            if osp.isdir(in_path) and _inside(path, in_path):
                raise ValueError(f'{name} {path} is inside the input folder '
                                 f'{in_name} {in_path}; choose a path '
                                 'outside it')
        if osp.isdir(path):
            raise ValueError(f'{name} {path} is a folder; give a file name')
    names = list(outs)
    for i, name in enumerate(names):
        for other in names[i + 1:]:
            if _same_file(outs[name], outs[other]):
                raise ValueError(f'{name} and {other} name the same file '
                                 f'{outs[other]}')
    if not overwrite:
        for name, path in outs.items():
            if osp.lexists(path):
                raise FileExistsError(f'{name} {path} exists: pass {flag} '
                                      'to replace it')


def parse_args_checking_outputs(
        parser: argparse.ArgumentParser, argv: Optional[Sequence[str]],
        outputs: Callable[[argparse.Namespace], Mapping],
        inputs: Optional[Callable[[argparse.Namespace], Mapping]] = None
) -> argparse.Namespace:
    """``parser.parse_args(argv)``, then :func:`check_outputs` on what the
    arguments name; a refusal exits through ``parser.error`` (status 2)
    before any work. The parser gets the ``--overwrite`` flag.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
        argv (Sequence[str], optional): Its arguments (None: sys.argv).
        outputs (Callable): args -> the files written, by argument.
        inputs (Callable, optional): args -> the files read, by argument.

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    parser.add_argument('--overwrite', action='store_true',
                        help='replace existing output files (never an '
                        'input)')
    args = parser.parse_args(argv)
    try:
        check_outputs(outputs(args), inputs(args) if inputs else None,
                      args.overwrite)
    except (FileExistsError, ValueError) as err:
        parser.error(str(err))
    return args
