from .temporal_shift import temporal_shift

__all__ = ['temporal_shift']
