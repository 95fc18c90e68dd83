"""Every config under configs/ saves through AtomicCheckpointHook."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import HOOKS
from tiny_mmengine import REPO

from tsm_mm.engine import AtomicCheckpointHook

CONFIGS = sorted(p for p in glob.glob(osp.join(REPO, 'configs/**/*.py'),
                                      recursive=True) if '_base_' not in p)


@pytest.mark.parametrize('path', CONFIGS,
                         ids=[osp.relpath(p, REPO) for p in CONFIGS])
def test_config_uses_atomic_hook(path):
    hook = Config.fromfile(path).default_hooks.checkpoint
    assert hook.type == 'AtomicCheckpointHook'
    assert HOOKS.get(hook.type) is AtomicCheckpointHook
