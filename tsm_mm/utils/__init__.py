from .atomic_write import atomic_path
from .timing import time_round_robin

__all__ = ['atomic_path', 'time_round_robin']
