from ..ops.temporal_shift import concat_shift, concat_shift_step
from .onnx_stream import (
    BackboneClip,
    BackboneStreamStep,
    DetectorStreamStep,
    cache_shapes,
    dump_interface,
    export_clip_onnx,
    export_stream_onnx,
)

__all__ = [
    'BackboneClip', 'BackboneStreamStep', 'DetectorStreamStep',
    'cache_shapes', 'dump_interface', 'export_clip_onnx',
    'export_stream_onnx', 'concat_shift', 'concat_shift_step'
]
