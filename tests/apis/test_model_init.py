"""init_model: the libraries' own init, strict weights, the scope kept."""
import os.path as osp

import pytest
import torch
from mmengine.registry import DefaultScope

from tsm_mm.apis import init_model
from tsm_mm.datasets.vid_classes import VID_CLASSES

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
    with pytest.raises(RuntimeError, match='cls_head.fc_cls.bias'):
        init_model(ONLINE, str(tmp_path / 'partial.pth'),
                   default_scope='mmaction')
