"""explicit_caches (the exported step) against the stream step, frame by
frame: by the conv correction where a site starts with a linear conv, by
concatenation elsewhere."""
import pytest
import torch
from random_weights import randomize_bn

from tsm_mm.models.backbones import StreamingTSM

# the 2D backbone, its sites (None: the preset's), whether they are linear
CASES = {
    'resnet conv1': (dict(type='ResNet', depth=18), None, True),
    'cspnext ConvModule': (dict(type='CSPNeXt', deepen_factor=0.167,
                                widen_factor=0.25), None, True),
    'resnext conv1': (dict(type='ResNeXt', depth=50, groups=4,
                           base_width=4, num_stages=2, out_indices=(1, ),
                           strides=(1, 2), dilations=(1, 1)), None, True),
    'cspdarknet ConvModule': (dict(type='CSPDarknet', deepen_factor=0.33,
                                   widen_factor=0.125), None, True),
    'mobilenet_v2 ConvModule': (dict(type='MobileNetV2', widen_factor=0.5,
                                     out_indices=(2, 4)), None, True),
    'resnet whole blocks': (dict(type='ResNet', depth=18), 'layer*.*', False),
}


@pytest.mark.parametrize('case', CASES)
def test_explicit_caches_equal_the_stream_step(case):
    backbone, sites, linear = CASES[case]
    torch.manual_seed(0)
    model = randomize_bn(StreamingTSM(backbone, sites=sites, routed=True,
                                      num_segments=2, direction='causal'))
    model.eval()
    assert model.num_shift_sites >= 2
    assert [c is not None for c in model._site_convs] == \
        [linear] * model.num_shift_sites
    frames = torch.randn(3, 2, 3, 64, 64)  # 3 steps of 2 streams
    caches = None
    with torch.no_grad():
        for frame in frames:
            with model.stream_step(['a', 'b']):
                expected = model(frame)
            with model.explicit_caches(caches) as new_caches:
                got = model(frame)
            for e, g in zip(expected, got):
                torch.testing.assert_close(g, e, rtol=1e-5,
                                           atol=1e-5 * e.abs().max())
            caches = list(new_caches)
    assert len(caches) == model.num_shift_sites


def test_a_cache_of_another_stream_count_is_refused():
    """Broadcasting would take one stream's cache for both."""
    model = StreamingTSM(dict(type='ResNet', depth=18), routed=True,
                         num_segments=2).eval()
    frame = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        with model.explicit_caches() as caches:
            model(frame[:1])
        with pytest.raises(ValueError, match=r'a cache of shape \(1, 8, 8, '
                           r'8\) does not fit frames of shape \(2, 64, 8, 8'
                           r'\)'):
            with model.explicit_caches(caches):
                model(frame)
