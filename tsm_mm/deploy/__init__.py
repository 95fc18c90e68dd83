from ..ops.temporal_shift import concat_shift, concat_shift_step
from .detector_graph import (
    DetectorFeatureStep,
    DetectorGraphStep,
    export_detector_onnx,
)
from .exported_detector import ExportedDetector, preprocess_frame
from .onnx_stream import (
    BackboneClip,
    BackboneStreamStep,
    DetectorStreamStep,
    cache_shapes,
    dump_interface,
    export_clip_onnx,
    export_step_onnx,
    export_stream_onnx,
)
from .recognizer_step import RecognizerStreamStep, export_recognizer_onnx
from .runtimes import OpenVINOStream, OrtStream

__all__ = [
    'BackboneClip', 'BackboneStreamStep', 'DetectorStreamStep',
    'DetectorFeatureStep', 'DetectorGraphStep', 'RecognizerStreamStep',
    'ExportedDetector',
    'OrtStream', 'OpenVINOStream', 'cache_shapes', 'dump_interface',
    'export_clip_onnx', 'export_step_onnx', 'export_stream_onnx',
    'export_detector_onnx', 'export_recognizer_onnx', 'preprocess_frame',
    'concat_shift', 'concat_shift_step'
]
