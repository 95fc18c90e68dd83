"""`mim train/test tsm_mm` on tiny generated data, and --resume."""
import glob
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from tsm_mm.toy.actions import make_toy_actions

MIM = osp.join(osp.dirname(sys.executable), 'mim')
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ENV = dict(os.environ, OMP_NUM_THREADS='1')


def mim(*args, cwd):
    out = subprocess.run([MIM, *args], capture_output=True, text=True,
                         cwd=cwd, env=ENV, timeout=600)
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    return out.stdout + out.stderr


def load_checkpoint(path):
    # weights_only=True (torch's default): tsm_mm.compat allows exactly
    # the types MMEngine checkpoints hold
    return torch.load(path, map_location='cpu', weights_only=True)


@pytest.fixture(scope='module')
def actions_config(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('mim_actions')
    data = str(tmp / 'toy_actions')
    make_toy_actions(data, videos=30, frames=8, seed=0, size=32,
                     val_fraction=0.34)
    config = tmp / 'tsm_toy.py'
    config.write_text(f'''
_base_ = '{ROOT}/configs/toy/tsm_r18_toy_actions.py'
frames = dict(img='{data}/rawframes')
train_dataloader = dict(batch_size=4, dataset=dict(
    ann_file='{data}/train_list.txt', data_prefix=frames))
val_dataloader = dict(batch_size=4, dataset=dict(
    ann_file='{data}/val_list.txt', data_prefix=frames))
test_dataloader = val_dataloader
train_cfg = dict(max_iters=1, val_interval=100)
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=3),
                     logger=dict(interval=1))
''')
    return str(config), tmp


def test_mim_train_resume_and_test_recognition(actions_config):
    config, tmp = actions_config
    work = str(tmp / 'work')
    mim('train', 'tsm_mm', config, '--work-dir', work, cwd=str(tmp))
    first = load_checkpoint(osp.join(work, 'iter_1.pth'))
    assert first['meta']['iter'] == 1
    # as if killed right after the first checkpoint: resume to iteration 2
    log = mim('train', 'tsm_mm', config, '--work-dir', work, '--resume',
              '--cfg-options', 'train_cfg.max_iters=2', cwd=str(tmp))
    assert 'resumed epoch: 0, iter: 1' in log
    second = load_checkpoint(osp.join(work, 'iter_2.pth'))
    assert second['meta']['iter'] == 2
    assert 'message_hub' in second and 'optimizer' in second
    moved = [k for k in second['state_dict']
             if not torch.equal(second['state_dict'][k],
                                first['state_dict'][k])]
    assert moved  # the resumed run trained
    log = mim('test', 'tsm_mm', config, '--checkpoint',
              osp.join(work, 'iter_2.pth'), '--work-dir', work,
              cwd=str(tmp))
    assert 'acc/top1' in log


def test_mim_train_and_test_detection(toy_vid_root, toy_vid_ann_dir,
                                      tmp_path):
    config = tmp_path / 'vid_tsm.py'
    config.write_text(f'''
_base_ = '{ROOT}/configs/toy/vid_faster_rcnn_tsm_toy.py'
train_dataloader = dict(dataset=dict(
    data_root='{toy_vid_root}',
    ann_file='{toy_vid_ann_dir}/imagenet_vid_train.json'))
test_dataloader = dict(dataset=dict(
    data_root='{toy_vid_root}',
    ann_file='{toy_vid_ann_dir}/imagenet_vid_val.json'))
val_dataloader = test_dataloader
train_cfg = dict(max_iters=2, val_interval=100)
default_hooks = dict(checkpoint=dict(interval=2), logger=dict(interval=1))
''')
    work = str(tmp_path / 'work')
    log = mim('train', 'tsm_mm', str(config), '--work-dir', work,
              cwd=str(tmp_path))
    assert 'Iter(train) [2/2]' in log
    ckpt = load_checkpoint(osp.join(work, 'iter_2.pth'))
    assert any('backbone.layer1.0.conv1.weight' == k
               for k in ckpt['state_dict'])
    log = mim('test', 'tsm_mm', str(config), '--checkpoint',
              osp.join(work, 'iter_2.pth'), '--work-dir', work,
              cwd=str(tmp_path))
    assert 'vid/mAP_fast' in log
    assert glob.glob(osp.join(work, '*', '*.json'))


def test_mim_train_mmdet_with_registry_import(toy_vid_root, toy_vid_ann_dir,
                                              tmp_path):
    """An unmodified MMDetection config, the backbone swapped by registry
    name, trained by MMDetection's own tools/train.py (CocoVID json is
    COCO-compatible)."""
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
                 metainfo=dict(classes=('zebra', 'horse', 'tiger')),
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
              cwd=str(tmp_path))
    assert 'mmdet/.mim/tools/train.py' in log or 'Iter(train) [2/2]' in log
    ckpt = load_checkpoint(osp.join(work, 'iter_2.pth'))
    assert 'StreamingTSMResNet' in ckpt['meta']['cfg']
