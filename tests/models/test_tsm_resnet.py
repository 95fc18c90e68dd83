"""TSMResNet against MMAction2's own ResNetTSM, and its streaming API."""
import pytest
import torch
from mmaction.models.backbones import ResNet, ResNetTSM

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
    with pytest.raises(ValueError, match='shift_place'):
        TSMResNet(18, shift_place='inplace')
