"""A config's test pipeline rewritten for one frame held in memory.

Each frame goes through the config's own test pipeline (its decoding step
replaced by the frame in memory), so a frame read by the streaming APIs
gives the model the same input as the dataset path.
"""
import copy
from typing import List, Optional, Sequence

from mmengine.config import Config
from mmengine.logging import print_log

# detection transforms that need files or annotations a frame lacks
_ANNOTATION_LOADERS = ('LoadAnnotations', 'LoadTrackAnnotations')
_MULTI_VIEW_CROPS = ('ThreeCrop', 'TenCrop')


def config_test_pipeline(cfg: Config) -> List[dict]:
    """The config's test pipeline (``test_dataloader``'s, else
    ``test_pipeline``)."""
    dataset = cfg.get('test_dataloader', {}).get('dataset', {})
    pipeline = dataset.get('pipeline', cfg.get('test_pipeline'))
    if not pipeline:
        raise ValueError('the config has no test_dataloader.dataset.pipeline'
                         ' nor test_pipeline')
    return copy.deepcopy(list(pipeline))


def config_test_resize(cfg: Config) -> Optional[dict]:
    """The ``Resize`` of the config's test pipeline as a deployed step's
    interface states it (``scale`` (w, h), ``keep_ratio``), or None."""
    pipeline = cfg.get('test_pipeline') or cfg.get(
        'test_dataloader', {}).get('dataset', {}).get('pipeline', [])
    for transform in pipeline:
        for step in transform.get('transforms', [transform]):
            if step.get('type') == 'Resize' and 'scale' in step:
                return dict(scale=list(step['scale']),
                            keep_ratio=bool(step.get('keep_ratio', False)))
    return None


def detection_frame_pipeline(pipeline: Sequence[dict]) -> List[dict]:
    """A detection test pipeline for frames in memory.

    ``LoadImageFromFile`` becomes ``LoadImageFromNDArray`` and annotation
    loaders go, in a per-frame pipeline (``LoadImageFromFile`` ...
    ``PackDetInputs``) and inside wrappers such as ``TransformBroadcaster``
    (a clip pipeline) alike.

    Args:
        pipeline (Sequence[dict]): The config's test pipeline.

    Returns:
        list[dict]: The new pipeline.
    """
    frame_pipeline = []
    for transform in copy.deepcopy(list(pipeline)):
        if transform['type'] in _ANNOTATION_LOADERS:
            continue
        if transform['type'] == 'LoadImageFromFile':
            transform['type'] = 'LoadImageFromNDArray'
        if 'transforms' in transform:
            transform['transforms'] = detection_frame_pipeline(
                transform['transforms'])
        frame_pipeline.append(transform)
    return frame_pipeline


def recognition_frame_pipeline(pipeline: Sequence[dict]) -> List[dict]:
    """A recognition test pipeline for one decoded frame.

    Keeps what follows the last decoding step (``RawFrameDecode``,
    ``DecordDecode``, ...): resizing, cropping, formatting and packing.
    Multi-view crops (``ThreeCrop``, ``TenCrop``) become a ``CenterCrop`` of
    the same size, as in MMAction2's val pipelines: a stream takes one view.

    Args:
        pipeline (Sequence[dict]): The config's test pipeline.

    Returns:
        list[dict]: The transforms after decoding.
    """
    types = [transform['type'] for transform in pipeline]
    decodes = [i for i, name in enumerate(types) if name.endswith('Decode')]
    if not decodes:
        raise ValueError(f'no decoding step (*Decode) in the test pipeline '
                         f'{types}')
    frame_pipeline = copy.deepcopy(list(pipeline)[decodes[-1] + 1:])
    for i, transform in enumerate(frame_pipeline):
        if transform['type'] in _MULTI_VIEW_CROPS:
            print_log(f'{transform["type"]} -> CenterCrop: one view per '
                      'frame', 'current')
            frame_pipeline[i] = dict(type='CenterCrop',
                                     crop_size=transform['crop_size'])
    return frame_pipeline
