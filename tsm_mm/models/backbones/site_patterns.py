"""Shift sites named by module-path patterns, e.g. ``'layer*.*.conv1'``."""
from fnmatch import fnmatchcase
from typing import List, Sequence, Union

from torch import nn

# attributes by which a block says whether it has an identity path
IDENTITY_FLAGS = ('add_identity', 'with_res_shortcut')

Patterns = Union[str, Sequence[str]]


def as_patterns(sites: Patterns) -> List[str]:
    """``sites`` as a non-empty list of patterns (a str is one pattern)."""
    patterns = [sites] if isinstance(sites, str) else list(sites)
    if not patterns or not all(isinstance(p, str) and p for p in patterns):
        raise TypeError('sites must be a module-path pattern or a list of '
                        f'them (e.g. "layer*.*.conv1"), got {sites!r}')
    return patterns


def _matches(pattern: str, name: str) -> bool:
    """Whether ``name`` matches ``pattern`` one dotted component at a time
    (``*`` never crosses a dot)."""
    parts, names = pattern.split('.'), name.split('.')
    return len(parts) == len(names) and all(
        fnmatchcase(n, p) for p, n in zip(parts, names))


def has_identity(block: nn.Module) -> bool:
    """Whether a block adds its input to its residual branch (True when it
    has none of :data:`IDENTITY_FLAGS`, as ResNet's blocks)."""
    flags = [getattr(block, f) for f in IDENTITY_FLAGS if hasattr(block, f)]
    return all(bool(flag) for flag in flags)


def find_sites(model: nn.Module, sites: Patterns,
               identity_only: bool = True) -> List[nn.Module]:
    """The submodules of ``model`` whose path matches one of ``sites``.

    Args:
        model (nn.Module): The backbone.
        sites (str | Sequence[str]): Module-path patterns, matched per
            dotted component with :mod:`fnmatch` (``'stage*.*.blocks.*.conv1'``
            matches ``stage1.1.blocks.0.conv1``).
        identity_only (bool): Skip a site whose block (its parent module)
            has no identity path (``add_identity=False``), as TSM's
            ``blockres``: shifting there would move channels of the only
            path. Defaults to True.

    Returns:
        list[nn.Module]: The sites, in module order (the order they run in
        a sequential backbone).

    Raises:
        ValueError: A pattern that matches no module of ``model``.
    """
    patterns = as_patterns(sites)
    modules = dict(model.named_modules())
    found, used = [], set()
    for name, module in modules.items():
        hits = [p for p in patterns if name and _matches(p, name)]
        if not hits:
            continue
        used.update(hits)
        parent = modules.get(name.rpartition('.')[0], model)
        if identity_only and not has_identity(parent):
            continue
        found.append(module)
    missing = [p for p in patterns if p not in used]
    if missing:
        example = [n for n in modules if n][:6]
        raise ValueError(
            f'{type(model).__name__}: shift site pattern(s) {missing} match '
            f'no module; its modules are named like {example}')
    return found
