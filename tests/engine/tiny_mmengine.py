"""A tiny MMEngine regression task (model, data, metric) whose checkpoints
are real MMEngine checkpoints; shared by the tests of this folder."""
import importlib.util
import os.path as osp
from types import ModuleType

import torch
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.registry import DATASETS, METRICS, MODELS
from torch import nn

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@MODELS.register_module(force=True)
class TsmMmTinyRegressor(BaseModel):

    def __init__(self, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.fc = nn.Linear(4, 1)

    def forward(self, inputs, target, mode='tensor'):
        pred = self.fc(torch.stack(inputs))[:, 0]
        if mode == 'loss':
            return dict(loss=(pred - torch.stack(target)).pow(2).mean())
        return [dict(pred=p, target=t) for p, t in zip(pred, target)]


@DATASETS.register_module(force=True)
class TsmMmTinyRegression(torch.utils.data.Dataset):
    """32 fixed samples of y = x . (1, -2, 3, 0.5) + noise."""

    def __init__(self) -> None:
        gen = torch.Generator().manual_seed(0)
        self.x = torch.randn(32, 4, generator=gen)
        self.y = self.x @ torch.tensor([1., -2., 3., .5]) + \
            0.1 * torch.randn(32, generator=gen)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i):
        return dict(inputs=self.x[i], target=self.y[i])


@METRICS.register_module(force=True)
class TsmMmTinyMSE(BaseMetric):

    def process(self, data_batch, data_samples) -> None:
        self.results += [float((s['pred'] - s['target']) ** 2)
                         for s in data_samples]

    def compute_metrics(self, results) -> dict:
        return dict(mse=sum(results) / len(results))


def tiny_config(work_dir: str, max_iters: int = 6, interval: int = 2,
                scheduler: str = 'OneCycleLR', by_epoch: bool = False,
                hook: str = 'AtomicCheckpointHook', **checkpoint) -> str:
    """The text of a config that trains the tiny task."""
    schedulers = dict(
        OneCycleLR=[dict(type='OneCycleLR', eta_max=0.05,
                         total_steps=max_iters, by_epoch=False)],
        LinearLR_MultiStepLR=[
            dict(type='LinearLR', start_factor=0.1, by_epoch=False,
                 begin=0, end=2),
            dict(type='MultiStepLR', by_epoch=False, milestones=[3],
                 gamma=0.5)])[scheduler]
    loop = dict(by_epoch=True, max_epochs=max_iters) if by_epoch else \
        dict(by_epoch=False, max_iters=max_iters, val_interval=interval)
    # by_epoch: one epoch is one iteration (batch = the whole set)
    batch = 32 if by_epoch else 4
    checkpoint = dict(type=hook, interval=interval, by_epoch=by_epoch,
                      **checkpoint)
    return f'''
custom_imports = dict(imports=['tiny_mmengine'], allow_failed_imports=False)
default_scope = 'mmengine'
work_dir = {work_dir!r}
model = dict(type='TsmMmTinyRegressor')
train_dataloader = dict(
    dataset=dict(type='TsmMmTinyRegression'), batch_size={batch},
    num_workers=0, collate_fn=dict(type='pseudo_collate'),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(
    dataset=dict(type='TsmMmTinyRegression'), batch_size=32, num_workers=0,
    collate_fn=dict(type='pseudo_collate'),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(type='TsmMmTinyMSE')
val_cfg = dict()
test_dataloader = val_dataloader
test_evaluator = val_evaluator
test_cfg = dict()
train_cfg = {loop!r}
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=0.01))
param_scheduler = {schedulers!r}
default_hooks = dict(checkpoint={checkpoint!r},
                     logger=dict(type='LoggerHook', interval=1))
log_processor = dict(by_epoch={by_epoch})
randomness = dict(seed=0)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
'''


def load_tool(name: str) -> ModuleType:
    """Execute ``tools/<name>.py`` and return it as a module."""
    spec = importlib.util.spec_from_file_location(
        f'tool_{name}', osp.join(REPO, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
