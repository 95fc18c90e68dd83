from .atomic_checkpoint_hook import AtomicCheckpointHook
from .checkpoint_fit_hook import CheckpointFitHook
from .video_visualization_hook import VideoDetVisualizationHook

__all__ = ['AtomicCheckpointHook', 'CheckpointFitHook',
           'VideoDetVisualizationHook']
