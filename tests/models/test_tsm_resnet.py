"""TSMResNet against MMAction2's own ResNetTSM, and its streaming API."""
import os
import re

import mmaction
import pytest
import torch
from mmaction.models.backbones import ResNet, ResNet3d, ResNetTSM
from mmaction.models.backbones.resnet_tsm import NL3DWrapper
from mmaction.registry import MODELS
from mmengine.config import Config
from mmengine.registry import DefaultScope, init_default_scope

from tsm_mm.models.backbones import TSMResNet


def randomize_bn(state_dict):
    """Random BN affine and statistics, so BN is not the identity."""
    gen = torch.Generator().manual_seed(0)
    out = {}
    for key, value in state_dict.items():
        if key.endswith(('bn.weight', 'bn.running_var')):
            value = torch.rand(value.shape, generator=gen) + 0.5
        elif key.endswith(('bn.bias', 'bn.running_mean')):
            value = torch.randn(value.shape, generator=gen) * 0.1
        out[key] = value
    return out


@pytest.mark.parametrize('depth', [50, 101])
@pytest.mark.parametrize('shift_place', ['blockres', 'block'])
@pytest.mark.parametrize('temporal_pool', [False, True])
def test_equals_mmaction_resnet_tsm(depth, shift_place, temporal_pool):
    torch.manual_seed(0)
    ref = ResNetTSM(depth, num_segments=4, shift_place=shift_place,
                    temporal_pool=temporal_pool, pretrained2d=False)
    ref.load_state_dict(randomize_bn(ref.state_dict()))
    ref.eval()
    ours = TSMResNet(depth, num_segments=4, shift_place=shift_place,
                     temporal_pool=temporal_pool).eval()
    ours.load_state_dict(ref.state_dict(), strict=True)
    x = torch.randn(8, 3, 32, 32)
    with torch.no_grad():
        expected, out = ref(x), ours(x)
    scale = expected.abs().max()
    assert out.shape == expected.shape
    assert ((out - expected).abs().max() / scale) <= 1e-5
    if depth == 101 or temporal_pool or shift_place == 'block':
        return
    # the shift matters: without it the output changes
    ours_2d = TSMResNet(depth, num_segments=4, is_shift=False,
                        temporal_pool=temporal_pool).eval()
    ours_2d.load_state_dict(ours.state_dict())
    with torch.no_grad():
        assert ((ours_2d(x) - expected).abs().max() / scale) > 1e-3


@pytest.mark.parametrize('depth,sites', [(50, 16), (101, 2 + 2 + 12 + 2)])
def test_keys_are_resnet_keys(depth, sites):
    ours = TSMResNet(depth)
    assert list(ours.state_dict()) == list(ResNet(depth).state_dict())
    assert ours.num_shift_sites == sites  # every other block


def test_train_eval_return_module():
    model = TSMResNet(18, num_segments=2)
    assert model.eval() is model and not model.training
    assert model.train() is model and model.training


def test_frozen_stages_and_partial_bn():
    model = TSMResNet(18, frozen_stages=1, partial_bn=True).train()
    assert not any(p.requires_grad for p in model.layer1.parameters())
    assert all(p.requires_grad for p in model.layer2.parameters()
               if p.dim() > 1)
    assert not model.layer2[0].conv1.bn.training


@pytest.fixture(scope='module')
def causal_r18():
    torch.manual_seed(0)
    model = TSMResNet(18, num_segments=4, direction='causal',
                      out_indices=(0, 3), shift_div=4)
    model.load_state_dict(randomize_bn(model.state_dict()))
    return model.eval()


def stream_clip(model, clip, stream_id):
    return [model.forward_stream(frame[None], [stream_id]) for frame in clip]


def test_stream_equals_offline_causal(causal_r18):
    clip = torch.randn(4, 3, 32, 32)
    causal_r18.reset_streams()
    with torch.no_grad():
        offline = causal_r18(clip)
        steps = stream_clip(causal_r18, clip, 'a')
    for level, expected in enumerate(offline):
        got = torch.cat([step[level] for step in steps])
        assert (got - expected).abs().max() <= 1e-5 * expected.abs().max()
    # causal: changing the last frame leaves the earlier frames' outputs
    changed = clip.clone()
    changed[-1] = torch.randn(3, 32, 32)
    with torch.no_grad():
        moved = causal_r18(changed)[1]
    torch.testing.assert_close(moved[:-1], offline[1][:-1])
    assert (moved[-1] - offline[1][-1]).abs().max() > 1e-3


