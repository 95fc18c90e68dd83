from ..ops.temporal_shift import concat_shift, concat_shift_step
from .detector_graph import (
    DetectorFeatureStep,
    DetectorGraphStep,
    detector_interface,
    export_detector_onnx,
)
from .exported_detector import (
    ExportedDetector,
    RuntimeDetector,
    preprocess_frame,
    resized_size,
)
from .onnx_stream import (
    BackboneClip,
    BackboneStreamStep,
    DetectorStreamStep,
    cache_shapes,
    dump_interface,
    export_clip_onnx,
    export_step_onnx,
    export_stream_onnx,
    step_interface,
)
from .recognizer_step import RecognizerStreamStep, export_recognizer_onnx
from .runtimes import OpenVINOStream, OrtStream, StreamRuntime
from .torch_stream import TorchDetector, TorchStream

__all__ = [
    'BackboneClip', 'BackboneStreamStep', 'DetectorStreamStep',
    'DetectorFeatureStep', 'DetectorGraphStep', 'RecognizerStreamStep',
    'ExportedDetector', 'RuntimeDetector', 'TorchDetector',
    'StreamRuntime', 'OrtStream', 'OpenVINOStream', 'TorchStream',
    'cache_shapes', 'dump_interface',
    'export_clip_onnx', 'export_step_onnx', 'export_stream_onnx',
    'export_detector_onnx', 'export_recognizer_onnx', 'preprocess_frame',
    'detector_interface', 'step_interface', 'resized_size',
    'concat_shift', 'concat_shift_step'
]
