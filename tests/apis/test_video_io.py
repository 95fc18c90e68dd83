"""Reading frames: natural order of a folder, a video that ends early."""
import os.path as osp

import cv2
import numpy as np
import pytest

from tsm_mm.apis.video_io import TruncatedVideoError, VideoFrames, natural_key


def write_avi(path, num_frames, size=(32, 24), keep=1.0):
    """An MJPG avi of noise frames (frame i has mean ~ 4 i + 60), cut to
    ``keep`` of its bytes; returns the frames written."""
    rng = np.random.default_rng(0)
    frames = [np.clip(rng.integers(-30, 30, (size[1], size[0], 3)) + 4 * i
                      + 60, 0, 255).astype(np.uint8)
              for i in range(num_frames)]
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'MJPG'), 10, size)
    for frame in frames:
        writer.write(frame)
    writer.release()
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data[:int(len(data) * keep)])
    return frames


def test_natural_key_hand_computed():
    names = ['10.png', '2.png', '1.png', 'img_11.jpg', 'img_9.jpg', 'a.png']
    assert sorted(names, key=natural_key) == [
        '1.png', '2.png', '10.png', 'a.png', 'img_9.jpg', 'img_11.jpg']


def test_folder_is_read_in_natural_order(tmp_path):
    for i in range(1, 13):  # 1.png .. 12.png, pixel value 10 i
        cv2.imwrite(str(tmp_path / f'{i}.png'),
                    np.full((6, 8, 3), 10 * i, np.uint8))
    (tmp_path / 'notes.txt').write_text('not a frame')
    frames = VideoFrames(str(tmp_path))
    assert frames.num_frames == 12
    assert [int(frame[0, 0, 0]) for frame in frames] == [
        10 * i for i in range(1, 13)]


def test_complete_video_reads_every_frame(tmp_path):
    path = str(tmp_path / 'full.avi')
    written = write_avi(path, 30)
    frames = VideoFrames(path)
    assert frames.num_frames == 30
    means = [frame.mean() for frame in frames]
    np.testing.assert_allclose(means, [f.mean() for f in written], atol=3)


def test_video_that_ends_early_says_so(tmp_path):
    path = str(tmp_path / 'cut.avi')
    written = write_avi(path, 30, keep=0.5)
    frames = VideoFrames(path)
    assert frames.num_frames == 30  # what the container declares
    read = []
    with pytest.raises(TruncatedVideoError) as info:
        for frame in frames:
            read.append(frame)
    assert 0 < len(read) < 30
    assert str(info.value).startswith(
        f'{path} ended after {len(read)} of the 30 frames its container '
        'declares')
    assert isinstance(info.value, ValueError)
    # the frames before the end are the first ones, in order
    np.testing.assert_allclose([f.mean() for f in read],
                               [f.mean() for f in written[:len(read)]],
                               atol=3)
    assert osp.isfile(path)
