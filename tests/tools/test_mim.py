"""`mim train/test tsm_mm NAME.py` from a folder outside the clone, on tiny
generated data given by ``--cfg-options``, and --resume."""
import glob
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.runner import CheckpointLoader

from tsm_mm.testing.toy_actions import make_toy_actions

MIM = osp.join(osp.dirname(sys.executable), 'mim')
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ENV = dict(os.environ, OMP_NUM_THREADS='1')


def mim(*args, cwd, returncode=0):
    assert not osp.realpath(cwd).startswith(ROOT + osp.sep)  # not the clone
    out = subprocess.run([MIM, *args], capture_output=True, text=True,
                         cwd=cwd, env=ENV, timeout=600)
    assert (out.returncode == 0) == (returncode == 0), (
        out.stdout + out.stderr)[-4000:]
    return out.stdout + out.stderr


def found_by_name(log, config):
    """Whether mim said it resolved the bare name to ``configs/<config>``."""
    return f'will use {osp.join(ROOT, "configs", config)} instead' in log


def load_checkpoint(path):
    # through MMEngine's loader, for which tsm_mm registers its
    # weights_only local loader
    return CheckpointLoader.load_checkpoint(path, map_location='cpu')


def dataloader_options(**fields):
    """``--cfg-options`` items setting ``fields`` of the train, val and test
    datasets (each dataloader has its own copy of the dataset fields)."""
    return [f'{split}_dataloader.dataset.{key}={value}'
            for split in ('train', 'val', 'test')
            for key, value in fields.items()]


@pytest.fixture(scope='module')
def toy_actions(tmp_path_factory):
    """A folder with ``rawframes/``, ``train_list.txt``, ``val_list.txt``."""
    data = str(tmp_path_factory.mktemp('mim_actions') / 'toy_actions')
    make_toy_actions(data, videos=30, frames=8, seed=0, size=32,
                     val_fraction=0.34)
    return data


@pytest.fixture
def toy_vid_data_root(toy_vid_root, toy_vid_ann_dir, tmp_path):
    """The layout the VID configs read: ``Data/`` and ``annotations/``
    under one ``data_root``, as tools/convert_imagenet_vid.py leaves it."""
    root = tmp_path / 'toy_vid'
    root.mkdir()
    os.symlink(osp.join(toy_vid_root, 'Data'), root / 'Data')
    os.symlink(toy_vid_ann_dir, root / 'annotations')
    return str(root)


def test_mim_train_resume_and_test_recognition(toy_actions, tmp_path):
    config = 'tsm_r18_toy_actions.py'
    work = str(tmp_path / 'work')
    options = [
        '--cfg-options',
        *dataloader_options(**{'data_prefix.img': f'{toy_actions}/rawframes'}),
        f'train_dataloader.dataset.ann_file={toy_actions}/train_list.txt',
        f'val_dataloader.dataset.ann_file={toy_actions}/val_list.txt',
        f'test_dataloader.dataset.ann_file={toy_actions}/val_list.txt',
        'train_dataloader.batch_size=4', 'val_dataloader.batch_size=4',
        'test_dataloader.batch_size=4', 'train_cfg.val_interval=100',
        'default_hooks.checkpoint.interval=1',
        'default_hooks.checkpoint.max_keep_ckpts=3',
        'default_hooks.logger.interval=1']
    log = mim('train', 'tsm_mm', config, '--work-dir', work, *options,
              'train_cfg.max_iters=1', cwd=str(tmp_path))
    assert found_by_name(log, f'toy/{config}')
    first = load_checkpoint(osp.join(work, 'iter_1.pth'))
    assert first['meta']['iter'] == 1
    # as if killed right after the first checkpoint: resume to iteration 2
    log = mim('train', 'tsm_mm', config, '--work-dir', work, '--resume',
              *options, 'train_cfg.max_iters=2', cwd=str(tmp_path))
    assert 'resumed epoch: 0, iter: 1' in log
    second = load_checkpoint(osp.join(work, 'iter_2.pth'))
    assert second['meta']['iter'] == 2
    assert 'message_hub' in second and 'optimizer' in second
    moved = [k for k in second['state_dict']
             if not torch.equal(second['state_dict'][k],
                                first['state_dict'][k])]
    assert moved  # the resumed run trained
    log = mim('test', 'tsm_mm', config, '--checkpoint',
              osp.join(work, 'iter_2.pth'), '--work-dir', work, *options,
              cwd=str(tmp_path))
    assert found_by_name(log, f'toy/{config}')
    assert 'acc/top1' in log


