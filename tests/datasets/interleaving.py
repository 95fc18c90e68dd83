"""What a batch of interleaved video streams must satisfy."""


def check_interleaved(batches, lengths, batch_size):
    """Each frame once, <= 1 frame per video per batch, ascending."""
    seen = {}
    for batch in batches:
        videos = [v for v, _ in batch]
        assert 0 < len(batch) <= batch_size
        assert len(set(videos)) == len(videos)
        for v, f in batch:
            seen.setdefault(v, []).append(f)
    assert seen == {v: list(range(n)) for v, n in lengths.items()}
