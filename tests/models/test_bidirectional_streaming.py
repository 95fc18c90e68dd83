"""A backbone built bidirectional and run frame by frame warns, once."""
import torch
from mmaction.registry import MODELS
from mmengine.registry import DefaultScope

WARNING = "built with direction='bidirectional' but runs frame by frame"


def r18(direction):
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmaction'):
        model = MODELS.build(dict(type='TSMResNet', depth=18, num_segments=2,
                                  direction=direction, pretrained2d=False))
    return model.eval()


def test_online_recognition_of_a_bidirectional_model_warns_once(
        warnings_log):
    """Before: ``forward_stream`` ran it causally without a word."""
    model = r18('bidirectional')
    frames = torch.randn(3, 1, 3, 32, 32)
    with torch.no_grad():
        model(frames[:2, 0])  # offline: as trained
        assert warnings_log == []
        for frame in frames:
            model.forward_stream(frame, ['clip'])
        with model.explicit_caches():
            model(frames[0])
    assert len(warnings_log) == 1 and WARNING in warnings_log[0]
    assert '70.8%' in warnings_log[0]


def test_a_causal_model_streams_without_a_warning(warnings_log):
    model = r18('causal')
    with torch.no_grad():
        model.forward_stream(torch.randn(1, 3, 32, 32), ['clip'])
    assert warnings_log == []
