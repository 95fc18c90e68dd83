"""Every tool starts in a fresh interpreter, as a user runs it.

In-process tests import ``tsm_mm`` first (conftest), which hides a tool
that imports MMAction2's models before the stack's work-arounds ran.
"""
import glob
import os
import os.path as osp
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import torch
from tool_loader import REPO

TOOLS = sorted(osp.relpath(path, REPO) for path in
               glob.glob(osp.join(REPO, 'tools', '**', '*.py'),
                         recursive=True))
ENV = dict(os.environ, OMP_NUM_THREADS='1')


def run(*args, cwd=REPO):
    return subprocess.run([sys.executable, *map(str, args)], cwd=cwd,
                          env=ENV, capture_output=True, text=True,
                          timeout=300)


def test_every_tool_prints_its_help():
    assert 'tools/model_converters/convert_checkpoint.py' in TOOLS
    assert len(TOOLS) >= 15
    # one fresh interpreter per tool, one per core at a time
    with ThreadPoolExecutor(min(8, os.cpu_count() or 1)) as pool:
        results = list(pool.map(lambda tool: run(tool, '--help'), TOOLS))
    failed = {tool: result.stderr[-600:]
              for tool, result in zip(TOOLS, results)
              if result.returncode != 0 or 'usage:' not in result.stdout}
    assert not failed, failed


def test_convert_checkpoint_mmdet_on_a_2d_checkpoint(tmp_path):
    """The main path on a genuine MMDetection ResNet-18 checkpoint."""
    from mmdet.models.backbones import ResNet
    state_dict = {f'backbone.{k}': v
                  for k, v in ResNet(18).state_dict().items()}
    cfg = ("model = dict(type='FasterRCNN',\n"
           "             backbone=dict(type='ResNet', depth=18))\n")
    src, dst = tmp_path / 'r18_2d.pth', tmp_path / 'r18_tsm.pth'
    torch.save(dict(meta=dict(cfg=cfg), state_dict=state_dict), src)
    tool = osp.join(REPO, 'tools/model_converters/convert_checkpoint.py')
    result = run(tool, 'mmdet', src, dst, '--num-segments', '4',
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f'wrote {dst}: {len(state_dict)} tensors' in result.stdout
    converted = torch.load(dst, weights_only=True)
    assert "type='StreamingTSMResNet', depth=18, num_segments=4," in \
        converted['meta']['cfg']
    assert all(torch.equal(converted['state_dict'][k], v)
               for k, v in state_dict.items())
