"""Per-frame pipeline outputs packed as one clip item, as
``PackTrackInputs`` packs them.

A video detection config can test with an image pipeline (ending in
``PackDetInputs``), which MMDetection's ``inference_detector`` and
``DetInferencer`` run as it is; the video dataset and the streaming APIs
run it on each frame and pack the frames here.
"""
from typing import List, Sequence

import torch
from mmcv.transforms import TransformBroadcaster
from mmdet.models.utils import samplelist_boxtype2tensor
from mmdet.structures import DetDataSample, TrackDataSample
from mmengine.dataset import Compose


def is_clip_pipeline(pipeline: Compose) -> bool:
    """Whether a built pipeline takes clips (dicts of per-frame lists):
    it starts with ``TransformBroadcaster``, or it is empty."""
    transforms = getattr(pipeline, 'transforms', None) or []
    return not transforms or isinstance(transforms[0], TransformBroadcaster)


def clip_item(frames: Sequence[dict]) -> dict:
    """Frames from ``PackDetInputs`` as one item from ``PackTrackInputs``.

    Args:
        frames (Sequence[dict]): Each ``dict(inputs=(C, H, W) tensor,
            data_samples=DetDataSample)``, all of one size.

    Returns:
        dict: ``inputs`` (T, C, H, W) and ``data_samples`` a
        ``TrackDataSample`` whose ``video_data_samples`` are the frames'
        samples, ground-truth boxes as tensors and, when the metainfo has
        the raw ``instances``, their ``instances_ids`` (which
        ``PackDetInputs`` has no slot for).
    """
    # hand-written: mmdet packs clips from dicts of lists only
    samples: List[DetDataSample] = [frame['data_samples'] for frame in frames]
    shapes = {tuple(frame['inputs'].shape) for frame in frames}
    if len(shapes) > 1:
        paths = [s.metainfo.get('img_path') for s in samples]
        raise ValueError(f'frames of one clip differ in size {sorted(shapes)}'
                         f': {paths}')
    samplelist_boxtype2tensor(samples)  # as PackTrackInputs gives them
    for sample in samples:
        _add_instance_ids(sample)
    track = TrackDataSample()
    track.video_data_samples = samples
    return dict(inputs=torch.stack([frame['inputs'] for frame in frames]),
                data_samples=track)


def _add_instance_ids(sample: DetDataSample) -> None:
    """``instances_ids`` of the kept and ignored GT from the raw
    ``instances`` (``PackDetInputs`` splits them by ``ignore_flag``, in
    order), where their counts agree."""
    instances = sample.metainfo.get('instances')
    if not instances or not all('instance_id' in i for i in instances):
        return
    for field, ignored in (('gt_instances', False),
                           ('ignored_instances', True)):
        ids = [i['instance_id'] for i in instances
               if bool(i.get('ignore_flag', 0)) == ignored]
        data = sample.get(field)
        if data is not None and 'bboxes' in data and len(data) == len(ids):
            data.instances_ids = torch.tensor(ids, dtype=torch.int32)
