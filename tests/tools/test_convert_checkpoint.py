"""Checkpoint converters against hand-built layouts and MMAction2's own
loaders."""
import os.path as osp
import re

import pytest
import torch
import torch.nn.functional as F
from mmaction.models.backbones import ResNet, ResNetTSM
from mmaction.registry import MODELS as ACTION_MODELS
from mmdet.registry import MODELS as DET_MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from tool_loader import load_tool

converter = load_tool('model_converters/convert_checkpoint')
convert_checkpoint_file = converter.convert_checkpoint_file
convert_mmaction = converter.convert_mmaction
convert_mmdet = converter.convert_mmdet
convert_official = converter.convert_official

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
T, CLASSES = 4, 5


def random_state(state_dict, seed=0):
    """Random values of the same shapes (BN variances positive)."""
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for key, value in state_dict.items():
        if key.endswith('num_batches_tracked'):
            out[key] = value.clone()
        elif key.endswith('running_var') or key.endswith('bn.weight'):
            out[key] = torch.rand(value.shape, generator=gen) + 0.5
        else:
            out[key] = torch.randn(value.shape, generator=gen) * 0.1
    return out


def torchvision_name(key):
    """MMAction2 ResNet key -> torchvision key, by hand."""
    key = key.replace('downsample.conv.', 'downsample.0.')
    key = key.replace('downsample.bn.', 'downsample.1.')
    key = re.sub(r'conv(\d)\.bn\.', r'bn\1.', key)
    return re.sub(r'conv(\d)\.conv\.', r'conv\1.', key)


def official_checkpoint(depth):
    """What mit-han-lab's main.py saves for a blockres TSM ResNet: the
    torchvision keys under module.base_model, TemporalShift(conv1) as
    ``conv1.net`` on every block (every other block for R-101), new_fc."""
    tv = {torchvision_name(k): v
          for k, v in random_state(ResNet(depth).state_dict()).items()}
    n_round = 2 if depth >= 101 else 1
    state = {}
    for key, value in tv.items():
        m = re.fullmatch(r'layer\d\.(\d+)\.conv1\.weight', key)
        if m and int(m.group(1)) % n_round == 0:
            key = key.replace('conv1.weight', 'conv1.net.weight')
        state[f'module.base_model.{key}'] = value
    gen = torch.Generator().manual_seed(1)
    state['module.new_fc.weight'] = torch.randn(CLASSES, 2048, generator=gen)
    state['module.new_fc.bias'] = torch.randn(CLASSES, generator=gen)
    return dict(epoch=50, arch=f'resnet{depth}', state_dict=state,
                best_prec1=70.0), tv


def recognizer(depth, backbone_type='TSMResNet', **backbone):
    init_default_scope('mmaction')
    return ACTION_MODELS.build(dict(
        type='Recognizer2D',
        backbone=dict(type=backbone_type, depth=depth, num_segments=T,
                      pretrained2d=False, **backbone),
        cls_head=dict(type='TSMHead', num_classes=CLASSES,
                      in_channels=512 if depth < 50 else 2048,
                      num_segments=T))).eval()


@pytest.mark.parametrize('depth', [50, 101])
def test_official_equals_mmaction_loader(depth, tmp_path):
    checkpoint, tv = official_checkpoint(depth)
    src, dst = str(tmp_path / 'official.pth'), str(tmp_path / 'ours.pth')
    torch.save(checkpoint, src)
    convert_checkpoint_file('official', src, dst)
    converted = torch.load(dst, weights_only=True)
    assert converted['meta']['converted_from'] == dict(
        layout='official', depth=depth, shift_place='blockres',
        temporal_pool=False, epoch=50, arch=f'resnet{depth}',
        best_prec1=70.0)
    model = recognizer(depth)
    model.load_state_dict(converted['state_dict'], strict=True)

    # reference: MMAction2's own torchvision loader of ResNetTSM + the fc
    torch.save(tv, str(tmp_path / 'tv.pth'))
    ref = ResNetTSM(depth, num_segments=T, pretrained=str(tmp_path /
                                                          'tv.pth'))
    before = {k: v.clone() for k, v in ref.state_dict().items()}
    ref.init_weights()
    ref.eval()
    assert all(not torch.equal(v, before[k])  # it loaded every tensor
               for k, v in ref.state_dict().items()
               if not k.endswith('num_batches_tracked'))
    clip = torch.randn(1, T, 3, 32, 32)
    fc = checkpoint['state_dict']
    with torch.no_grad():
        feats = ref(clip[0]).mean((2, 3))
        expected = F.linear(feats, fc['module.new_fc.weight'],
                            fc['module.new_fc.bias']).view(1, T, -1).mean(1)
        got = model(clip, mode='tensor', stage='head')
    assert got.shape == (1, CLASSES)
    assert (got - expected).abs().max() <= 1e-5 * expected.abs().max()


@pytest.mark.parametrize('depth,shift_place,temporal_pool',
                         [(50, 'blockres', False), (50, 'block', True),
                          (101, 'blockres', True)])
