"""Every config in configs/ builds its model and runs ``init_weights``.

The ImageNet checkpoints the configs name (``torchvision://resnet50``) are
replaced by local files in torchvision's ResNet layout with random values,
so nothing is downloaded, and each loaded tensor is compared with the file.
"""
import glob
import importlib
import os.path as osp
import re

import pytest
import torch
from mmdet.models.backbones import ResNet
from mmengine.config import Config
from mmengine.registry import init_default_scope

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# _base_ files are fragments (a model without a scope, a dataset alone)
CONFIGS = sorted(
    p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                         recursive=True)
    if '_base_' not in p.split(osp.sep))
REGISTRIES = {'mmdet': 'mmdet.registry', 'mmaction': 'mmaction.registry'}
# the ImageNet ResNets of torchvision, by scheme or by download URL
TORCHVISION_RESNET = re.compile(
    r'torchvision://resnet(\d+)|'
    r'https://download\.pytorch\.org/models/resnet(\d+)-[0-9a-f]+\.pth')
# mmpretrain's CSPNeXt ImageNet weights (RTMDet's backbones), by URL
CSPNEXT = re.compile(r'https://download\.openmmlab\.com/mmdetection/v3\.0/'
                     r'rtmdet/cspnext_rsb_pretrain/cspnext-\w+_imagenet_'
                     r'600e\.pth')
# torchvision ResNet key -> MMAction2 ResNet key (its ConvModules wrap each
# conv with its BN); written out here, independent of tsm_mm's converter
MMACTION_KEYS = ((r'^conv1\.', 'conv1.conv.'), (r'^bn1\.', 'conv1.bn.'),
                 (r'\.conv(\d)\.', r'.conv\1.conv.'),
                 (r'\.bn(\d)\.', r'.conv\1.bn.'),
                 (r'\.downsample\.0\.', '.downsample.conv.'),
                 (r'\.downsample\.1\.', '.downsample.bn.'))


def torchvision_resnet_state_dict(depth: int) -> dict:
    """A ResNet-``depth`` state dict in torchvision's layout (MMDetection's
    pytorch-style ResNet has its exact names and shapes, plus the 1000-way
    ``fc``), every tensor random so that a load is visible."""
    gen = torch.Generator().manual_seed(depth)
    state = dict(ResNet(depth).state_dict())
    state['fc.weight'] = torch.empty(1000, 512 * ResNet.arch_settings[
        depth][0].expansion)
    state['fc.bias'] = torch.empty(1000)
    for key, value in state.items():
        if key.endswith('num_batches_tracked'):
            state[key] = torch.randint(1, 1000, (), generator=gen)
        elif key.endswith('running_var'):
            state[key] = torch.rand(value.shape, generator=gen) + 0.5
        else:
            state[key] = torch.randn(value.shape, generator=gen)
    return state


@pytest.fixture(scope='session')
def resnet_file(tmp_path_factory):
    """``depth -> path`` of a saved :func:`torchvision_resnet_state_dict`,
    made once per depth."""
    made = {}

    def get(depth):
        if depth not in made:
            path = tmp_path_factory.mktemp('imagenet') / f'resnet{depth}.pth'
            torch.save(torchvision_resnet_state_dict(depth), path)
            made[depth] = str(path)
        return made[depth]

    return get


def cspnext_file(backbone_cfg, folder):
    """A stand-in for an mmpretrain CSPNeXt checkpoint: a CSPNeXt of the
    config's arguments, random values, keys under ``backbone.`` in a
    ``state_dict`` (the prefix the configs strip), saved in ``folder``."""
    from mmdet.models.backbones import CSPNeXt
    args = {k: v for k, v in backbone_cfg.items()
            if k not in ('type', 'init_cfg', 'num_segments', 'shift_div',
                         'direction')}
    args['norm_cfg'] = dict(type='BN')  # SyncBN's keys, built on a CPU
    gen = torch.Generator().manual_seed(0)
    state = {f'backbone.{k}': (torch.rand(v.shape, generator=gen) + 0.5
                               if v.is_floating_point() else v + 3)
             for k, v in CSPNeXt(**args).state_dict().items()}
    path = folder / f'cspnext_{len(state)}.pth'
    torch.save(dict(state_dict=state), path)
    return str(path)


def checkpoint_slots(cfg, path=()):
    """``(module path, holder dict, key, checkpoint)`` for each
    ``pretrained=...`` and ``init_cfg=dict(type='Pretrained', ...)`` under
    the model config ``cfg``."""
    for key, value in cfg.items():
        if key == 'pretrained' and isinstance(value, str):
            yield path, cfg, key, value
        elif key == 'init_cfg':
            for init in value if isinstance(value, list) else [value]:
                if isinstance(init, dict) and init.get('type') == 'Pretrained':
                    yield path, init, 'checkpoint', init['checkpoint']
        elif isinstance(value, dict):
            yield from checkpoint_slots(value, path + (key, ))


