"""VideoInterleavedBatchSampler on hand-built samplers (the Runner and
two-rank paths are in test_imagenet_vid.py)."""
import numpy as np
import pytest
from interleaving import check_interleaved

from tsm_mm.datasets import VideoInterleavedBatchSampler


def test_interleaved_batches_hand_computed():
    lengths = dict(enumerate([5, 1, 3, 7, 2, 2]))
    sampler = [(v, f) for v, n in lengths.items() for f in range(n)]
    batches = list(VideoInterleavedBatchSampler(sampler, batch_size=3))
    check_interleaved(batches, lengths, 3)
    # slots: 0 <- v0 (steps 0-4) then v5 (5-6); 1 <- v1 (0) then v3 (1-7);
    # 2 <- v2 (0-2) then v4 (3-4)
    assert batches == [
        [(0, 0), (1, 0), (2, 0)], [(0, 1), (3, 0), (2, 1)],
        [(0, 2), (3, 1), (2, 2)], [(0, 3), (3, 2), (4, 0)],
        [(0, 4), (3, 3), (4, 1)], [(5, 0), (3, 4)], [(5, 1), (3, 5)],
        [(3, 6)]]
    assert len(VideoInterleavedBatchSampler(sampler, batch_size=3)) == 8


@pytest.mark.parametrize('batch_size', [1, 2, 4, 9])
def test_interleaved_batches_uneven_videos(batch_size):
    rng = np.random.default_rng(0)
    lengths = {v: int(n) for v, n in enumerate(rng.integers(1, 12, 17))}
    sampler = [(v, f) for v, n in lengths.items() for f in range(n)]
    batches = list(VideoInterleavedBatchSampler(sampler, batch_size))
    check_interleaved(batches, lengths, batch_size)
    # no slot idles while a video waits: only the tail batches are short
    sizes = [len(b) for b in batches]
    assert sizes == sorted(sizes, reverse=True)
    if batch_size == 1:
        assert [i for b in batches for i in b] == sampler


def test_interleaved_rejects_bad_input():
    with pytest.raises(ValueError, match='ascending'):
        list(VideoInterleavedBatchSampler([(0, 1), (0, 0)], batch_size=2))
    with pytest.raises(ValueError, match='batch_size'):
        VideoInterleavedBatchSampler([], batch_size=0)
