"""StreamingTSMResNet: build-time refusals, modes, bounded stream memory."""

import pytest
import torch
from mmdet.models.backbones import ResNet
from random_weights import randomize_bn

from tsm_mm.models.backbones import StreamingTSMResNet
from tsm_mm.ops import temporal_shift


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


@pytest.mark.parametrize('grad', [False, True])
def test_stream_step_with_and_without_autograd(grad):
    """Without autograd a site's input is swapped in place and restored:
    every stage output (as FPN reads them after the backbone) and the
    caller's frame must come out as with the copying step autograd uses."""
    model = r18(num_segments=4, direction='causal')
    model.out_indices = (0, 1, 2, 3)
    clip = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        offline = model(clip)
    before = clip.clone()
    with torch.set_grad_enabled(grad):
        steps = [model.forward_stream(frame[None], ['v']) for frame in clip]
    for level, expected in enumerate(offline):
        got = torch.cat([step[level] for step in steps])
        assert (got - expected).abs().max() <= 1e-5 * expected.abs().max()
        assert got.requires_grad == grad
    torch.testing.assert_close(clip, before, rtol=0, atol=0)
    if grad:  # the copying step keeps the graph of this frame intact
        sum(out.sum() for out in steps[-1]).backward()
        assert model.layer1[0].conv1.weight.grad.abs().sum() > 0
    # no cache holds a graph from one frame to the next
    caches = model.stream_caches.caches('v')
    assert len(caches) == model.num_shift_sites
    assert not any(cache.requires_grad for cache in caches.values())


def test_a_failed_in_place_step_leaves_the_features_as_they_were():
    model = r18(num_segments=4, direction='causal')
    x = torch.randn(1, 64, 8, 8)
    boom = RuntimeError('boom')

    def fail(module, args):
        raise boom

    handle = model.layer1[0].conv1.register_forward_pre_hook(fail)
    before = x.clone()
    with torch.no_grad(), pytest.raises(RuntimeError, match='boom'), \
            model.stream_step(['v']):
        model.layer1(x)
    handle.remove()
    torch.testing.assert_close(x, before, rtol=0, atol=0)


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