def to_module_keys(file_keys, module_keys):
    """Map torchvision keys to the module's names: the same names
    (MMDetection) or :data:`MMACTION_KEYS` (MMAction2)."""
    if set(file_keys) <= set(module_keys):
        return {k: k for k in file_keys}
    mapped = {}
    for key in file_keys:
        name = key
        for pattern, repl in MMACTION_KEYS:
            name = re.sub(pattern, repl, name)
        mapped[key] = name
    return mapped


def test_stand_in_has_torchvision_resnet_layout():
    # counted from torchvision's resnet.py: a conv per stem/block conv and
    # per downsample, each with a BN of 5 entries, and fc.weight/bias
    for depth, blocks, convs_per_block in ((18, 8, 2), (50, 16, 3),
                                           (101, 33, 3)):
        state = torchvision_resnet_state_dict(depth)
        convs = 1 + blocks * convs_per_block + (3 if depth == 18 else 4)
        assert len(state) == convs * 6 + 2, depth
    state = torchvision_resnet_state_dict(50)
    assert state['conv1.weight'].shape == (64, 3, 7, 7)
    assert state['layer1.0.downsample.0.weight'].shape == (256, 64, 1, 1)
    assert state['layer4.2.bn3.running_var'].shape == (2048, )
    assert state['fc.weight'].shape == (1000, 2048)


@pytest.mark.parametrize('config', CONFIGS,
                         ids=[osp.relpath(p, ROOT) for p in CONFIGS])
def test_config_builds_and_inits_weights(config, resnet_file, tmp_path):
    cfg = Config.fromfile(config)
    scope = cfg.get('default_scope')
    assert scope in REGISTRIES, f'{config}: default_scope {scope!r}'
    loaded = []
    for path, holder, key, checkpoint in checkpoint_slots(cfg.model):
        match = TORCHVISION_RESNET.fullmatch(checkpoint)
        if match:
            holder[key] = resnet_file(int(match.group(1) or match.group(2)))
        else:
            assert CSPNEXT.fullmatch(checkpoint), \
                f'{config}: no local stand-in for {checkpoint!r}'
            module_cfg = cfg.model
            for name in path:
                module_cfg = module_cfg[name]
            holder[key] = cspnext_file(module_cfg, tmp_path)
        loaded.append((path, holder[key]))
    init_default_scope(scope)
    models = importlib.import_module(REGISTRIES[scope]).MODELS
    model = models.build(cfg.model)
    model.init_weights()
    for path, checkpoint in loaded:
        module = model
        for name in path:
            module = getattr(module, name)
        file = torch.load(checkpoint, weights_only=True)
        if 'state_dict' in file:  # mmpretrain's, under the prefix
            file = {k[len('backbone.'):]: v
                    for k, v in file['state_dict'].items()}
        file = {k: v for k, v in file.items() if not k.startswith('fc.')}
        ours = module.state_dict()
        names = to_module_keys(file, ours)
        missing = sorted(k for k in names.values() if k not in ours)
        assert not missing, f'{config}: {".".join(path)} lacks {missing[:5]}'
        differ = [k for k, name in names.items()
                  if not torch.equal(ours[name], file[k])]
        assert not differ, f'{config}: {".".join(path)}: {differ[:5]} ' \
            f'of {len(differ)} tensors not loaded'


def test_torchvision_scheme_resolves_without_torchvision(resnet_file,
                                                         monkeypatch):
    """``torchvision://resnet50`` as the config says it: the URL comes from
    MMEngine's own list when torchvision cannot be imported (the download
    itself is replaced by the local stand-in: no network in tests)."""
    from mmengine.runner import checkpoint as mm_checkpoint
    urls = []

    def local_http(url, map_location=None, **kwargs):
        urls.append(url)
        return torch.load(resnet_file(50), weights_only=True)

    monkeypatch.setattr(mm_checkpoint, 'load_from_http', local_http)
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'vid_faster_rcnn_tsm.py'))
    assert cfg.model.backbone.init_cfg.checkpoint == 'torchvision://resnet50'
    init_default_scope('mmdet')
    model = importlib.import_module('mmdet.registry').MODELS.build(cfg.model)
    model.init_weights()
    assert urls == [
        'https://download.pytorch.org/models/resnet50-0676ba61.pth']
    file = torch.load(resnet_file(50), weights_only=True)
    assert torch.equal(model.backbone.layer4[2].conv3.weight,
                       file['layer4.2.conv3.weight'])
