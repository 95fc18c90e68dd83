from .timing import time_round_robin

__all__ = ['time_round_robin']
