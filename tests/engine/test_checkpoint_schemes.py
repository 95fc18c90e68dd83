"""Every checkpoint scheme MMEngine knows loads weights only: a crafted file
where a download would have left it (torch's hub cache, MMEngine's home, a
pavi or petrel client) is refused, naming it, without running; a plain one
still loads. Nothing touches the network."""
import io
import os.path as osp
import re
import sys
import types
from types import SimpleNamespace

import mmengine
import pytest
import torch
from malicious_checkpoints import write
from mmengine.fileio import io as mm_io
from mmengine.runner import load_checkpoint
from mmengine.runner.checkpoint import (
    CheckpointLoader,
    get_external_models,
    get_mmcls_models,
)

from tsm_mm.engine import CheckpointLoadError


def _basename(url: str) -> str:
    return url.rsplit('/', 1)[-1]


def _torchvision_file(name: str) -> str:
    urls = mmengine.load(osp.join(mmengine.__path__[0], 'hub',
                                  'torchvision_0.12.json'))
    return _basename(urls[name])


# scheme name -> the file MMEngine's loader would download it to
URL_SCHEMES = {
    'http://example.invalid/models/evil_http.pth': 'evil_http.pth',
    'https://example.invalid/models/evil_https.pth': 'evil_https.pth',
    'torchvision://resnet18': _torchvision_file('resnet18'),
    'modelzoo://resnet34': _torchvision_file('resnet34'),
    'open-mmlab://resnet50_v1c':
        _basename(get_external_models()['resnet50_v1c']),
    'openmmlab://resnet101_v1c':
        _basename(get_external_models()['resnet101_v1c']),
    'mmcls://resnet50': _basename(get_mmcls_models()['resnet50']),
}


@pytest.fixture
def homes(tmp_path, monkeypatch):
    """Empty TORCH_HOME and MMENGINE_HOME; returns the hub's folder."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    monkeypatch.setenv('MMENGINE_HOME', str(tmp_path / 'mmengine'))
    cache = tmp_path / 'torch' / 'hub' / 'checkpoints'
    cache.mkdir(parents=True)
    (tmp_path / 'mmengine').mkdir()
    return cache


def plain_checkpoint(path) -> None:
    torch.save(dict(state_dict={'backbone.weight': torch.ones(1, 1),
                                'backbone.bias': torch.zeros(1)}),
               path if isinstance(path, io.BytesIO) else str(path))


def refuses(name: str, path, marker: str) -> None:
    """Loading ``name`` refuses the crafted ``path`` and names it."""
    with pytest.raises(CheckpointLoadError,
                       match=f'refused to load {re.escape(str(path))}'):
        load_checkpoint(torch.nn.Linear(1, 1), name)
    assert not osp.exists(marker), 'the payload ran'


@pytest.mark.parametrize('name', list(URL_SCHEMES))
def test_url_schemes_load_weights_only(name, homes):
    cached = homes / URL_SCHEMES[name]
    plain_checkpoint(cached)
    loaded = CheckpointLoader.load_checkpoint(name, map_location='cpu')
    key = 'weight' if name.startswith('mmcls') else 'backbone.weight'
    assert torch.equal(loaded['state_dict'][key], torch.ones(1, 1))
    refuses(name, cached, write(cached, 'eval_via_getattr', 'meta'))


def test_open_mmlab_local_entry(homes):
    """An ``open_mmlab.json`` of MMEngine's home may name a local file."""
    home = homes.parents[2] / 'mmengine'
    (home / 'open_mmlab.json').write_text('{"mine": "weights/mine.pth"}')
    (home / 'weights').mkdir()
    path = home / 'weights' / 'mine.pth'
    refuses('open-mmlab://mine', path,
            write(path, 'os_system_via_getattr', 'top'))


def test_pavi(homes, tmp_path, monkeypatch):
    evil = tmp_path / 'evil_pavi.pth'
    marker = write(evil, 'eval_via_allowed_class', 'optimizer')

    class Model:
        name = 'evil_pavi.pth'

        def download(self, to):
            with open(to, 'wb') as f:
                f.write(evil.read_bytes())

    pavi = types.ModuleType('pavi')
    pavi.modelcloud = SimpleNamespace(get=lambda path: Model())
    monkeypatch.setitem(sys.modules, 'pavi', pavi)
    with pytest.raises(CheckpointLoadError,
                       match='pavi://models/evil.*refused to load'):
        load_checkpoint(torch.nn.Linear(1, 1), 'pavi://models/evil')
    assert not osp.exists(marker), 'the payload ran'


@pytest.mark.parametrize('name', ['s3://bucket/evil.pth',
                                  'open-mmlab:s3://bucket/evil.pth',
                                  'petrel://bucket/evil.pth'])
def test_petrel(name, homes, tmp_path, monkeypatch):
    evil = tmp_path / 'evil_s3.pth'
    marker = write(evil, 'eval_via_getattr', 'top')
    plain = io.BytesIO()
    plain_checkpoint(plain)

    class Client:
        def __init__(self, **kwargs):
            pass

        def Get(self, path):  # noqa: N802 (petrel_client's name)
            return plain.getvalue() if 'plain' in path else evil.read_bytes()

    client = types.ModuleType('petrel_client.client')
    client.Client = Client
    package = types.ModuleType('petrel_client')
    package.client = client
    monkeypatch.setitem(sys.modules, 'petrel_client', package)
    monkeypatch.setitem(sys.modules, 'petrel_client.client', client)
    monkeypatch.setattr(mm_io, 'backend_instances', {})
    loaded = CheckpointLoader.load_checkpoint(name.replace('evil', 'plain'))
    assert torch.equal(loaded['state_dict']['backbone.weight'],
                       torch.ones(1, 1))
    with pytest.raises(CheckpointLoadError,
                       match=f'refused to load {re.escape(name)}'):
        load_checkpoint(torch.nn.Linear(1, 1), name)
    assert not osp.exists(marker), 'the payload ran'


def test_every_registered_scheme_is_covered():
    """No scheme keeps MMEngine's own loader (weights_only=False)."""
    for prefix, loader in CheckpointLoader._schemes.items():
        assert getattr(loader, 'weights_only', False), prefix
