"""Clips of consecutive frames around a key frame, inside one video."""
from typing import List, Tuple

import numpy as np

CLIP_ANCHORS = ('center', 'end')


def clip_frame_indices(video_length: int,
                       key_frame: int,
                       clip_len: int,
                       anchor: str = 'center') -> Tuple[List[int], int]:
    """Frames of the clip of ``clip_len`` consecutive frames around a key.

    The key frame sits at clip position ``clip_len // 2`` (``'center'``) or
    ``clip_len - 1`` (``'end'``, nothing from the future); the window then
    slides to stay inside the video, so near a video's ends the key moves
    off its anchor. A video shorter than the clip is taken whole, its first
    frame repeated before and its last frame after to fill ``clip_len``
    (a one-frame video, e.g. a DET image, gives ``clip_len`` copies).

    Args:
        video_length (int): Number of frames of the video.
        key_frame (int): Index of the key frame in the video.
        clip_len (int): Number of frames of the clip (T).
        anchor (str): ``'center'`` or ``'end'``.

    Returns:
        tuple[list[int], int]: The T frame indices, in non-decreasing order,
        and the clip position of the key frame.
    """
    if clip_len < 1:
        raise ValueError(f'clip_len must be >= 1, got {clip_len}')
    if anchor not in CLIP_ANCHORS:
        raise ValueError(f'anchor must be one of {CLIP_ANCHORS}, got '
                         f'{anchor!r}')
    if not 0 <= key_frame < video_length:
        raise ValueError(f'key_frame {key_frame} is outside a video of '
                         f'{video_length} frames')
    key_pos = clip_len // 2 if anchor == 'center' else clip_len - 1
    spare = video_length - clip_len  # < 0 when the video is too short
    start = int(np.clip(key_frame - key_pos, min(0, spare), max(0, spare)))
    frames = np.clip(np.arange(start, start + clip_len), 0, video_length - 1)
    return frames.tolist(), key_frame - start
