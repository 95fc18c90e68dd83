"""tools/get_flops.py on the toy detection configs: a TSM detector costs
its 2D twin's FLOPs and parameters per frame (mmdet's get_flops.py raised
AttributeError: 'TrackDataSample' object has no attribute 'ori_shape')."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.analysis import FlopAnalyzer
from mmengine.config import Config
from mmengine.registry import DefaultScope
from tool_loader import REPO, load_tool

TOOL = osp.join(REPO, 'tools', 'get_flops.py')
TOY = osp.join(REPO, 'configs', 'toy')


def plain_backbone_flops(config, shape):
    """FLOPs of the config's own 2D backbone on one frame, counted by
    MMEngine's FlopAnalyzer directly."""
    cfg = Config.fromfile(config).model.backbone
    with DefaultScope.overwrite_default_scope('mmdet'):
        backbone = MODELS.build(cfg)
    backbone.eval()  # mmdet's ResNet.train() returns None
    analyzer = FlopAnalyzer(backbone, (torch.randn(1, 3, *shape), ))
    analyzer.unsupported_ops_warnings(False)
    with torch.no_grad():
        return analyzer.total()


def compare(family, tmp_path, fresh_interpreter):
    """``--compare`` of the family's toy 2D and TSM configs: (the JSON it
    wrote, its stdout), run as a user runs it or in this process."""
    argv = ['--compare', osp.join(TOY, f'vid_{family}_2d_toy.py'),
            osp.join(TOY, f'vid_{family}_tsm_toy.py'), '--out',
            str(tmp_path / 'flops.json')]
    if fresh_interpreter:
        result = subprocess.run(
            [sys.executable, TOOL, *argv], cwd=tmp_path, capture_output=True,
            text=True, timeout=300, env=dict(os.environ, OMP_NUM_THREADS='1'))
        assert result.returncode == 0, result.stderr[-3000:]
        stdout = result.stdout
    else:  # saves an interpreter's start
        load_tool('get_flops').main(argv)
        stdout = None
    with open(tmp_path / 'flops.json') as f:
        return json.load(f), stdout


@pytest.mark.parametrize('family, fresh_interpreter',
                         [('faster_rcnn', True), ('rtmdet', False)])
def test_2d_and_tsm_count_the_same_per_frame(family, fresh_interpreter,
                                             tmp_path):
    report, stdout = compare(family, tmp_path, fresh_interpreter)
    stream_2d, stream_tsm, clip_tsm = report['rows']
    assert [row['mode'] for row in report['rows']] == [
        'stream step', 'stream step', 'clip / T (T=8)']
    assert stream_2d['input'] == [96, 128]  # the toy's test scale
    for key in ('flops', 'backbone_flops', 'params', 'backbone_params'):
        assert stream_2d[key] > 0
        assert stream_tsm[key] == clip_tsm[key] == stream_2d[key], key
        assert report['ratio'][key] == 1.0
    # the backbone's share: an independent count of the plain 2D backbone
    assert stream_tsm['backbone_flops'] == plain_backbone_flops(
        osp.join(TOY, f'vid_{family}_2d_toy.py'), (96, 128))
    if stdout is not None:
        names = f'vid_{family}_tsm_toy.py / vid_{family}_2d_toy.py'
        assert f'{names} per frame: flops 1.0000' in stdout
        assert f'{stream_tsm["flops"] / 1e9:.4f}' in stdout
        assert 'RoI heads on 100 proposals per frame' in stdout


@pytest.mark.parametrize('argv, message', [
    (['nowhere.py'], 'config nowhere.py not found'),
    ([osp.join(TOY, 'tsm_r18_toy_actions.py')],
     "MMAction2's tools/analysis_tools/get_flops.py"),
    ([osp.join(TOY, 'vid_rtmdet_2d_toy.py'), '--out', 'flops.txt'],
     '--out must be a .json file'),
    ([osp.join(TOY, 'vid_rtmdet_2d_toy.py'), '--compare', 'a.py', 'b.py'],
     'not both'),
])
def test_refusals_name_the_argument(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_tool('get_flops').main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