def test_interleaved_streams_and_reset(causal_r18):
    a, b = torch.randn(3, 3, 32, 32), torch.randn(3, 3, 32, 32)
    causal_r18.reset_streams()
    with torch.no_grad():
        alone_a = stream_clip(causal_r18, a, 'a')
        causal_r18.reset_streams(['a'])
        assert causal_r18.stream_caches.stream_ids == []
        together = [causal_r18.forward_stream(torch.stack([fa, fb]),
                                              ['a', 7])
                    for fa, fb in zip(a, b)]
        causal_r18.reset_streams([7])
        alone_b = stream_clip(causal_r18, b, 7)
    for t in range(3):
        torch.testing.assert_close(together[t][1][0:1], alone_a[t][1],
                                   atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(together[t][1][1:2], alone_b[t][1],
                                   atol=1e-5, rtol=1e-5)
    # after a reset, the stream restarts: frame 0 again gives frame 0's output
    causal_r18.reset_streams(['a'])
    with torch.no_grad():
        again = causal_r18.forward_stream(a[:1], ['a'])
    torch.testing.assert_close(again[1], alone_a[0][1])


def test_stream_cache_holds_only_shifted_channels(causal_r18):
    causal_r18.reset_streams()
    with torch.no_grad():
        causal_r18.forward_stream(torch.randn(1, 3, 32, 32), ['s'])
    # R-18, shift_div=4, 32x32 input: block inputs are (C_in, H*W) =
    # layer1 (64, 64) x2; layer2 (64, 64), (128, 16); layer3 (128, 16),
    # (256, 4); layer4 (256, 4), (512, 1); C_in/4 channels of 4 bytes each
    inputs = [(64, 64), (64, 64), (64, 64), (128, 16), (128, 16), (256, 4),
              (256, 4), (512, 1)]
    expected = sum(c // 4 * hw * 4 for c, hw in inputs)
    assert causal_r18.stream_caches.nbytes('s') == expected == 18944


def test_stream_errors_leave_caches_intact(causal_r18):
    causal_r18.reset_streams()
    with torch.no_grad():
        causal_r18.forward_stream(torch.randn(1, 3, 32, 32), ['s'])
        before = causal_r18.stream_caches.nbytes('s')
        with pytest.raises(ValueError, match="stream 's'"):
            causal_r18.forward_stream(torch.randn(1, 3, 64, 64), ['s'])
        with pytest.raises(ValueError, match='one frame per step'):
            causal_r18.forward_stream(torch.randn(2, 3, 32, 32), ['s', 's'])
        with pytest.raises(ValueError, match='2 frames for 1'):
            causal_r18.forward_stream(torch.randn(2, 3, 32, 32), ['s'])
    assert causal_r18.stream_caches.nbytes('s') == before


def test_temporal_pool_cannot_stream():
    model = TSMResNet(18, num_segments=2, temporal_pool=True).eval()
    with pytest.raises(RuntimeError, match='temporal_pool'):
        model.forward_stream(torch.randn(1, 3, 32, 32), [0])
    # ValueError naming the accepted values, and NotImplementedError as
    # ResNetTSM raises: callers catching either keep working
    for error in (ValueError, NotImplementedError):
        with pytest.raises(error, match=r"shift_place must be one of "
                           r"\('blockres', 'block'\), got 'inplace'"), \
                DefaultScope.overwrite_default_scope('mmaction'):
            MODELS.build(dict(type='TSMResNet', depth=18,
                              shift_place='inplace'))


# ---- non-local TSM (MMAction2's R-50 TSM-NL settings) ----
NL_R50 = ((0, 0, 0), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 0, 0))
NL_BLOCKS = ['layer2.0', 'layer2.2', 'layer3.0', 'layer3.2', 'layer3.4']
NL_CFG = dict(sub_sample=True, use_scale=False, mode='embedded_gaussian',
              norm_cfg=dict(type='BN3d', requires_grad=True))
NL_R18 = ((0, 0), (1, 0), (0, 0), (0, 0))


def randomize_nl(state_dict):
    """randomize_bn, and non-local convs of unit gain (their init is 0.01
    std and a zero output BN: an identity that would hide any mistake)."""
    gen = torch.Generator().manual_seed(1)
    out = randomize_bn(state_dict)
    for key, value in out.items():
        if 'non_local_block' in key and key.endswith('conv.weight'):
            fan_in = value[0].numel()
            out[key] = torch.randn(value.shape, generator=gen) / fan_in**0.5
    return out


def resnet_tsm_keys_to_ours(key):
    return '.'.join(p for p in key.split('.') if p not in ('net', 'block'))


def hand_built_resnet_tsm_nl(shift_place, temporal_pool, num_segments):
    """ResNetTSM with NL3DWrappers put in by hand, for the combinations its
    make_non_local cannot build ('block': NL3DWrapper reads block.conv3,
    which the shift wrapper hides) or builds wrongly (after temporal_pool
    it groups T frames where clips have T/2); here they group T/2."""
    ref = ResNetTSM(50, num_segments=num_segments, shift_place=shift_place,
                    temporal_pool=temporal_pool, pretrained2d=False)
    for i, flags in enumerate(NL_R50):
        layer = getattr(ref, f'layer{i + 1}')
        layer = layer.net if temporal_pool and i == 1 else layer
        segments = num_segments // 2 if temporal_pool and i else \
            num_segments
        for j, flag in enumerate(flags):
            if flag:
                shifted = layer[j]
                plain = shifted.net if shift_place == 'block' else shifted
                wrapper = NL3DWrapper(plain, segments, NL_CFG)
                wrapper.block = shifted
                layer[j] = wrapper
    return ref


@pytest.mark.parametrize('shift_place,temporal_pool',
                         [('blockres', False), ('block', False),
                          ('blockres', True), ('block', True)])
def test_non_local_equals_resnet_tsm(shift_place, temporal_pool):
    torch.manual_seed(0)
    ref = hand_built_resnet_tsm_nl(shift_place, temporal_pool, 8)
    if (shift_place, temporal_pool) == ('blockres', False):
        # the hand-built reference is ResNetTSM's own where that one works
        own = ResNetTSM(50, num_segments=8, non_local=NL_R50,
                        non_local_cfg=NL_CFG, pretrained2d=False)
        assert list(own.state_dict()) == list(ref.state_dict())
        ref = own
    ref.load_state_dict(randomize_nl(ref.state_dict()))
    ref.eval()
    ours = TSMResNet(50, num_segments=8, shift_place=shift_place,
                     temporal_pool=temporal_pool, non_local=NL_R50,
                     non_local_cfg=NL_CFG).eval()
    assert ours.non_local_blocks == NL_BLOCKS
    ours.load_state_dict(ref.state_dict(), strict=True)
    assert list(ours.state_dict()) == [resnet_tsm_keys_to_ours(k)
                                       for k in ref.state_dict()]
    x = torch.randn(2 * 8, 3, 32, 32)  # 2 clips x 8 frames
    with torch.no_grad():
        expected, out = ref(x), ours(x)
        # non-local mixes the frames of one clip only: clip 1 changes,
        # clip 0's output does not
        changed = torch.cat([x[:8], torch.randn(8, 3, 32, 32)])
        moved = ours(changed)
        # the non-local blocks matter: made identities (a zero output BN),
        # the output moves
        ours.load_state_dict({
            k: v * 0 if re.search(r'non_local_block\.conv_out\.bn\.'
                                  r'(weight|bias)$', k) else v
            for k, v in ours.state_dict().items()})
        without = ours(x)
    scale = expected.abs().max()
    assert out.shape == expected.shape
    assert (out - expected).abs().max() / scale <= 1e-5
    assert (without - expected).abs().max() / scale > 1e-2
    clip0 = len(out) // 2
    assert (moved[:clip0] - out[:clip0]).abs().max() / scale <= 1e-6
    assert (moved[clip0:] - out[clip0:]).abs().max() / scale > 1e-3


def test_non_local_keys_are_resnet_keys_plus_resnet3d_non_local():
    ours = TSMResNet(50, non_local=NL_R50, non_local_cfg=NL_CFG)
    keys = list(ours.state_dict())
    base = list(ResNet(50).state_dict())
    assert [k for k in keys if '.non_local_block.' not in k] == base
    extra = {k for k in keys if k not in base}
    assert {re.match(r'layer\d\.\d', k).group() for k in extra} == \
        set(NL_BLOCKS)
    # the name and layout of MMAction2's ResNet3d non-local blocks
    with torch.device('meta'):
        r3d = ResNet3d(50, pretrained=None, non_local=NL_R50,
                       non_local_cfg=NL_CFG)
    r3d_nl = {k for k in r3d.state_dict() if '.non_local_block.' in k}
    assert extra == r3d_nl


def test_non_local_refused_where_frames_arrive_one_by_one():
    with pytest.raises(ValueError, match="direction='causal' cannot have "
                       'non-local'):
        TSMResNet(18, direction='causal', non_local=NL_R18,
                  non_local_cfg=NL_CFG)
    model = TSMResNet(18, num_segments=2, non_local=NL_R18,
                      non_local_cfg=NL_CFG).eval()
    model.reset_streams()
    with pytest.raises(RuntimeError, match=r"frame by frame \(non_local at "
                       r"\['layer2.0'\]\)"):
        model.forward_stream(torch.randn(1, 3, 32, 32), ['s'])
    assert model.stream_caches.stream_ids == []
    # without non-local blocks the same model streams
    TSMResNet(18, num_segments=2).eval().forward_stream(
        torch.randn(1, 3, 32, 32), ['s'])


def test_non_local_bad_options():
    with pytest.raises(ValueError, match='non_local_cfg is empty'):
        TSMResNet(18, non_local=NL_R18)  # ResNetTSM would add none
    with pytest.raises(ValueError, match=r'non_local\[1\] has 3 flags, but '
                       'layer2 has 2 blocks'):
        TSMResNet(18, non_local=((0, 0), (1, 0, 1), 0, 0),
                  non_local_cfg=NL_CFG)
    with pytest.raises(ValueError, match='one entry per stage'):
        TSMResNet(18, non_local=((0, 0), (1, 0)), non_local_cfg=NL_CFG)
    # no non_local given: none, whatever the number of stages
    assert TSMResNet(18, num_stages=3, out_indices=(2, ), strides=(1, 2, 2),
                     dilations=(1, 1, 1)).non_local_blocks == []
    model = TSMResNet(18, non_local=(0, 1, 0, 0), non_local_cfg=NL_CFG)
    assert model.non_local_blocks == ['layer2.0', 'layer2.1']
    with pytest.raises(ValueError, match='non-local block layer2.0: 12 '
                       'frames are not whole clips of 8'):
        TSMResNet(18, is_shift=False, non_local=NL_R18,
                  non_local_cfg=NL_CFG).eval()(torch.randn(12, 3, 32, 32))


def test_non_local_with_torchvision_2d_checkpoint(tmp_path):
    """ResNet's torchvision loader meets norm-less non-local convs."""
    model = TSMResNet(18, non_local=NL_R18, non_local_cfg=NL_CFG,
                      pretrained=str(tmp_path / 'r18.pth'))
    tv = {}
    for key, value in ResNet(18).state_dict().items():
        key = key.replace('downsample.conv.', 'downsample.0.')
        key = key.replace('downsample.bn.', 'downsample.1.')
        key = re.sub(r'conv(\d)\.(conv|bn)\.', r'\2\1.', key)
        tv[key] = torch.randn(value.shape) if value.is_floating_point() \
            else value
    torch.save(tv, tmp_path / 'r18.pth')
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.init_weights()
    after = model.state_dict()
    assert torch.equal(after['layer2.0.conv1.conv.weight'],
                       tv['layer2.0.conv1.weight'])
    assert torch.equal(after['layer2.0.conv1.bn.running_var'],
                       tv['layer2.0.bn1.running_var'])
    nl_keys = [k for k in after if '.non_local_block.' in k]
    assert nl_keys and all(torch.equal(after[k], before[k]) for k in nl_keys)
    assert model.layer2[0].non_local_block is not None


def test_non_local_config_builds_and_loads_mmaction_checkpoint():
    root = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    ours_cfg = Config.fromfile(
        f'{root}/configs/recognition/tsm_nl_r50_1x1x8_kinetics400.py')
    theirs_cfg = Config.fromfile(
        f'{os.path.dirname(mmaction.__file__)}/.mim/configs/recognition/tsm/'
        'tsm_imagenet-pretrained-r50-nl-embedded-gaussian_8xb16-1x1x8-50e_'
        'kinetics400-rgb.py')
    theirs_backbone = dict(theirs_cfg.model.backbone, type='TSMResNet')
    assert ours_cfg.model.backbone.to_dict() == theirs_backbone
    init_default_scope('mmaction')
    from mmaction.registry import MODELS
    ours = MODELS.build(ours_cfg.model)
    theirs = MODELS.build(theirs_cfg.model)
    assert type(ours.backbone) is TSMResNet
    assert ours.backbone.non_local_blocks == NL_BLOCKS
    ours.load_state_dict(theirs.state_dict(), strict=True)
