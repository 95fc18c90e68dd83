from .streaming_tsm_resnet import StreamingTSMResNet
from .tsm_resnet import TSMResNet

__all__ = ['TSMResNet', 'StreamingTSMResNet']
