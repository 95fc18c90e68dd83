"""Makers of small data in the real layouts, for demos, tools and tests.

Not imported by ``import tsm_mm``: the plugin's registries never load it.
"""
from .toy_actions import make_toy_actions
from .toy_vid import make_toy_vid

__all__ = ['make_toy_vid', 'make_toy_actions']
