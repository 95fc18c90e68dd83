"""Every tool that loads a checkpoint refuses a crafted one, naming it,
without running it."""
import os.path as osp
import sys

import pytest
from malicious_checkpoints import write
from tiny_mmengine import REPO, load_tool, tiny_config

from tsm_mm.engine import CheckpointLoadError

ACTIONS = osp.join(REPO, 'configs/toy/tsm_r18_toy_actions.py')


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