def test_mmaction_round_trip(depth, shift_place, temporal_pool):
    ref = recognizer(depth, 'ResNetTSM', shift_place=shift_place,
                     temporal_pool=temporal_pool)
    original = dict(meta=dict(epoch=3), state_dict=random_state(
        ref.state_dict()))
    ours = convert_mmaction(original)
    assert not any('.net.' in k for k in ours['state_dict'])
    assert ours['meta']['epoch'] == 3
    assert ours['meta']['converted_from'] == dict(
        layout='mmaction', depth=depth, shift_place=shift_place,
        temporal_pool=temporal_pool)
    model = recognizer(depth, shift_place=shift_place,
                       temporal_pool=temporal_pool)
    model.load_state_dict(ours['state_dict'], strict=True)
    back = convert_mmaction(ours, 'to-mmaction', shift_place=shift_place,
                            temporal_pool=temporal_pool)['state_dict']
    assert list(back) == list(original['state_dict'])
    assert all(torch.equal(back[k], v)
               for k, v in original['state_dict'].items())
    ref.load_state_dict(back, strict=True)


def test_unknown_layouts_are_refused():
    checkpoint, _ = official_checkpoint(50)
    state = checkpoint['state_dict']
    state['module.base_model.layer1.0.conv1.nl.weight'] = torch.zeros(1)
    with pytest.raises(ValueError, match=r'(?s)keys of no ResNet layout.*'
                       r'module\.base_model\.layer1\.0\.conv1\.nl\.weight'):
        convert_official(checkpoint)
    # a shift wrapper where the official code puts none (R-101 block 1)
    checkpoint, _ = official_checkpoint(101)
    state = checkpoint['state_dict']
    state['module.base_model.layer3.1.conv1.net.weight'] = state.pop(
        'module.base_model.layer3.1.conv1.weight')
    with pytest.raises(ValueError, match=r'(?s)fit no shift layout.*'
                       r'module\.base_model\.layer3\.1\.conv1\.net\.weight'):
        convert_official(checkpoint)
    # a missing tensor
    checkpoint, _ = official_checkpoint(50)
    del checkpoint['state_dict']['module.base_model.layer4.2.bn3.bias']
    with pytest.raises(ValueError, match=r'(?s)lacks keys.*layer4\.2\.conv3'
                       r'\.bn\.bias'):
        convert_official(checkpoint)
    with pytest.raises(ValueError, match='module.extra'):
        convert_official({'module.extra': torch.zeros(1),
                          **official_checkpoint(50)[0]['state_dict']})


def test_mmdet_2d_to_tsm(tmp_path):
    init_default_scope('mmdet')
    cfg = Config.fromfile(
        osp.join(REPO, 'configs/toy/vid_faster_rcnn_2d_toy.py'))
    det_2d = DET_MODELS.build(cfg.model)
    checkpoint = dict(meta=dict(cfg=cfg.pretty_text, epoch=1),
                      state_dict=random_state(det_2d.state_dict()))
    src, dst = str(tmp_path / '2d.pth'), str(tmp_path / 'tsm.pth')
    torch.save(checkpoint, src)
    convert_checkpoint_file('mmdet', src, dst, num_segments=4)
    converted = torch.load(dst, weights_only=True)
    saved_cfg = Config.fromstring(converted['meta']['cfg'], '.py')
    assert saved_cfg.model.backbone.type == 'StreamingTSMResNet'
    assert saved_cfg.model.backbone.num_segments == 4
    assert saved_cfg.model.backbone.direction == 'causal'
    det_tsm = DET_MODELS.build(saved_cfg.model)
    assert type(det_tsm.backbone).__name__ == 'StreamingTSMResNet'
    det_tsm.load_state_dict(converted['state_dict'], strict=True)
    assert all(torch.equal(converted['state_dict'][k], v)
               for k, v in checkpoint['state_dict'].items())
    # a backbone with keys of no ResNet (e.g. a DCN offset) is refused
    checkpoint['state_dict']['backbone.layer2.0.conv2.conv_offset.weight'] \
        = torch.zeros(1)
    with pytest.raises(ValueError, match=r'conv2\.conv_offset\.weight'):
        convert_mmdet(checkpoint)


def test_mmdet_never_executes_the_saved_cfg(tmp_path):
    """meta['cfg'] comes from the file: it is edited as text, not run."""
    marker = tmp_path / 'ran'
    cfg_text = (f"open({str(marker)!r}, 'w').write('x')\n"
                "model = dict(\n    backbone=dict(depth=18, type='ResNet',),"
                "\n    neck=dict(type='FPN'))\n")
    init_default_scope('mmdet')
    state = random_state(DET_MODELS.build(dict(
        type='ResNet', depth=18)).state_dict())
    src, dst = str(tmp_path / '2d.pth'), str(tmp_path / 'tsm.pth')
    torch.save(dict(meta=dict(cfg=cfg_text),
                    state_dict={f'backbone.{k}': v
                                for k, v in state.items()}), src)
    convert_checkpoint_file('mmdet', src, dst, num_segments=4)
    assert not marker.exists()
    text = torch.load(dst, weights_only=True)['meta']['cfg']
    assert "type='StreamingTSMResNet'" in text
    assert "type='StreamingTSMResNet', num_segments=4, shift_div=8, " \
        "direction='causal'," in text
    compile(text, 'cfg', 'exec')  # still Python (compiled, not run)
    assert "neck=dict(type='FPN')" in text
    with pytest.raises(ValueError, match=r'2d\.pth: .*no model = dict'):
        torch.save(dict(meta=dict(cfg='model = make()'), state_dict={
            f'backbone.{k}': v for k, v in state.items()}), src)
        convert_checkpoint_file('mmdet', src, str(tmp_path / 'tsm2.pth'))
