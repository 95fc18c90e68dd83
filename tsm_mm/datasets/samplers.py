"""Test-time batches that stream several videos side by side."""
from collections import deque
from typing import Deque, Dict, Iterator, List, Optional, Tuple

from mmdet.registry import DATA_SAMPLERS
from torch.utils.data import Sampler

FrameIndex = Tuple[int, int]  # (video_idx, frame_idx)


@DATA_SAMPLERS.register_module()
class VideoInterleavedBatchSampler(Sampler):
    """Batches that advance up to ``batch_size`` videos by one frame each.

    Each batch slot streams one video in frame order; when its video ends,
    the slot takes the next video. A batch therefore never holds two frames
    of one video, and each video's frames arrive in ascending order, each
    once — what a streaming detector with one cache per video needs. Only
    the last batches are short, when fewer videos than slots remain.

    Use it as the test dataloader's ``batch_sampler`` over mmdet's
    ``TrackImgSampler``, which gives each rank its own whole videos::

        test_dataloader = dict(
            batch_size=4,  # parallel video streams
            sampler=dict(type='TrackImgSampler'),
            batch_sampler=dict(type='VideoInterleavedBatchSampler'),
            dataset=dict(type='ImageNetVIDDataset', test_mode=True, ...))

    Args:
        sampler (Sampler): Yields this rank's ``(video_idx, frame_idx)``,
            each video's frames ascending (its videos may interleave).
        batch_size (int): Number of parallel streams (slots).
    """

    def __init__(self, sampler: Sampler, batch_size: int) -> None:
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(
                f'batch_size must be an int >= 1, got {batch_size!r}')
        self.sampler = sampler
        self.batch_size = batch_size

    def _videos(self) -> Deque[Tuple[int, Deque[int]]]:
        """The sampler's frames grouped by video, in order of first use."""
        videos: Dict[int, Deque[int]] = {}
        for video_idx, frame_idx in self.sampler:
            frames = videos.setdefault(int(video_idx), deque())
            if frames and int(frame_idx) <= frames[-1]:
                raise ValueError(
                    f'{type(self).__name__} needs each video\'s frames in '
                    f'ascending order, once each: video {video_idx} gave '
                    f'frame {frame_idx} after {frames[-1]} (use a '
                    'test-mode TrackImgSampler)')
            frames.append(int(frame_idx))
        return deque(videos.items())

    def _batches(self) -> List[List[FrameIndex]]:
        """All batches of this rank, computed from the sampler."""
        queue = self._videos()
        slots: List[Optional[Tuple[int, Deque[int]]]] = [None] * \
            self.batch_size
        batches = []
        while True:
            batch = []
            for s, slot in enumerate(slots):
                if (slot is None or not slot[1]) and queue:
                    slot = slots[s] = queue.popleft()
                if slot is not None and slot[1]:
                    batch.append((slot[0], slot[1].popleft()))
            if not batch:
                return batches
            batches.append(batch)

    def __iter__(self) -> Iterator[List[FrameIndex]]:
        return iter(self._batches())

    def __len__(self) -> int:
        return len(self._batches())
