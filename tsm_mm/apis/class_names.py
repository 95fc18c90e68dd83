"""The class names of a recognizer, from wherever they were kept."""
import os.path as osp
from typing import List, Optional, Sequence, Union

from mmengine.config import Config
from torch import nn


def read_class_names(path: str) -> List[str]:
    """Class names from a text file, one per line (blank lines skipped)."""
    try:
        with open(path) as f:
            return [line.strip() for line in f if line.strip()]
    except OSError as err:
        raise FileNotFoundError(f'cannot read the class names {path}: '
                                f'{err}') from err


def config_label_map(cfg: Config) -> Optional[str]:
    """The label map file a config names (``label_map`` of the test
    dataset or of the config itself), if any."""
    dataset = cfg.get('test_dataloader', {}).get('dataset', {})
    path = dataset.get('label_map') or cfg.get('label_map')
    return path if isinstance(path, str) else None


def recognition_class_names(
        model: nn.Module,
        classes: Union[str, Sequence[str], None] = None) -> List[str]:
    """The name of each class the model scores, in label order.

    In order of precedence: ``classes`` as given (a list or a file, one
    name a line); the model's ``dataset_meta['classes']`` (the
    checkpoint's meta, else the config's ``metainfo``, see
    :func:`~tsm_mm.apis.init_model`); the config's ``label_map`` file;
    else the label indices as strings.

    Args:
        model (nn.Module): From :func:`~tsm_mm.apis.init_model`.
        classes (str | Sequence[str], optional): Names given by the user.

    Returns:
        list[str]: As many names as the head has classes.

    Raises:
        ValueError: A source has another number of names than the head.
    """
    num_classes = model.cls_head.fc_cls.out_features
    label_map = config_label_map(model.cfg)
    if isinstance(classes, str):
        names, source = read_class_names(classes), classes
    elif classes is not None:
        names, source = list(classes), 'the given classes'
    elif (getattr(model, 'dataset_meta', None) or {}).get('classes'):
        names, source = list(model.dataset_meta['classes']), 'dataset_meta'
    elif label_map is not None and osp.isfile(label_map):
        names, source = read_class_names(label_map), label_map
    else:
        return [str(label) for label in range(num_classes)]
    if len(names) != num_classes:
        raise ValueError(f'{len(names)} class names ({source}) for a model '
                         f'of {num_classes} classes')
    return names
