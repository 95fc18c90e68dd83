"""StreamingTSMMobileNetV2 and StreamingTSMResNeXt (MMDetection)."""
import pytest
import torch
from mmdet.models.backbones import MobileNetV2, ResNeXt
from random_weights import randomize_weights

from tsm_mm.models.backbones import (
    StreamingTSMMobileNetV2,
    StreamingTSMResNeXt,
)
from tsm_mm.ops import temporal_shift

# (2D twin, TSM class, constructor kwargs, shift sites, 2D module of a site)
CASES = {
    'mobilenet_v2': (MobileNetV2, StreamingTSMMobileNetV2,
                     dict(widen_factor=0.5, out_indices=(2, 7)), 10,
                     lambda m: [b.expand_conv for n in m.layers[:-1]
                                for b in getattr(m, n)
                                if b.with_res_shortcut]),
    'resnext50': (ResNeXt, StreamingTSMResNeXt,
                  dict(depth=50, groups=4, base_width=4), 16,
                  lambda m: [b.conv1 for n in m.res_layers
                             for b in getattr(m, n)]),
}




def max_rel(a, b):
    return float((a - b).abs().max() / b.abs().max())


def reference_causal(model_2d, sites, clip, shift_div):
    """Offline causal TSM as pre-hooks calling the op on a plain 2D model."""
    handles = [site.register_forward_pre_hook(
        lambda m, args: (temporal_shift(args[0], len(clip), shift_div,
                                        'causal'), )) for site in sites]
    try:
        return model_2d(clip)
    finally:
        for handle in handles:
            handle.remove()


@pytest.fixture(scope='module', params=list(CASES))
def case(request):
    cls_2d, cls_tsm, kwargs, sites, site_modules = CASES[request.param]
    torch.manual_seed(0)
    model_2d = randomize_weights(cls_2d(**kwargs))
    tsm = cls_tsm(num_segments=4, routed=True, **kwargs)
    tsm.load_state_dict(model_2d.state_dict(), strict=True)  # 2D checkpoint
    tsm.eval()
    return model_2d, tsm, sites, site_modules, cls_tsm, kwargs


def test_keys_sites_and_2d_twin(case):
    model_2d, tsm, sites, _, cls_tsm, kwargs = case
    assert list(tsm.state_dict()) == list(model_2d.state_dict())
    assert tsm.num_shift_sites == sites
    assert tsm.eval() is tsm and tsm.train() is tsm and tsm.training
    tsm.eval()
    plain = cls_tsm(num_segments=4, is_shift=False, **kwargs)
    plain.load_state_dict(model_2d.state_dict(), strict=True)
    plain.eval()
    clip = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        for got, want in zip(plain(clip), model_2d(clip)):
            torch.testing.assert_close(got, want)
        # the shift matters
        assert max_rel(tsm(clip)[-1], model_2d(clip)[-1]) > 1e-3


def test_stream_equals_offline_causal(case):
    model_2d, tsm, _, site_modules, _, _ = case
    clip = torch.randn(4, 3, 32, 32)
    tsm.reset_streams()
    with torch.no_grad():
        offline = tsm(clip)
        steps = [tsm.forward_stream(f[None], ['a']) for f in clip]
        reference = reference_causal(model_2d, site_modules(model_2d), clip,
                                     8)
    for level, expected in enumerate(offline):
        got = torch.cat([step[level] for step in steps])
        assert (got - expected).abs().max() <= 1e-5 * expected.abs().max()
        assert max_rel(expected, reference[level]) <= 1e-5


def test_interleaved_streams_and_cache_bytes(case):
    _, tsm, _, site_modules, _, _ = case
    a, b = torch.randn(3, 3, 32, 32), torch.randn(3, 3, 32, 32)
    tsm.reset_streams()
    with torch.no_grad():
        alone_a = [tsm.forward_stream(f[None], ['a'])[-1] for f in a]
        tsm.reset_streams(['a'])
        together = [tsm.forward_stream(torch.stack(fs), ['a', 3])[-1]
                    for fs in zip(a, b)]
        tsm.reset_streams([3])
        inputs = []
        handles = [site.register_forward_pre_hook(
            lambda m, args: inputs.append(args[0].shape))
            for site in site_modules(tsm)]
        alone_b = [tsm.forward_stream(f[None], [3])[-1] for f in b]
        for handle in handles:
            handle.remove()
    # batched convs round differently (~1e-5); a leaked cache is ~1e-1
    for t in range(3):
        assert max_rel(together[t][:1], alone_a[t]) <= 1e-4
        assert max_rel(together[t][1:], alone_b[t]) <= 1e-4
    # the cache is C_in/8 channels of every site's input, float32
    site_inputs = inputs[:tsm.num_shift_sites]  # frame 0's
    expected = sum(c // 8 * h * w * 4 for _, c, h, w in site_inputs)
    assert tsm.stream_caches.nbytes(3) == expected > 0
