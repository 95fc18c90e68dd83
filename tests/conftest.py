"""Shared fixtures. tsm_mm is imported first: it patches the stack."""
import tsm_mm  # noqa: F401
