"""Recognition configs build and run through MMAction2, via custom_imports."""
import glob
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
CONFIGS = sorted(glob.glob(f'{ROOT}/configs/recognition/*.py'))

BUILD_AND_FORWARD = r'''
import json, sys
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
assert 'tsm_mm' not in sys.modules
report = {}
for path in sys.argv[1:]:
    cfg = Config.fromfile(path)  # runs custom_imports=['tsm_mm']
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    from mmaction.registry import MODELS
    # no download; tests/configs/test_config_init.py loads ImageNet files
    cfg.model.backbone.pretrained = None
    model = MODELS.build(cfg.model).eval()
    from mmaction.structures import ActionDataSample
    data = dict(inputs=[torch.randint(0, 255, (8, 3, 64, 64),
                                      dtype=torch.uint8)],
                data_samples=[ActionDataSample().set_gt_label(0)])
    with torch.no_grad():
        scores = model.test_step(data)[0].pred_score[None]
    report[path] = dict(backbone=type(model.backbone).__name__,
                        direction=model.backbone.direction,
                        scores=list(scores.shape),
                        finite=bool(torch.isfinite(scores).all()))
print(json.dumps(report))
'''


def test_all_configs_present():
    names = {p.split('/')[-1] for p in CONFIGS}
    assert {'tsm_r50_1x1x8_50e_kinetics400.py',
            'tsm_r50_1x1x8_50e_sthv2.py',
            'tsm_r50_1x1x8_online_kinetics400.py',
            'tsm_r50_1x1x8_ucf101_split1_ft_kinetics400.py'} <= names


def test_configs_build_in_fresh_process():
    assert CONFIGS
    out = subprocess.run([sys.executable, '-c', BUILD_AND_FORWARD, *CONFIGS],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    classes = {'kinetics400': 400, 'sthv2': 174, 'ucf101': 101}
    for path, got in report.items():
        assert got['backbone'] == 'TSMResNet'
        assert got['finite']
        dataset = 'ucf101' if 'ucf101' in path else path.split('_')[-1][:-3]
        num = classes[dataset]
        assert got['scores'] == [1, num], path
        assert got['direction'] == ('causal' if 'online' in path else
                                    'bidirectional')
