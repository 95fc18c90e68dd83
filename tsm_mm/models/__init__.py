from . import backbones, detectors  # noqa: F401
