from .streaming_shift_mixin import StreamingShiftMixin
from .streaming_tsm import StreamingTSM
from .streaming_tsm_cspdarknet import StreamingTSMCSPDarknet
from .streaming_tsm_cspnext import StreamingTSMCSPNeXt
from .streaming_tsm_mobilenet_v2 import StreamingTSMMobileNetV2
from .streaming_tsm_resnet import StreamingTSMResNet
from .streaming_tsm_resnext import StreamingTSMResNeXt
from .tsm_mobilenet_v2 import TSMMobileNetV2
from .tsm_resnet import TSMResNet

__all__ = [
    'TSMResNet', 'StreamingTSMResNet', 'TSMMobileNetV2',
    'StreamingTSMMobileNetV2', 'StreamingTSMResNeXt', 'StreamingTSM',
    'StreamingTSMCSPNeXt', 'StreamingTSMCSPDarknet', 'StreamingShiftMixin'
]
