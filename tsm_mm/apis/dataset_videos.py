"""The videos of a config's dataloader, frame infos in frame order, and
their frames read from disk: what the tools stream through a model."""
from typing import List

import cv2
import numpy as np
from mmdet.registry import DATASETS
from mmengine.config import Config

from .model_init import config_scope


def dataloader_videos(cfg: Config, dataloader: str = 'test_dataloader'
                      ) -> List[List[dict]]:
    """The frames of each video of a dataloader's dataset.

    Args:
        cfg (Config): A video detector config.
        dataloader (str): Which dataloader's dataset, e.g.
            ``'train_dataloader'``; a ``ConcatDataset`` gives the videos of
            each of its video datasets in turn.

    Returns:
        list[list[dict]]: Per video, its frames' infos (``img_path``, ids,
        raw GT ``instances``) in frame order.
    """
    if dataloader not in cfg:
        raise KeyError(f'the config has no {dataloader}')
    with config_scope(cfg, 'mmdet'):
        dataset = DATASETS.build(cfg[dataloader].dataset)
    parts = getattr(dataset, 'datasets', [dataset])
    videos = []
    for part in parts:
        if not hasattr(part, 'num_videos'):
            raise TypeError(f'{dataloader}: {type(part).__name__} is not a '
                            'video dataset (it has no num_videos)')
        part.full_init()
        for index in range(part.num_videos):
            videos.append(sorted(part.get_data_info(index)['images'],
                                 key=lambda frame: frame['frame_id']))
    return videos


def read_frames(frames: List[dict]) -> List[np.ndarray]:
    """The BGR frames of one video, or an error naming the file."""
    images = []
    for frame in frames:
        image = cv2.imread(frame['img_path'])
        if image is None:
            raise FileNotFoundError(f"cannot read the frame "
                                    f"{frame['img_path']}")
        images.append(image)
    return images