def test_mim_train_and_test_detection(toy_vid_data_root, tmp_path):
    config = 'vid_faster_rcnn_tsm_toy.py'
    work = str(tmp_path / 'work')
    options = ['--cfg-options', *dataloader_options(
        data_root=toy_vid_data_root)]
    log = mim('train', 'tsm_mm', config, '--work-dir', work, *options,
              'train_cfg.max_iters=2', 'train_cfg.val_interval=100',
              'default_hooks.checkpoint.interval=2',
              'default_hooks.logger.interval=1', cwd=str(tmp_path))
    assert found_by_name(log, f'toy/{config}')
    assert 'Iter(train) [2/2]' in log
    ckpt = load_checkpoint(osp.join(work, 'iter_2.pth'))
    assert 'backbone.layer1.0.conv1.weight' in ckpt['state_dict']
    assert "type='StreamingTSMResNet'" in ckpt['meta']['cfg']
    log = mim('test', 'tsm_mm', config, '--checkpoint',
              osp.join(work, 'iter_2.pth'), '--work-dir', work, *options,
              cwd=str(tmp_path))
    assert found_by_name(log, f'toy/{config}')
    assert 'vid/mAP_fast' in log
    assert glob.glob(osp.join(work, '*', '*.json'))


def test_mim_train_mmdet_with_registry_import(toy_vid_root, toy_vid_ann_dir,
                                              tmp_path):
    """An unmodified MMDetection config, the backbone swapped by registry
    name, run by MMDetection's own tools/train.py (CocoVID json is
    COCO-compatible): a stock detector does not route clips, so its first
    forward refuses, naming the wrapper; the explicit opt-out trains."""
    config = tmp_path / 'faster_rcnn_tsm_coco.py'
    config.write_text(f'''
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['tsm_mm'], allow_failed_imports=False)
model = dict(
    backbone=dict(type='StreamingTSMResNet', depth=18, num_segments=2,
                  init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512]),
    roi_head=dict(bbox_head=dict(num_classes=3)))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(160, 120), keep_ratio=True),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root='{toy_vid_root}',
                 ann_file='{toy_vid_ann_dir}/imagenet_vid_train.json',
                 data_prefix=dict(img='Data/VID/'),
                 metainfo=dict(classes=('horse', 'tiger', 'zebra')),
                 pipeline=train_pipeline))
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=2)
val_cfg = None
val_dataloader = None
val_evaluator = None
param_scheduler = []
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=2),
                     logger=dict(interval=1))
log_processor = dict(by_epoch=False)
''')
    work = str(tmp_path / 'work')
    log = mim('train', 'mmdet', str(config), '--work-dir', work,
              cwd=str(tmp_path), returncode=1)
    assert "model=dict(type='VideoDetector'" in log and 'routed=True' in log
    log = mim('train', 'mmdet', str(config), '--work-dir', work,
              '--cfg-options', 'model.backbone.routed=True',
              cwd=str(tmp_path))
    assert 'mmdet/.mim/tools/train.py' in log or 'Iter(train) [2/2]' in log
    ckpt = load_checkpoint(osp.join(work, 'iter_2.pth'))
    assert 'StreamingTSMResNet' in ckpt['meta']['cfg']
