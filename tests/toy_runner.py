"""The project's toy configs as test-only Runner configs, for tests that
drive ``Runner.test()``."""
import os.path as osp
from typing import Union

from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TRAINING_KEYS = ('train_dataloader', 'train_cfg', 'optim_wrapper',
                 'param_scheduler', 'val_dataloader', 'val_cfg',
                 'val_evaluator')


def toy_test_config(config: str, data_root: str, ann_file: str,
                     work_dir: Union[str, 'osp.PathLike']) -> Config:
    """``config`` (relative to the repository) testing ``ann_file`` under
    ``data_root``, with nothing to train or validate and no checkpoint."""
    cfg = Config.fromfile(osp.join(REPO, config))
    cfg.test_dataloader.dataset.update(data_root=data_root,
                                       ann_file=ann_file)
    cfg.work_dir = str(work_dir)
    cfg.load_from = None
    for key in TRAINING_KEYS:
        cfg[key] = None
    return cfg
