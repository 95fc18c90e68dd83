"""Every tool that loads a checkpoint refuses a crafted one, naming it,
without running it: a local file, or a download in torch's hub cache."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from malicious_checkpoints import write
from mmengine.runner.checkpoint import get_external_models
from tiny_mmengine import REPO, load_tool, tiny_config

from tsm_mm.engine import CheckpointLoadError, load_checkpoint_file

ACTIONS = osp.join(REPO, 'configs/toy/tsm_r18_toy_actions.py')
TOY_TSM = osp.join(REPO, 'configs/toy/vid_faster_rcnn_tsm_toy.py')
URL = 'https://example.invalid/models/evil.pth'
# the R-50 configs' route: the ImageNet weights of the backbone's init_cfg
PRETRAINED = ['model.init_cfg.type=Pretrained',
              'model.init_cfg.checkpoint=torchvision://resnet18']


def run_tool(name, *args):
    argv = sys.argv
    sys.argv = [f'{name}.py', *map(str, args)]
    try:
        load_tool(name).main()
    finally:
        sys.argv = argv


@pytest.fixture
def evil(tmp_path):
    path = tmp_path / 'evil.pth'
    marker = write(path, 'eval_via_getattr', 'meta')
    yield path
    assert not osp.exists(marker), 'the payload ran'


@pytest.fixture
def tiny_cfg(tmp_path):
    config = tmp_path / 'tiny_tools.py'
    config.write_text(tiny_config(str(tmp_path / 'work')))
    return config


@pytest.mark.parametrize('layout', ['mmdet', 'mmaction', 'official'])
def test_convert_checkpoint(layout, evil, tmp_path):
    with pytest.raises(CheckpointLoadError, match=f'refused to load {evil}'):
        run_tool('model_converters/convert_checkpoint', layout, evil,
                 tmp_path / 'out.pth')
    assert not (tmp_path / 'out.pth').exists()


@pytest.mark.parametrize('how', ['resume', 'load_from', 'auto'])
def test_train(how, evil, tiny_cfg, tmp_path):
    args = dict(resume=['--resume', evil],
                load_from=['--cfg-options', f'load_from={evil}'],
                auto=['--resume'])[how]
    if how == 'auto':  # last_checkpoint names it
        (tmp_path / 'work').mkdir()
        (tmp_path / 'work' / 'last_checkpoint').write_text(str(evil))
    with pytest.raises(CheckpointLoadError, match=f'refused to load {evil}'):
        run_tool('train', tiny_cfg, *args)


def test_test(evil, tiny_cfg):
    with pytest.raises(CheckpointLoadError, match=f'refused to load {evil}'):
        run_tool('test', tiny_cfg, evil)


def test_export_onnx(evil, tmp_path):
    with pytest.raises(CheckpointLoadError, match=f'refused to load {evil}'):
        run_tool('export_onnx', ACTIONS, evil, '--out', tmp_path / 'm.onnx',
                 '--shape', 32, 32)


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """A temporary TORCH_HOME; ``hub(name)`` puts a crafted file where
    ``torch.hub`` caches the download of ``.../name``."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    cache = tmp_path / 'torch' / 'hub' / 'checkpoints'
    cache.mkdir(parents=True)
    markers = []

    def place(name='evil.pth'):
        markers.append(write(cache / name, 'eval_via_getattr', 'meta'))
        return cache / name

    yield place
    assert not [m for m in markers if osp.exists(m)], 'the payload ran'


@pytest.mark.parametrize('how', ['load_from', 'init_cfg'])
def test_train_remote(how, hub, tiny_cfg):
    if how == 'load_from':
        cached, args = hub(), [f'load_from={URL}']
    else:
        cached, args = hub('resnet18-f37072fd.pth'), PRETRAINED
    with pytest.raises(CheckpointLoadError, match=f'refused to load {cached}'):
        run_tool('train', tiny_cfg, '--cfg-options', *args)


def test_test_remote(hub, tiny_cfg):
    cached = hub()
    with pytest.raises(CheckpointLoadError,
                       match=f'{URL}: refused to load {cached}'):
        run_tool('test', tiny_cfg, URL)


def test_export_onnx_remote(hub, tmp_path):
    cached = hub()
    with pytest.raises(CheckpointLoadError, match=f'refused to load {cached}'):
        run_tool('export_onnx', ACTIONS, URL, '--out', tmp_path / 'm.onnx',
                 '--shape', 32, 32)
    assert not (tmp_path / 'm.onnx').exists()


def test_demo_video_remote(hub, tmp_path):
    import cv2
    import numpy as np
    frames = tmp_path / 'frames'
    frames.mkdir()
    cv2.imwrite(str(frames / '0.jpg'), np.zeros((24, 32, 3), np.uint8))
    name = 'open-mmlab://resnet50_v1c'
    cached = hub(get_external_models()['resnet50_v1c'].rsplit('/', 1)[1])
    with pytest.raises(CheckpointLoadError,
                       match=f'{name}: refused to load {cached}'):
        run_tool('demo_video', TOY_TSM, name, frames, '--out',
                 tmp_path / 'out.mp4')
    assert not (tmp_path / 'out.mp4').exists()


def test_train_pretrained_init_in_a_fresh_interpreter(tmp_path):
    """tools/train.py as a user starts it, TORCH_HOME in its environment."""
    cache = tmp_path / 'torch' / 'hub' / 'checkpoints'
    cache.mkdir(parents=True)
    cached = cache / 'resnet18-f37072fd.pth'
    marker = write(cached, 'os_system_via_getattr', 'top')
    config = tmp_path / 'tiny_fresh.py'
    config.write_text(tiny_config(str(tmp_path / 'work')))
    env = dict(os.environ, TORCH_HOME=str(tmp_path / 'torch'),
               OMP_NUM_THREADS='1', PYTHONPATH=os.pathsep.join(
                   [osp.dirname(osp.abspath(__file__)), REPO]))
    run = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'train.py'), str(config),
         '--cfg-options', *PRETRAINED], env=env, capture_output=True,
        text=True, timeout=300)
    assert run.returncode != 0
    assert f'refused to load {cached}' in run.stderr, run.stderr[-2000:]
    assert not osp.exists(marker), 'the payload ran'


def test_resume_does_not_run_the_config_text(tmp_path, capsys):
    """A checkpoint of plain strings and tensors (weights-only clean) whose
    ``meta['config']`` is Python: MMEngine's ``Runner.resume`` would run it
    (``Config.fromstring``); --resume resumes without it."""
    config = tmp_path / 'tiny_meta.py'
    config.write_text(tiny_config(str(tmp_path / 'work'), max_iters=2))
    run_tool('train', config)
    checkpoint = load_checkpoint_file(str(tmp_path / 'work' / 'iter_2.pth'))
    marker = tmp_path / 'config_ran'
    checkpoint['meta']['config'] = \
        f'__import__("pathlib").Path({str(marker)!r}).touch()\n'
    evil = tmp_path / 'evil_config.pth'
    torch.save(checkpoint, str(evil))
    again = tmp_path / 'tiny_meta_again.py'
    again.write_text(config.read_text())
    run_tool('train', again, '--resume', evil)
    assert not marker.exists(), 'the config text ran'
    out = capsys.readouterr()
    assert f"{evil}: left out meta['config']" in out.out + out.err
