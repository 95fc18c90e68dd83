"""MMEngine checkpoints load with weights_only=True and exactly the
attributes they need; crafted ones are refused, naming the file."""
import os.path as osp
import pickle

import pytest
import torch
from malicious_checkpoints import PAYLOADS, write
from mmengine.config import Config
from mmengine.logging import HistoryBuffer
from mmengine.optim import OneCycleParamScheduler
from mmengine.runner import Runner, load_checkpoint
from tiny_mmengine import tiny_config

from tsm_mm.engine import (
    ALLOWED_ATTRIBUTES,
    CheckpointLoadError,
    load_checkpoint_file,
)
from tsm_mm.engine.checkpoint_loading import (
    allowed_getattr,
    checkpoint_globals,
)

PLACES = ['top', 'meta', 'optimizer']


@pytest.mark.parametrize('where', PLACES)
@pytest.mark.parametrize('payload', list(PAYLOADS))
def test_crafted_checkpoints_are_refused(payload, where, tmp_path):
    path = tmp_path / f'{payload}_{where}.pth'
    marker = write(path, payload, where)
    with pytest.raises(CheckpointLoadError,
                       match=f'refused to load {path}') as refused:
        load_checkpoint_file(str(path))
    # the global is named; turning the protection off is never advised
    assert 'GLOBAL' in str(refused.value) or 'getattr(' in str(refused.value)
    assert 'weights_only' not in str(refused.value)
    assert 'safe_globals' not in str(refused.value)
    # and through MMEngine's own loader (load_from, --resume, tools)
    with pytest.raises(CheckpointLoadError, match=str(path)):
        load_checkpoint(torch.nn.Linear(1, 1), str(path))
    assert not osp.exists(marker)


def test_allowed_getattr_is_exact():
    for owner, name in ALLOWED_ATTRIBUTES:
        assert allowed_getattr(owner, name) is getattr(owner, name)
    for obj, name in [(HistoryBuffer, '__init__'), (HistoryBuffer(), 'min'),
                      (type('Sub', (HistoryBuffer,), {}), 'min'),
                      (OneCycleParamScheduler, 'step'), (getattr, '__self__'),
                      (torch._utils._rebuild_tensor_v2, '__globals__')]:
        with pytest.raises(pickle.UnpicklingError, match='not among'):
            allowed_getattr(obj, name)


@pytest.mark.parametrize('scheduler', ['OneCycleLR', 'LinearLR_MultiStepLR'])
@pytest.mark.parametrize('by_epoch', [False, True])
def test_mmengine_checkpoints_resume(scheduler, by_epoch, tmp_path):
    """A resumed run ends with the weights of an uninterrupted one; the
    allow-list is gone afterwards."""
    def run(name, work, max_iters, resume=False):
        cfg = Config.fromstring(tiny_config(
            str(work), max_iters=max_iters, interval=2, scheduler=scheduler,
            by_epoch=by_epoch), '.py')
        cfg.resume = resume
        cfg.experiment_name = f'{name}_{scheduler}_{by_epoch}'
        Runner.from_cfg(cfg).train()

    run('full', tmp_path / 'full', 4)
    run('half', tmp_path / 'half', 4)  # iter/epoch 2 and 4 saved
    name = 'epoch' if by_epoch else 'iter'
    (tmp_path / 'half' / f'{name}_4.pth').unlink()
    (tmp_path / 'half' / 'last_checkpoint').write_text(
        str(tmp_path / 'half' / f'{name}_2.pth'))
    run('resumed', tmp_path / 'half', 4, resume=True)
    full = load_checkpoint_file(str(tmp_path / 'full' / f'{name}_4.pth'))
    resumed = load_checkpoint_file(str(tmp_path / 'half' / f'{name}_4.pth'))
    for key, value in full['state_dict'].items():
        assert torch.allclose(resumed['state_dict'][key], value, atol=1e-6)
    if scheduler == 'OneCycleLR':
        assert full['param_schedulers'][0]['anneal_func'] is \
            OneCycleParamScheduler._annealing_cos
    assert isinstance(full['message_hub']['log_scalars']['train/loss'],
                      HistoryBuffer)
    # nothing stays widened: plain torch refuses both files
    left = torch.serialization.get_safe_globals()
    assert not [g for g in checkpoint_globals() if g in left]
    marker = write(tmp_path / 'evil.pth', 'eval_via_getattr', 'top')
    for path in (tmp_path / 'evil.pth', tmp_path / 'full' / f'{name}_4.pth'):
        with pytest.raises(pickle.UnpicklingError):
            torch.load(str(path), weights_only=True)
    assert not osp.exists(marker)
