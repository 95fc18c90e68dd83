"""StreamCaches: one owner of stream state, changed in transactions."""

import pytest
import torch

from tsm_mm.models.stream_caches import StreamCaches, StreamOrderError


def run(caches, stream_ids, values, frame_ids=None, lengths=None, sites=2):
    """One step: every site caches ``values[i]`` for ``stream_ids[i]``;
    returns what each site read (None or one value per row)."""
    reads, new = [], torch.tensor(values, dtype=torch.float)[:, None]
    with caches.step(stream_ids, frame_ids, lengths):
        caches.feed(len(stream_ids))
        for site in range(sites):
            like = torch.zeros(len(stream_ids), 1)
            got = caches.read(site, like)
            reads.append(None if got is None else got[:, 0].tolist())
            caches.stage(site, new)
    return reads


def test_a_step_reads_the_last_commit_and_counts_frames():
    caches = StreamCaches()
    assert run(caches, ['a'], [1.]) == [None, None]
    assert run(caches, ['a', 'b'], [2., 5.]) == [[1., 0.], [1., 0.]]
    assert run(caches, ['b', 'a'], [6., 3.]) == [[5., 2.], [5., 2.]]
    assert caches.next_frame('a') == 3 and caches.next_frame('b') == 2
    assert caches.next_frame('new') == 0
    assert caches.nbytes('a') == 2 * 4 and caches.nbytes() == 4 * 4


def test_a_failed_step_changes_nothing():
    caches = StreamCaches()
    run(caches, ['a'], [1.])
    with pytest.raises(RuntimeError, match='boom'):
        with caches.step(['a', 'b'], [1, 0]):
            caches.feed(2)
            caches.stage(0, torch.tensor([[9.], [9.]]))
            raise RuntimeError('boom')
    assert caches.stream_ids == ['a'] and caches.next_frame('a') == 1
    # frame 0 of a running stream restarts it, but only if the step commits
    with pytest.raises(RuntimeError, match='boom'):
        with caches.step(['a'], [0]):
            caches.feed(1)
            assert caches.read(0, torch.zeros(1, 1)) is None
            raise RuntimeError('boom')
    assert run(caches, ['a'], [2.], frame_ids=[1]) == [[1.], [1.]]
    # a stream declared but not run commits nothing
    with pytest.raises(RuntimeError, match='not run'):
        with caches.step(['a', 'c']):
            pass  # no forward ran
    assert caches.next_frame('a') == 2 and 'c' not in caches.stream_ids


def test_frame_order_and_restart():
    caches = StreamCaches()
    run(caches, ['v'], [1.], frame_ids=[0])
    with pytest.raises(StreamOrderError, match='frame 2 .* expects frame 1'):
        run(caches, ['v'], [2.], frame_ids=[2])
    with pytest.raises(StreamOrderError, match='expects frame 0'):
        run(caches, ['w'], [2.], frame_ids=[3])
    assert run(caches, ['v'], [7.], frame_ids=[0]) == [None, None]
    with pytest.raises(ValueError, match='one frame per step'):
        run(caches, ['v', 'v'], [1., 1.])
    with pytest.raises(RuntimeError, match='already running'):
        with caches.step(['v']):
            with caches.step(['w']):
                pass


def test_a_video_of_known_length_is_released_at_its_end(warnings_log):
    caches = StreamCaches()
    for frame in range(3):
        run(caches, ['v'], [1.], frame_ids=[frame], lengths=[3])
    assert caches.stream_ids == [] and caches.nbytes() == 0
    assert warnings_log == []  # the normal end is no warning


def test_streams_beyond_max_streams_are_released(warnings_log):
    caches = StreamCaches(max_streams=3)
    for video in range(200):  # 200 videos of 2 frames, lengths unknown
        for frame in range(2):
            run(caches, [video], [float(video)], frame_ids=[frame])
        assert len(caches.stream_ids) <= 3
    assert caches.stream_ids == [197, 198, 199]
    assert len(warnings_log) == 197
    assert 'stream 0 released: more than max_streams=3' in warnings_log[0]
    # the released video cannot go on silently; its frame 0 restarts it
    with pytest.raises(StreamOrderError, match='released: more than'):
        run(caches, [0], [0.], frame_ids=[2])
    assert run(caches, [0], [5.], frame_ids=[0]) == [None, None]
    assert run(caches, [0], [6.], frame_ids=[1]) == [[5.], [5.]]
    with pytest.raises(ValueError, match='exceeds max_streams=3'):
        run(caches, [1, 2, 3, 4], [0.] * 4)


def test_idle_streams_are_released(warnings_log):
    caches = StreamCaches(max_idle_steps=2)
    run(caches, ['idle', 'busy'], [1., 1.])
    run(caches, ['busy'], [1.])
    assert caches.stream_ids == ['idle', 'busy']
    run(caches, ['busy'], [1.])  # 'idle' missed two steps
    assert caches.stream_ids == ['busy']
    assert warnings_log == ["stream 'idle' released: not fed for 2 steps "
                            '(max_idle_steps); its next frame must be '
                            'frame 0']


def test_bad_bounds_are_refused():
    with pytest.raises(ValueError, match='max_streams'):
        StreamCaches(max_streams=0)
    with pytest.raises(ValueError, match='max_idle_steps'):
        StreamCaches(max_idle_steps=1.5)


def test_a_stream_runs_once_per_step_whatever_the_rows():
    caches = StreamCaches()
    with pytest.raises(RuntimeError, match=r"\['a', 'b'\] ran twice"):
        with caches.step(['a', 'b']):
            caches.feed(2)
            caches.stage(0, torch.zeros(2, 1))
            caches.stage(0, torch.zeros(2, 1))  # a second forward
    with pytest.raises(RuntimeError, match=r"\['b'\] ran twice"):
        with caches.step(['a', 'b']) as step:
            with step.rows(['b']):
                caches.feed(1)
            with step.rows(['a', 'b']):
                caches.feed(2)
    with pytest.raises(ValueError, match='got 1 caches for 2 streams'):
        with caches.step(['a', 'b']):
            caches.feed(2)
            caches.stage(0, torch.zeros(1, 1))
    assert caches.stream_ids == []


def test_rows_run_apart_commit_each_their_own_cache():
    caches = StreamCaches()
    with caches.step(['a', 'b', 'c']) as step:
        with step.rows(['c', 'a']):
            caches.feed(2)
            caches.stage(0, torch.tensor([[3.], [1.]]))
        with step.rows(['b']):
            caches.feed(1)
            caches.stage(0, torch.tensor([[2.]]))
    assert {sid: caches.caches(sid)[0].item() for sid in 'abc'} == \
        dict(a=1., b=2., c=3.)
    # site 1 cached nothing
    assert run(caches, ['b', 'c', 'a'], [0.] * 3) == [[2., 3., 1.], None]
