"""The constructor of the streaming TSM backbones: options and sites."""
import logging
from typing import List, Optional

from mmengine.logging import print_log
from torch import nn

from .shift_mixin import TemporalShiftMixin
from .site_patterns import Patterns, as_patterns, find_sites

# the wrapper that routes clips and streams, for messages
VIDEO_WRAPPER = ("model=dict(type='VideoDetector', detector=dict(type="
                 "'RetinaNet', ...)) (or type='VideoFasterRCNN')")


class StreamingShiftMixin(TemporalShiftMixin):
    """The constructor of the streaming backbones for MMDetection.

    Takes the shift and stream options as keywords, passes the rest to the
    2D backbone, then shifts the modules that ``sites`` (module-path
    patterns, :func:`~tsm_mm.models.backbones.site_patterns.find_sites`)
    names, or the class's :attr:`default_sites`. The options are documented
    by each backbone.
    """

    #: the sites of a preset, used when ``sites`` is not given
    default_sites: Optional[Patterns] = None

    def __init__(self,
                 *args,
                 num_segments: int = 8,
                 is_shift: bool = True,
                 shift_div: int = 8,
                 direction: str = 'causal',
                 max_streams: int = 16,
                 max_idle_steps: int = 256,
                 routed: bool = False,
                 sites: Optional[Patterns] = None,
                 **kwargs) -> None:
        if sites is None and self.default_sites is None:
            raise TypeError(f'{type(self).__name__}: name its shift sites, '
                            "e.g. sites='stage*.*.blocks.*.conv1'")
        patterns = as_patterns(self.default_sites if sites is None
                               else sites)
        super().__init__(*args, **kwargs)
        self.site_patterns, self.sites_given = patterns, sites is not None
        self._init_shift(num_segments, shift_div, direction, max_streams,
                         max_idle_steps)
        self.is_shift = is_shift
        if is_shift:
            self._add_shift_sites([(module, self.num_segments)
                                   for module in self._shift_sites()])
        if self.num_shift_sites and not routed:
            self.unrouted_error = self._unrouted_message()
            print_log(self.unrouted_error, 'current', level=logging.WARNING)

    def _shift_sites(self) -> List[nn.Module]:
        """The modules whose input is shifted: those the patterns name, in
        blocks with an identity path."""
        return find_sites(self, self.site_patterns)

    def _unrouted_message(self) -> str:
        """Why a forward outside a video detector is refused."""
        return (
            f'{type(self).__name__} shifts along every num_segments='
            f'{self.num_segments} consecutive images of a batch: inside a '
            'detector that does not route clips and streams (e.g. '
            "MMDetection's FasterRCNN or RetinaNet) the unrelated images of "
            'a batch will be mixed, and a test batch of one image cannot '
            f'run. Wrap the detector: {VIDEO_WRAPPER}; if you feed it whole '
            'clips yourself, build the backbone with routed=True')
