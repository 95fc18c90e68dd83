"""Recognition configs build and run through MMAction2, via custom_imports."""
import glob
import json
import os
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

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
    assert set(PAPER) <= names


def test_configs_build_in_fresh_process():
    assert CONFIGS
    out = subprocess.run([sys.executable, '-c', BUILD_AND_FORWARD, *CONFIGS],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    classes = {'kinetics400': 400, 'sthv2': 174, 'ucf101': 101,
               'hmdb51': 51}
    for path, got in report.items():
        assert got['backbone'] == 'TSMResNet'
        assert got['finite']
        name = os.path.basename(path)
        # the dataset trained on: the first one the name gives
        dataset = min((name.index(d), d) for d in classes if d in name)[1]
        num = classes[dataset]
        assert got['scores'] == [1, num], path
        assert got['direction'] == ('causal' if 'online' in path else
                                    'bidirectional')


# The paper's recipes (Lin et al., ICCV 2019, "Training"), as the official
# repo runs them (mit-han-lab/temporal-shift-module: README "Training",
# scripts/finetune_tsm_ucf101_rgb_8f.sh, main.py/opts.py defaults): epochs,
# lr x0.1 at these epochs, lr for the total batch, weight decay, dropout,
# BN frozen but the first (main.py without --npb).
KINETICS = dict(epochs=100, milestones=[40, 80], lr=0.01, wd=1e-4,
                batch=64, dropout=0.5, frozen_bn=False)
SOMETHING = dict(epochs=50, milestones=[20, 40], lr=0.01, wd=5e-4,
                 batch=64, dropout=0.5, frozen_bn=False)
FINE_TUNE = dict(epochs=25, milestones=[10, 20], lr=0.001, wd=5e-4,
                 batch=64, dropout=0.8, frozen_bn=True)
PAPER = {
    'tsm_r50_1x1x8_100e_kinetics400_paper.py': KINETICS,
    'tsm_r50_1x1x8_50e_sthv2_paper.py': SOMETHING,
    'tsm_r50_1x1x8_ucf101_split1_ft_kinetics400.py': FINE_TUNE,
    'tsm_r50_1x1x8_hmdb51_split1_ft_kinetics400.py': FINE_TUNE,
}
GPUS = 8  # the configs' total batch is 8 GPUs x train_dataloader.batch_size


def paper_config(name: str) -> Config:
    return Config.fromfile(os.path.join(ROOT, 'configs', 'recognition', name))


@pytest.mark.parametrize('name', list(PAPER))
def test_paper_recipe_numbers(name):
    paper, cfg = PAPER[name], paper_config(name)
    assert cfg.train_cfg.max_epochs == paper['epochs']
    # one step schedule, no warm-up: the official adjust_learning_rate
    assert cfg.param_scheduler == [
        dict(type='MultiStepLR', begin=0, end=paper['epochs'], by_epoch=True,
             milestones=paper['milestones'], gamma=0.1)
    ]
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.type, optimizer.momentum) == ('SGD', 0.9)
    assert optimizer.lr == pytest.approx(paper['lr'], rel=1e-12)
    assert optimizer.weight_decay == pytest.approx(paper['wd'], rel=1e-12)
    # main.py: --gd 20, the fc at 5x lr (and its bias at 10x)
    assert cfg.optim_wrapper.clip_grad == dict(max_norm=20, norm_type=2)
    assert cfg.optim_wrapper.constructor == 'TSMOptimWrapperConstructor'
    assert cfg.optim_wrapper.paramwise_cfg == dict(fc_lr5=True)
    assert cfg.train_dataloader.batch_size * GPUS == paper['batch']
    assert cfg.auto_scale_lr == dict(enable=False,
                                     base_batch_size=paper['batch'])
    assert cfg.model.cls_head.dropout_ratio == paper['dropout']
    assert cfg.model.backbone.get('partial_bn', False) == paper['frozen_bn']
    assert not cfg.model.backbone.get('norm_eval', False)
    flips = [t for t in cfg.train_dataloader.dataset.pipeline
             if t['type'] == 'Flip']
    # main.py flips every dataset but Something-Something (and Jester)
    assert len(flips) == (0 if 'sthv2' in name else 1)


@pytest.mark.parametrize('name', list(PAPER))
def test_paper_recipe_lr_per_epoch(name):
    """The configured schedulers, stepped once per epoch, give main.py's
    lr: lr * 0.1 ** (number of milestones reached)."""
    from mmengine.registry import PARAM_SCHEDULERS
    paper, cfg = PAPER[name], paper_config(name)
    param = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=cfg.optim_wrapper.optimizer.lr)
    schedulers = [PARAM_SCHEDULERS.build(dict(s, optimizer=optimizer))
                  for s in cfg.param_scheduler]
    for epoch in range(paper['epochs']):
        expected = paper['lr'] * 0.1**sum(epoch >= m
                                          for m in paper['milestones'])
        got = optimizer.param_groups[0]['lr']
        assert got == pytest.approx(expected, rel=1e-9), (name, epoch)
        optimizer.step()
        for scheduler in schedulers:
            scheduler.step()


@pytest.mark.parametrize('name', [
    'tsm_r50_1x1x8_100e_kinetics400_paper.py',
    'tsm_r50_1x1x8_hmdb51_split1_ft_kinetics400.py'
])
def test_paper_recipe_model_batchnorm(name):
    """Built and in train mode: fine-tuning freezes every BN of the
    backbone but the first (statistics and affine); Kinetics trains all."""
    cfg = paper_config(name)
    cfg.model.backbone.pretrained = None  # no download
    with DefaultScope.overwrite_default_scope('mmaction'):
        from mmaction.registry import MODELS
        model = MODELS.build(cfg.model)
    model.train()
    bns = [m for m in model.backbone.modules()
           if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(bns) == 53  # stem, 16 blocks x 3, 4 downsamples
    assert bns[0] is model.backbone.conv1.bn
    frozen = PAPER[name]['frozen_bn']
    for i, bn in enumerate(bns):
        trained = not frozen or i == 0
        assert bn.training == trained, (name, i)
        assert bn.weight.requires_grad == bn.bias.requires_grad == trained
    assert model.cls_head.fc_cls.out_features == (51 if 'hmdb51' in name
                                                  else 400)
