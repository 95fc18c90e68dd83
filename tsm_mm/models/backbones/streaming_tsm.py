"""TSM for any MMDetection backbone, its shift sites named in the config."""
from typing import Dict, Optional, Union

from mmdet.registry import MODELS
from mmdet.utils import ConfigType
from torch import nn

from ..mixin_classes import mixin_class
from .site_patterns import Patterns
from .streaming_shift_mixin import StreamingShiftMixin


def preset_of(base: type) -> Optional[type]:
    """The registered streaming preset whose 2D class is ``base``."""
    for cls in MODELS.module_dict.values():
        if isinstance(cls, type) and issubclass(cls, StreamingShiftMixin) \
                and cls.default_sites is not None \
                and cls.__bases__[-1] is base:
            return cls
    return None


@MODELS.register_module()
class StreamingTSM:
    """Any 2D backbone whose ``sites`` get the temporal shift.

    ``StreamingTSM(backbone=dict(type='CSPNeXt', ...),
    sites='stage*.*.blocks.*.conv1')`` builds the backbone's own class with
    :class:`StreamingShiftMixin` in front (``StreamingTSMCSPNeXt``): the
    same modules and state-dict keys as the 2D backbone, so its checkpoint
    loads strictly, plus the shift as forward pre-hooks on the sites and
    the streaming API (:meth:`stream_step`, :meth:`explicit_caches`,
    :meth:`reset_streams`). The presets (``StreamingTSMResNet``,
    ``StreamingTSMResNeXt``, ``StreamingTSMMobileNetV2``,
    ``StreamingTSMCSPNeXt``, ``StreamingTSMCSPDarknet``) are this with
    their sites named; without ``sites``, the backbone's preset is used.

    Args:
        backbone (dict): The 2D backbone's config (mmdet's ``MODELS``).
        sites (str | list[str], optional): Module-path patterns of the
            modules whose input is shifted, matched per dotted component
            (``'layer*.*.conv1'``); a site whose block has
            ``add_identity=False`` is skipped (TSM's ``blockres``). Needed
            when the backbone has no preset.
        routed (bool): Whether the caller routes clips and streams
            (``VideoDetector`` sets it); else an offline forward is refused.
        **shift_args: ``num_segments``, ``is_shift``, ``shift_div``,
            ``direction``, ``max_streams``, ``max_idle_steps`` (see
            :class:`StreamingTSMResNet`).

    Returns:
        nn.Module: The streaming backbone (not a ``StreamingTSM``).
    """

    def __new__(cls,
                backbone: ConfigType,
                sites: Optional[Patterns] = None,
                routed: bool = False,
                **shift_args) -> nn.Module:
        args: Dict = dict(backbone)
        kind: Union[str, type] = args.pop('type')
        base = kind if isinstance(kind, type) else MODELS.get(kind)
        if base is None:
            raise KeyError(f'StreamingTSM: backbone type {kind!r} is not in '
                           "mmdet's MODELS (custom_imports?)")
        if issubclass(base, StreamingShiftMixin):
            raise TypeError(f'StreamingTSM: {base.__name__} already shifts; '
                            'use it directly')
        preset = preset_of(base)
        if preset is None and sites is None:
            raise TypeError(
                f'StreamingTSM: {base.__name__} has no preset: name its '
                "shift sites, e.g. sites='stage*.*.blocks.*.conv1' (the "
                "first conv of each residual branch)")
        video_cls = preset or mixin_class(StreamingShiftMixin, base,
                                          'StreamingTSM')
        return video_cls(sites=sites, routed=routed, **shift_args, **args)
