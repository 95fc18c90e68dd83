"""Generators of small datasets in the real layouts."""
from .vid import make_toy_vid  # noqa: F401
