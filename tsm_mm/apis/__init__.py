from .class_names import recognition_class_names
from .comparison import (
    comparison_table,
    load_config,
    run_arm,
    set_data_root,
)
from .frame_drawing import draw_detections, draw_title
from .inferencers import (
    FrameResult,
    OnlineRecogInferencer,
    StreamingDetInferencer,
)
from .model_init import init_model
from .online_recognizer import OnlineRecognizer, frame_logits
from .streaming_detector import StreamingDetector
from .video_io import Mp4Writer, TruncatedVideoError, VideoFrames
from .video_stream import video_stream

__all__ = [
    'run_arm', 'load_config', 'set_data_root', 'comparison_table',
    'init_model', 'StreamingDetector', 'OnlineRecognizer',
    'frame_logits', 'VideoFrames', 'Mp4Writer',
    'TruncatedVideoError', 'StreamingDetInferencer',
    'OnlineRecogInferencer', 'FrameResult', 'draw_title', 'draw_detections',
    'recognition_class_names', 'video_stream'
]
