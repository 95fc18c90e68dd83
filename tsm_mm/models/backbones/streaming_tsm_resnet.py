"""Streaming TSM-ResNet for MMDetection detectors."""
from typing import List

from mmdet.models.backbones import ResNet
from mmdet.registry import MODELS
from torch import nn

from .shift_mixin import blockres_blocks
from .streaming_shift_mixin import StreamingShiftMixin


@MODELS.register_module()
class StreamingTSMResNet(StreamingShiftMixin, ResNet):
    """MMDetection's ResNet whose residual branches shift along time.

    A preset of :class:`~tsm_mm.models.backbones.StreamingTSM`: the sites
    are ``'layer*.*.conv1'`` (every other block of each stage for depth
    >= 101, as the official code). Trained on clips of ``num_segments``
    frames (offline), run frame by frame with per-stream caches
    (:meth:`forward_stream`, :meth:`stream_step`). Its state-dict keys are
    exactly those of MMDetection's ``ResNet``, so a 2D detector's
    checkpoint loads strictly.

    Args:
        depth (int): 18, 34, 50, 101 or 152.
        num_segments (int): Frames per training clip, T (>= 2 with the
            shift on). Defaults to 8.
        is_shift (bool): Whether to shift at all; False gives the 2D ResNet.
            Defaults to True.
        shift_div (int): 1/shift_div of the channels moves. Defaults to 8.
        direction (str): ``'causal'`` (the online rule; default) or
            ``'bidirectional'`` for offline use.
        max_streams (int): Streams whose caches are kept at most; beyond it
            the least recently fed is released with a warning (at R-50 on
            1000x600 frames a stream holds 32 MiB). Defaults to 16.
        max_idle_steps (int): A stream not fed for this many steps is
            released with a warning. Defaults to 256.
        routed (bool): Whether the caller gives it whole clips and routes
            test frames to streams (``VideoDetector`` and
            ``VideoFasterRCNN`` set it). When False, an offline forward is
            refused (a stock detector would shift the unrelated images of a
            batch into each other); set it when you feed clips yourself.
        sites (str | list[str], optional): Module-path patterns replacing
            the default sites (e.g. ``'layer[34].*.conv1'``).
        **kwargs: Other arguments of MMDetection's ``ResNet``
            (``frozen_stages``, ``norm_eval``, ``norm_cfg``, ...).
    """

    default_sites = 'layer*.*.conv1'

    def _shift_sites(self) -> List[nn.Module]:
        sites = super()._shift_sites()
        if self.sites_given:
            return sites
        layers = [getattr(self, name) for name in self.res_layers]
        kept = {id(block.conv1) for block in blockres_blocks(layers)}
        return [site for site in sites if id(site) in kept]
