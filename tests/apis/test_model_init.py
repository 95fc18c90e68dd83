"""init_model: the libraries' own init, strict weights, the scope kept."""
import os.path as osp

import pytest
import torch
from mmengine.registry import DefaultScope

from tsm_mm.apis import init_model
from tsm_mm.datasets.vid_classes import VID_CLASSES
from tsm_mm.engine import CheckpointLoadError

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOY_TSM = osp.join(REPO, 'configs/toy/vid_faster_rcnn_tsm_toy.py')
ONLINE = osp.join(REPO, 'configs/toy/tsm_online_r18_toy_actions.py')


def current_scope():
    scope = DefaultScope.get_current_instance()
    return None if scope is None else scope.scope_name


@pytest.mark.parametrize('config,scope,kind', [
    (TOY_TSM, 'mmdet', 'VideoFasterRCNN'),
    (ONLINE, 'mmaction', 'Recognizer2D'),
])
def test_builds_in_the_config_scope_and_leaves_the_default(config, scope,
                                                           kind):
    before = current_scope()
    model = init_model(config, default_scope=scope)
    assert current_scope() == before
    assert type(model).__name__ == kind
    assert not model.training
    assert model.cfg.model.type == kind


def test_classes_come_from_the_config_not_coco(recwarn):
    model = init_model(TOY_TSM)
    assert tuple(model.dataset_meta['classes']) == ('horse', 'tiger',
                                                    'zebra')
    assert not [w for w in recwarn if 'COCO' in str(w.message)]
    # a config without metainfo: the dataset class's own (ImageNet-VID)
    cfg = model.cfg
    cfg.test_dataloader.dataset.pop('metainfo')
    assert tuple(init_model(cfg).dataset_meta['classes']) == VID_CLASSES


def test_weights_load_strictly_with_their_classes(tmp_path):
    model = init_model(ONLINE, default_scope='mmaction')
    state = {k: v + 1 if v.is_floating_point() else v
             for k, v in model.state_dict().items()}
    meta = dict(dataset_meta=dict(classes=['a', 'b']))
    torch.save(dict(state_dict=state, meta=meta), tmp_path / 'full.pth')
    loaded = init_model(ONLINE, str(tmp_path / 'full.pth'),
                        default_scope='mmaction')
    torch.testing.assert_close(loaded.state_dict(), state)
    assert loaded.dataset_meta['classes'] == ['a', 'b']
    state.pop('cls_head.fc_cls.bias')
    torch.save(dict(state_dict=state), tmp_path / 'partial.pth')
    with pytest.raises(CheckpointLoadError,
                       match=f'{tmp_path / "partial.pth"} does not fit the '
                       'Recognizer2D: 1 of its weights are not in the '
                       'checkpoint: cls_head.fc_cls.bias'):
        init_model(ONLINE, str(tmp_path / 'partial.pth'),
                   default_scope='mmaction')


class Touch:
    """Pickles as ``open(path, 'w')``: creates ``path`` when unpickled."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return open, (self.path, 'w')


def test_remote_checkpoint_loads_weights_only(tmp_path, monkeypatch):
    """A URL's download, cached by torch.hub, is refused, not run."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    cached = tmp_path / 'torch' / 'hub' / 'checkpoints' / 'evil.pth'
    cached.parent.mkdir(parents=True)
    marker = tmp_path / 'payload_ran'
    torch.save(dict(state_dict={}, meta=dict(cfg=Touch(str(marker)))),
               str(cached))
    url = 'https://example.invalid/models/evil.pth'
    with pytest.raises(CheckpointLoadError,
                       match=f'{url}: refused to load {cached}'):
        init_model(ONLINE, url, default_scope='mmaction')
    assert not marker.exists()
