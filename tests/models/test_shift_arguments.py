"""The shift's arguments are refused at build, through the registries."""
import numpy as np
import pytest
import torch
from mmaction.registry import MODELS as ACTION_MODELS
from mmdet.registry import MODELS as DET_MODELS
from mmengine.registry import DefaultScope

# (registry, config) of each backbone, shift options left out
BACKBONES = {
    'StreamingTSMResNet': (DET_MODELS, dict(type='StreamingTSMResNet',
                                            depth=18, routed=True)),
    'StreamingTSMMobileNetV2': (DET_MODELS,
                                dict(type='StreamingTSMMobileNetV2',
                                     widen_factor=0.5, routed=True)),
    'TSMResNet': (ACTION_MODELS, dict(type='TSMResNet', depth=18,
                                      pretrained2d=False)),
    'TSMMobileNetV2': (ACTION_MODELS, dict(type='TSMMobileNetV2')),
}


def build(name, **shift):
    registry, cfg = BACKBONES[name]
    with DefaultScope.overwrite_default_scope(registry.scope):
        return registry.build(dict(cfg, **shift))


@pytest.mark.parametrize('name', list(BACKBONES))
@pytest.mark.parametrize('arg, value, error, match', [
    ('num_segments', 2.5, TypeError, r'num_segments must be an int >= 1, '
     r'got 2\.5 \(float\)'),
    ('num_segments', '8', TypeError, r"num_segments must be an int >= 1, "
     r"got '8' \(str\)"),
    ('num_segments', True, TypeError, r'num_segments must be an int >= 1, '
     r'got True \(bool\)'),
    ('num_segments', 0, ValueError, r'num_segments must be an int >= 1, '
     r'got 0'),
    ('shift_div', 8.5, TypeError, r'shift_div must be an int >= 2, got '
     r'8\.5 \(float\)'),
    ('shift_div', 1, ValueError, r'shift_div must be an int >= 2, got 1'),
])
def test_bad_types_and_values_are_refused_at_build(name, arg, value, error,
                                                   match):
    """Before: 2.5 and 8.5 built and failed at forward (``slice indices
    must be integers``), '8' failed in a comparison naming nothing."""
    with pytest.raises(error, match=match):
        build(name, **{arg: value})


def test_numpy_ints_are_ints():
    model = build('StreamingTSMResNet', num_segments=np.int64(2),
                  shift_div=np.int32(8))
    assert type(model.num_segments) is int and model.num_segments == 2
    with torch.no_grad():
        model(torch.randn(2, 3, 32, 32))


@pytest.mark.parametrize('name, widest', [
    ('StreamingTSMResNet', 'layer4.1.conv1, has 512'),
    ('TSMResNet', 'layer4.1.conv1, has 512'),
    ('StreamingTSMMobileNetV2', 'layer6.1.expand_conv, has 80'),
    ('TSMMobileNetV2', 'layer6.1.conv.0, has 160'),
])
def test_a_shift_div_that_shifts_no_site_is_refused(name, widest,
                                                    warnings_log):
    """Before: it built with a warning per site and shifted nothing."""
    with pytest.raises(ValueError, match=rf'{name}: shift_div=1024 leaves '
                       rf'no site that shifts: the widest, {widest} input '
                       'channels'):
        build(name, num_segments=2, shift_div=1024)
    assert warnings_log == []
    # without the shift the same shift_div is no concern
    assert build(name, shift_div=1024, is_shift=False).num_shift_sites == 0
