"""Datasets: ImageNet-VID on mmdet's video datasets, clip sampling."""
from .clip_sampling import clip_frame_indices
from .imagenet_vid import ImageNetVIDDataset
from .samplers import VideoInterleavedBatchSampler
from .vid_classes import SYNSET_TO_CLASS, VID_CLASSES, VID_SYNSETS

__all__ = [
    'ImageNetVIDDataset', 'VideoInterleavedBatchSampler', 'VID_CLASSES',
    'VID_SYNSETS', 'SYNSET_TO_CLASS', 'clip_frame_indices'
]
