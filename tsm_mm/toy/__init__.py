"""Generators of small datasets in the real layouts."""
from .actions import make_toy_actions
from .vid import make_toy_vid

__all__ = ['make_toy_vid', 'make_toy_actions']
