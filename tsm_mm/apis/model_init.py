"""Build a detector or recognizer for inference, on the libraries' own
``init_detector`` / ``init_recognizer``."""
import copy
import logging
import warnings
from typing import ContextManager, Optional, Union

from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import DATASETS, DefaultScope
from mmengine.runner import CheckpointLoader
from torch import nn

from ..engine import load_weights_strictly


def config_scope(cfg: Config, default: str) -> ContextManager:
    """A context in which the config's registries are the default."""
    return DefaultScope.overwrite_default_scope(
        cfg.get('default_scope', default))


def init_model(config: Union[str, Config],
               checkpoint: Optional[str] = None,
               device: str = 'cpu',
               default_scope: str = 'mmdet') -> nn.Module:
    """Build the model of a config, with weights or at random, for eval.

    The model comes from ``mmdet.apis.init_detector`` (``'mmdet'`` scope;
    SyncBN reverted) or ``mmaction.apis.init_recognizer``, inside the
    config's scope (the process-wide default scope is left as it was). The
    checkpoint is then loaded strictly (theirs load leniently); without
    one the model gets its own ``init_weights`` (pretrained backbones are
    skipped: nothing is downloaded). ``model.cfg`` keeps the config and
    ``model.dataset_meta`` the classes, from the checkpoint's meta, else
    from the config's test dataset (not COCO's).

    Args:
        config (str | Config): Config file or object.
        checkpoint (str, optional): Weights to load, strictly (a file or
            any scheme MMEngine knows, e.g. ``https://``; weights only).
        device (str): Where the model runs.
        default_scope (str): ``'mmdet'`` or ``'mmaction'``, when the config
            names no scope.

    Returns:
        nn.Module: The model, in eval mode, on ``device``.
    """
    cfg = Config.fromfile(config) if isinstance(config, str) else \
        copy.deepcopy(config)
    backbone = cfg.model.get('backbone', {})
    for key in ('init_cfg', 'pretrained'):
        if backbone.get(key) is not None:
            backbone[key] = None
    scope = cfg.get('default_scope', default_scope)
    with config_scope(cfg, default_scope):
        # init_detector resets the warning filters: catch its COCO notice
        with warnings.catch_warnings(record=True) as caught:
            if scope == 'mmaction':
                from mmaction.apis import init_recognizer
                model = init_recognizer(cfg, None, device='cpu')
            else:
                from mmdet.apis import init_detector
                model = init_detector(cfg, None, palette='random',
                                      device='cpu')
        for notice in caught:
            if 'COCO classes' not in str(notice.message):
                warnings.warn_explicit(notice.message, notice.category,
                                       notice.filename, notice.lineno)
        meta = {}
        if checkpoint is None:
            _quiet_init_weights(model)
        else:
            loaded = CheckpointLoader.load_checkpoint(
                checkpoint, map_location='cpu', logger='current')
            load_weights_strictly(model, loaded, checkpoint)
            meta = loaded.get('meta', {})
        model.dataset_meta = meta.get('dataset_meta') or config_meta(cfg)
    model.cfg = cfg
    return model.to(device).eval()


def _quiet_init_weights(model: nn.Module) -> None:
    """``init_weights`` without its report line per parameter."""
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)


def config_meta(cfg: Config) -> dict:
    """The test dataset's metainfo: the config's, else its class's."""
    dataset = cfg.get('test_dataloader', {}).get('dataset', {})
    if dataset.get('metainfo'):
        return dict(dataset.metainfo)
    if not dataset.get('type'):  # a config with no test dataset
        return {}
    with DATASETS.switch_scope_and_registry(None) as registry:
        dataset_cls = registry.get(dataset.type)
    return dict(getattr(dataset_cls, 'METAINFO', {}))
