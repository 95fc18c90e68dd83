"""StreamingTSMResNet: build-time refusals, modes, bounded stream memory."""

import pytest
import torch
from mmdet.models.backbones import ResNet

from tsm_mm.models.backbones import StreamingTSMResNet
from tsm_mm.ops import temporal_shift


def randomize_bn(model):
    gen = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen))
            m.running_var.copy_(torch.rand(m.num_features, generator=gen)
                                + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=gen)
                                + 0.5)
    return model.eval()


def r18(**kwargs):
    torch.manual_seed(0)
    kwargs.setdefault('routed', True)
    return randomize_bn(StreamingTSMResNet(18, out_indices=(3, ), **kwargs))


def test_one_frame_clips_with_the_shift_are_refused():
    with pytest.raises(ValueError, match='num_segments=1 with the shift on'):
        StreamingTSMResNet(18, num_segments=1)
    flat = StreamingTSMResNet(18, num_segments=1, is_shift=False)
    assert flat.num_shift_sites == 0


def test_stages_narrower_than_shift_div_are_skipped_at_build(warnings_log):
    # shift_div=128: the sites with 64 input channels (layer1.0, layer1.1,
    # layer2.0) cannot move a channel; the five others shift 1/128
    model = r18(num_segments=2, shift_div=128)
    assert model.num_shift_sites == 5
    assert [m for m in warnings_log if 'no shift at' in m] == [
        f'StreamingTSMResNet: no shift at {name}: its input has 64 '
        'channels, fewer than shift_div=128, so no channel would move'
        for name in ('layer1.0.conv1', 'layer1.1.conv1', 'layer2.0.conv1')]
    clip = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        offline = model(clip)[0]
        steps = torch.cat([model.forward_stream(f[None], ['s'])[0]
                           for f in clip])
    assert (steps - offline).abs().max() <= 1e-5 * offline.abs().max()
    # and the remaining sites do shift: the 2D network differs
    flat = r18(num_segments=2, is_shift=False)
    flat.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert (flat(clip)[0][1] - offline[1]).abs().max() > 1e-4


def test_warns_at_build_unless_a_detector_routes_frames(warnings_log):
    StreamingTSMResNet(18, num_segments=2)
    assert len(warnings_log) == 1
    assert 'unrelated images of a batch will be mixed' in warnings_log[0]
    StreamingTSMResNet(18, num_segments=2, routed=True)
    StreamingTSMResNet(18, num_segments=2, is_shift=False)
    assert len(warnings_log) == 1


def test_modes_are_explicit_and_exclusive():
    model = r18(num_segments=2)
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad(), model.stream_step(['a']) as step:
        assert model.streaming and step.stream_ids == ['a']
        model(x)
        with pytest.raises(RuntimeError, match='already running'):
            with model.explicit_caches():
                pass
        with pytest.raises(RuntimeError, match='while a step runs'):
            model.reset_streams()
    assert not model.streaming and model.stream_caches.next_frame('a') == 1
    # explicit caches: stateless, the stream state is not touched
    with torch.no_grad(), model.explicit_caches() as caches:
        model(x)
    assert len(caches) == model.num_shift_sites == 8
    assert model.stream_caches.stream_ids == ['a']
    with pytest.raises(ValueError, match='got 2 frames for 1'):
        with model.stream_step(['b']):
            model(torch.randn(2, 3, 32, 32))
    assert 'b' not in model.stream_caches.stream_ids


def test_stream_step_equals_the_op_on_a_clip():
    """A step of the backbone against the op's causal shift, site by site:
    offline causal over a clip == frame by frame, while the stream state
    advances one frame per committed step."""
    model = r18(num_segments=4, direction='causal')
    clip = torch.randn(4, 3, 32, 32)
    flat = r18(num_segments=4, is_shift=False)
    flat.load_state_dict(model.state_dict())
    with torch.no_grad():
        offline = model(clip)[0]
        steps = []
        for t, frame in enumerate(clip):
            with model.stream_step(['v'], frame_ids=[t]):
                steps.append(model(frame[None])[0])
    torch.testing.assert_close(torch.cat(steps), offline, atol=1e-5,
                               rtol=1e-5)
    # the shift sites act as the op: hand-shifting the 2D net gives it
    def hook(module, args):
        return (temporal_shift(args[0], 4, 8, 'causal'), )

    handles = [b.conv1.register_forward_pre_hook(hook)
               for layer in (flat.layer1, flat.layer2, flat.layer3,
                             flat.layer4) for b in layer]
    with torch.no_grad():
        hand = flat(clip)[0]
    for h in handles:
        h.remove()
    torch.testing.assert_close(hand, offline, atol=1e-5, rtol=1e-5)


def test_streams_without_length_keep_bounded_memory(warnings_log):
    """200 one-frame videos of unknown length: at most max_streams (the
    default, 16) keep caches; a released video restarts cleanly."""
    model = r18(num_segments=2)
    frames = torch.randn(2, 1, 3, 32, 32)
    with torch.no_grad():
        first = model.forward_stream(frames[0], [0])[0]
        for video in range(1, 200):
            model.forward_stream(frames[0], [video])
    per_stream = model.stream_caches.nbytes(199)
    assert len(model.stream_caches.stream_ids) == 16
    assert model.stream_caches.nbytes() == 16 * per_stream
    assert sum('released' in m for m in warnings_log) == 200 - 16
    # stream 0 was released: it starts again from zeros, as the first time
    with torch.no_grad():
        again = model.forward_stream(frames[0], [0])[0]
        second = model.forward_stream(frames[1], [0])[0]
        model.reset_streams()
        model.forward_stream(frames[0], [0])
        expected = model.forward_stream(frames[1], [0])[0]
    torch.testing.assert_close(again, first)
    torch.testing.assert_close(second, expected)


def test_keys_are_mmdet_resnet_keys():
    model = StreamingTSMResNet(50, routed=True, max_streams=4)
    assert list(model.state_dict()) == list(ResNet(50).state_dict())
    assert model.stream_caches.max_streams == 4
