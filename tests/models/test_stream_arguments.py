"""What a stream step is told: stream ids, frame ids, shared ids."""
import numpy as np
import pytest
import torch

from tsm_mm.models.backbones import StreamingTSMResNet
from tsm_mm.models.stream_caches import StreamOrderError


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    return StreamingTSMResNet(18, num_segments=2, out_indices=(0, ),
                              routed=True).eval()


def step(model, stream_ids, frame_ids=None, lengths=None):
    """One committed step of the backbone on random frames."""
    with torch.no_grad(), model.stream_step(stream_ids, frame_ids,
                                            lengths):
        model(torch.randn(len(stream_ids), 3, 16, 16))


@pytest.mark.parametrize('frame_id, error, shown', [
    (1.7, TypeError, r'1\.7 \(float\)'), (True, TypeError, r'True \(bool\)'),
    ('1', TypeError, r"'1' \(str\)"),
    (np.float64(1.0), TypeError, r'np\.float64\(1\.0\) \(float64\)'),
    (-1, ValueError, '-1')])
def test_frame_ids_must_be_non_negative_ints(model, frame_id, error, shown):
    """Before: 1.7 and True ran as frame 1; -1 was called out of order."""
    model.reset_streams()
    step(model, ['a', 'v'], [0, 0])
    with pytest.raises(error, match=r"stream 'v': frame_id must be an "
                       rf'int >= 0, got {shown}'):
        step(model, ['a', 'v'], [1, frame_id])
    assert model.stream_caches.next_frame('v') == 1  # nothing committed


def test_numpy_int_frame_ids_and_lengths_are_ints(model):
    model.reset_streams()
    step(model, ['v'], [np.int64(0)], [np.int32(2)])
    assert model.stream_caches.next_frame('v') == 1
    step(model, ['v'], [np.int64(1)], [np.int32(2)])
    assert model.stream_caches.stream_ids == []  # released at its end
    with pytest.raises(TypeError, match=r"stream 'v': length must be an "
                       r'int >= 1, got 2\.5'):
        step(model, ['v'], [0], [2.5])


@pytest.mark.parametrize('stream_id', [[1, 2], {'video': 3}])
def test_an_unhashable_stream_id_is_named(model, stream_id):
    """Before: a bare ``TypeError: unhashable type: 'list'``."""
    kind = type(stream_id).__name__
    with pytest.raises(TypeError, match=rf'stream id {stream_id!r} \(row 1, '
                       rf'{kind}\) is not hashable'.replace('[', r'\[')):
        step(model, ['a', stream_id])
    with pytest.raises(TypeError, match='is not hashable'):
        model.reset_streams([stream_id])


@pytest.mark.parametrize('order', [
    # video A, then B restarts the id, then A goes on
    [('A', 0), ('A', 1), ('A', 2), ('B', 0), ('A', 3)],
    # frame by frame, A and B alternate: B's frame 1 fails
    [('A', 0), ('B', 0), ('A', 1), ('B', 1)],
])
def test_two_videos_under_one_id_are_named_shared(model, order):
    """Before: only 'frame 3 arrived but the stream expects frame 1'."""
    model.reset_streams()
    for _, frame in order[:-1]:
        step(model, [7], [frame])
    video, frame = order[-1]
    with pytest.raises(StreamOrderError,
                       match=r'stream 7: frame \d arrived but the stream '
                       r'expects frame \d.*stream id 7 is shared by two '
                       r'videos: frame 0 restarted it when it expected '
                       rf'frame {frame}'):
        step(model, [7], [frame])


def test_a_skip_is_not_called_shared(model):
    model.reset_streams()
    for frame in (0, 1, 0, 1):  # a video run twice
        step(model, [8], [frame])
    with pytest.raises(StreamOrderError) as err:
        step(model, [8], [3])
    assert 'expects frame 2' in str(err.value)
    assert 'shared' not in str(err.value)
