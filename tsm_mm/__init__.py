"""tsm_mm: the Temporal Shift Module as an OpenMMLab plugin."""
# isort: off
from . import compat  # noqa: F401  (first: patches the stack before mm imports)
from . import datasets, engine, evaluation, models  # noqa: F401  (fill registries)
# isort: on
from .ops import temporal_shift
from .version import __version__

__all__ = ['temporal_shift', '__version__']
