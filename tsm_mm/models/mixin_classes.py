"""A mixin applied to a library class, as a named, picklable subclass.

The video wrappers (:class:`~tsm_mm.models.VideoDetector`,
:class:`~tsm_mm.models.backbones.StreamingTSM`) do not hold the wrapped
module as a child: they build the library class itself with a mixin in
front, so its state-dict keys (and checkpoints) stay the library's.
"""
import sys
from typing import Dict, Tuple

# (mixin, base) -> the subclass, shared so that two builds share a class
_CLASSES: Dict[Tuple[type, type], type] = {}


def mixin_class(mixin: type, base: type, prefix: str) -> type:
    """The class ``prefix + base.__name__`` deriving from (mixin, base).

    Args:
        mixin (type): The mixin (first in the MRO).
        base (type): The library class, e.g. mmdet's ``RetinaNet``.
        prefix (str): The name's prefix, e.g. ``'Video'``.

    Returns:
        type: The class; ``base`` itself when it already has the mixin. It
        lives in this module under its name, so its instances pickle.
    """
    if issubclass(base, mixin):
        return base
    key = (mixin, base)
    if key not in _CLASSES:
        name = prefix + base.__name__
        module = sys.modules[__name__]
        # two bases of one name from two libraries: keep the names apart
        while hasattr(module, name):
            name += '_'
        cls = type(name, (mixin, base), dict(
            __module__=__name__, __qualname__=name,
            __doc__=f'{base.__name__} with {mixin.__name__}.'))
        setattr(module, name, cls)
        _CLASSES[key] = cls
    return _CLASSES[key]
