"""The shift, slot by slot, against the rule of DESIGN.md section 3."""
import pytest
import torch

from tsm_mm.ops import temporal_shift
from tsm_mm.ops.temporal_shift import (
    concat_shift,
    concat_shift_step,
    restore_slot_,
    shifted_conv_correction,
    stream_slot,
    swap_slot_,
)


def expected_shift(x, t, shift_div, direction):
    """The rule written frame by frame, channel by channel."""
    nt, c, h, w = x.shape
    fold = c // shift_div
    out = torch.zeros_like(x)
    for n in range(nt // t):
        for f in range(t):
            row = n * t + f
            for ch in range(c):
                if ch < fold and direction == 'bidirectional':
                    src = f + 1
                elif fold <= ch < 2 * fold:
                    src = f - 1
                else:
                    src = f
                if 0 <= src < t:
                    out[row, ch] = x[n * t + src, ch]
    return out


@pytest.mark.parametrize('direction', ['bidirectional', 'causal'])
@pytest.mark.parametrize('t', [1, 2, 8])
@pytest.mark.parametrize('c,shift_div', [(16, 8), (16, 4), (19, 8), (10, 4)])
def test_slots_match_rule(direction, t, c, shift_div):
    x = torch.arange(2 * t * c * 2 * 3, dtype=torch.float32).view(
        2 * t, c, 2, 3) + 1
    out = temporal_shift(x, t, shift_div, direction)
    torch.testing.assert_close(out, expected_shift(x, t, shift_div,
                                                   direction))
    assert out.data_ptr() != x.data_ptr()


def test_hand_built_two_frames():
    # one clip, T=2, C=4, shift_div=4 -> fold=1: ch0 from t+1, ch1 from t-1
    x = torch.tensor([[1., 2., 3., 4.], [5., 6., 7., 8.]]).view(2, 4, 1, 1)
    bi = temporal_shift(x, 2, 4).flatten(1)
    assert bi.tolist() == [[5., 0., 3., 4.], [0., 2., 7., 8.]]
    causal = temporal_shift(x, 2, 4, 'causal').flatten(1)
    assert causal.tolist() == [[1., 0., 3., 4.], [5., 2., 7., 8.]]


def test_input_untouched_and_channels_last():
    x = torch.randn(4, 16, 3, 3).contiguous(memory_format=torch.channels_last)
    before = x.clone()
    out = temporal_shift(x, 4)
    torch.testing.assert_close(x, before)
    torch.testing.assert_close(out, expected_shift(before, 4, 8,
                                                   'bidirectional'))


@pytest.mark.parametrize('direction', ['bidirectional', 'causal'])
def test_gradcheck(direction):
    x = torch.randn(6, 8, 2, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda v: temporal_shift(v, 3, 4, direction), (x, ))


@pytest.mark.parametrize('direction', ['bidirectional', 'causal'])
@pytest.mark.parametrize('c,shift_div', [(16, 8), (19, 8), (10, 2)])
def test_concat_form_matches_rule(direction, c, shift_div):
    x = torch.randn(6, c, 3, 3)
    torch.testing.assert_close(
        concat_shift(x, 3, c // shift_div, direction),
        expected_shift(x, 3, shift_div, direction), rtol=0, atol=0)


def test_steps_equal_causal_over_a_clip():
    """Both step forms, frame by frame, give the causal op over the clip;
    the in-place one leaves each frame as it found it once restored."""
    clip = torch.randn(5, 16, 3, 3)
    expected = expected_shift(clip, 5, 8, 'causal')
    cache, swap_cache = torch.zeros(1, 2, 3, 3), None
    for t, frame in enumerate(clip):
        out, cache = concat_shift_step(frame[None], cache, 2)
        torch.testing.assert_close(out, expected[t:t + 1], rtol=0, atol=0)
        x = frame[None].clone()
        new_cache = swap_slot_(x[:, stream_slot(2)], swap_cache)
        torch.testing.assert_close(x, expected[t:t + 1], rtol=0, atol=0)
        restore_slot_(x[:, stream_slot(2)], new_cache)
        torch.testing.assert_close(x, frame[None], rtol=0, atol=0)
        torch.testing.assert_close(new_cache, cache, rtol=0, atol=0)
        swap_cache = new_cache


@pytest.mark.parametrize('kernel,stride,padding,dilation', [
    (1, 1, 0, 1), (3, 1, 1, 1), (3, 2, 1, 1), (3, 1, 2, 2)])
def test_conv_correction_equals_conv_of_the_shifted_frames(
        kernel, stride, padding, dilation):
    """conv(x) + correction = conv(x with the cached slot), for 1x1, padded,
    strided and dilated convs (the bias only once)."""
    conv = torch.nn.Conv2d(16, 5, kernel, stride, padding, dilation,
                           bias=True).double()
    x = torch.randn(2, 16, 7, 6, dtype=torch.float64)
    cached = torch.randn(2, 2, 7, 6, dtype=torch.float64)
    shifted, _ = concat_shift_step(x, cached, 2)
    change = cached - x[:, stream_slot(2)]
    torch.testing.assert_close(
        conv(x) + shifted_conv_correction(conv, change, 2), conv(shifted),
        rtol=1e-12, atol=1e-12)


def test_hand_built_conv_correction():
    # C=4, fold=1: a 1x1 conv summing the channels with weights 1, 10, 100,
    # 1000; channel 1 (2 -> 9) adds 10 * (9 - 2) = 70
    conv = torch.nn.Conv2d(4, 1, 1, bias=False)
    conv.weight.data = torch.tensor([1., 10., 100., 1000.]).view(1, 4, 1, 1)
    x = torch.tensor([1., 2., 3., 4.]).view(1, 4, 1, 1)
    cached = torch.tensor([9.]).view(1, 1, 1, 1)
    correction = shifted_conv_correction(conv, cached - x[:, 1:2], 1)
    assert correction.flatten().tolist() == [70.]
    assert (conv(x) + correction).flatten().tolist() == [4391.]


def test_hand_built_step():
    # C=4, fold=1: channel 1 takes the previous frame's channel 1
    x = torch.tensor([1., 2., 3., 4.]).view(1, 4, 1, 1)
    cached = torch.tensor([9.]).view(1, 1, 1, 1)
    new_cache = swap_slot_(x[:, stream_slot(1)], cached)
    assert x.flatten().tolist() == [1., 9., 3., 4.]
    assert new_cache.flatten().tolist() == [2.]
    with pytest.raises(ValueError, match='does not fit'):
        concat_shift_step(x, torch.zeros(1, 2, 1, 1), 1)


@pytest.mark.parametrize('kwargs,match', [
    (dict(num_segments=3), 'multiple of num_segments'),
    (dict(num_segments=4, shift_div=1), 'shift_div=1'),
    (dict(num_segments=4, shift_div=17), 'shift_div=17'),
    (dict(num_segments=4, direction='forward'), 'direction'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        temporal_shift(torch.zeros(8, 16, 2, 2), **kwargs)


@pytest.mark.parametrize('kwargs,match', [
    (dict(num_segments=2.5), r'num_segments must be an int >= 1, got 2\.5 '
     r'\(float\)'),
    (dict(num_segments='4'), r"num_segments must be an int >= 1, got '4'"),
    (dict(num_segments=True), r'num_segments must be an int >= 1, got True'),
    (dict(num_segments=4, shift_div=8.5), r'shift_div must be an int, got '
     r'8\.5 \(float\)'),
])
def test_argument_types(kwargs, match):
    """Before: 2.5 gave 'not a multiple', 8.5 'slice indices must be
    integers', '4' a comparison error, True ran as 1."""
    with pytest.raises(TypeError, match=match):
        temporal_shift(torch.zeros(8, 16, 2, 2), **kwargs)


@pytest.mark.parametrize('direction', ['bidirectional', 'causal'])
def test_traced_shift_follows_its_input(direction):
    # tracing records the concatenation form, never a constant
    traced = torch.jit.trace(
        lambda v: temporal_shift(v, 2, 4, direction), torch.randn(4, 8, 2, 2))
    x = torch.randn(4, 8, 2, 2)
    torch.testing.assert_close(traced(x), expected_shift(x, 2, 4, direction))
