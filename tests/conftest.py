"""Shared fixtures. tsm_mm is imported first: it patches the stack."""
import logging
import os.path as osp

import pytest
from mmdet.registry import DATASETS
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope

import tsm_mm  # noqa: F401
from tsm_mm.datasets.convert_vid import convert_imagenet_vid
from tsm_mm.testing import make_toy_vid

# 4 train and 2 val videos of 8 frames, 3 DET images (one with a 'person').
TOY_VID_ARGS = dict(train_videos=4, val_videos=2, frames=8, det_images=3,
                    seed=0)


@pytest.fixture(scope='session')
def toy_vid(tmp_path_factory):
    """``(root, stats)``: a tiny toy ImageNet-VID (ILSVRC2015 layout) and
    the counts :func:`make_toy_vid` reported. Read-only: copy to break."""
    root = tmp_path_factory.mktemp('toy_vid') / 'ILSVRC2015'
    stats = make_toy_vid(str(root), **TOY_VID_ARGS)
    return str(root), stats


@pytest.fixture(scope='session')
def toy_vid_root(toy_vid):
    """The ILSVRC2015 folder of the tiny toy ImageNet-VID."""
    return toy_vid[0]


@pytest.fixture(scope='session')
def toy_vid_ann_dir(toy_vid_root, tmp_path_factory):
    """A folder with ``imagenet_vid_{train,val}.json`` and
    ``imagenet_det_train.json`` converted from ``toy_vid_root``."""
    out = tmp_path_factory.mktemp('toy_vid_ann')
    convert_imagenet_vid(toy_vid_root, str(out))
    return str(out)


@pytest.fixture(scope='session')
def toy_vid_val_dataset(toy_vid_root, toy_vid_ann_dir):
    """The tiny toy's val videos through the toy TSM config's test dataset
    (pipeline included). Read-only."""
    config = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                      'configs', 'toy', 'vid_faster_rcnn_tsm_toy.py')
    dataset = Config.fromfile(config).test_dataloader.dataset
    dataset.update(data_root=toy_vid_root,
                   ann_file=f'{toy_vid_ann_dir}/imagenet_vid_val.json')
    with DefaultScope.overwrite_default_scope('mmdet'):
        return DATASETS.build(dataset)


class Records(logging.Handler):
    """The warnings logged through MMEngine's current logger."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def warnings_log():
    """The list of warning messages logged while the test runs."""
    logger = MMLogger.get_current_instance()
    handler = Records()
    logger.addHandler(handler)
    yield handler.messages
    logger.removeHandler(handler)
