"""Reading frames: natural order of a folder, a video that ends early."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from tsm_mm.apis import video_io
from tsm_mm.apis.video_io import (
    Mp4Writer,
    TruncatedVideoError,
    VideoFrames,
    natural_key,
)


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


def video_stream(path):
    """Codec name, pixel format, size and frame count of an mp4 (PyAV)."""
    import av
    with av.open(path) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return (stream.codec_context.name, stream.codec_context.pix_fmt,
                (stream.width, stream.height), frames)


@pytest.mark.parametrize('size', [(32, 24), (33, 25)])
def test_mp4_writer_writes_browser_playable_h264(size, tmp_path):
    out = str(tmp_path / 'out.mp4')
    frames = [np.full((size[1], size[0], 3), value, np.uint8)
              for value in (0, 100, 200)]
    with Mp4Writer(out, 10) as writer:
        for frame in frames:
            writer.write(frame)
    assert writer.codec == 'h264'
    # H.264 in yuv420p (what browsers play) needs even sides: odd ones
    # gain one edge row / column
    even = (size[0] + size[0] % 2, size[1] + size[1] % 2)
    assert video_stream(out) == ('h264', 'yuv420p', even, 3)
    with open(out, 'rb') as f:
        assert b'avc1' in f.read()  # the sample entry browsers look for
    read = list(VideoFrames(out))
    np.testing.assert_allclose([f[:size[1], :size[0]].mean() for f in read],
                               [0, 100, 200], atol=8)
    assert os.listdir(tmp_path) == ['out.mp4']  # no temporary left


def test_mp4_writer_falls_back_to_mp4v_with_one_warning(tmp_path,
                                                        monkeypatch):
    monkeypatch.setattr(video_io, 'h264_encoder', lambda: None)
    monkeypatch.setattr(Mp4Writer, '_warned_mp4v', False)
    logged = []
    monkeypatch.setattr(video_io, 'print_log',
                        lambda msg, *a, **k: logged.append(msg))
    for name in ('a.mp4', 'b.mp4'):
        with Mp4Writer(str(tmp_path / name), 10) as writer:
            writer.write(np.zeros((24, 32, 3), np.uint8))
        assert writer.codec == 'mp4v'
        assert video_stream(str(tmp_path / name))[0] == 'mpeg4'
    assert len(logged) == 1 and 'mp4v' in logged[0], logged


def test_mp4_writer_error_leaves_no_output(tmp_path):
    out = tmp_path / 'out.mp4'
    out.write_bytes(b'an older result')
    with pytest.raises(RuntimeError, match='stop'):
        with Mp4Writer(str(out), 10) as writer:
            writer.write(np.zeros((24, 32, 3), np.uint8))
            raise RuntimeError('stop')
    assert out.read_bytes() == b'an older result'
    assert os.listdir(tmp_path) == ['out.mp4']


def test_video_files_are_read_through_mmcv(tmp_path, monkeypatch):
    import mmcv
    path = str(tmp_path / 'full.avi')
    write_avi(path, 5)
    opened = []

    class Spy(mmcv.VideoReader):

        def __init__(self, filename, *args, **kwargs):
            opened.append(filename)
            super().__init__(filename, *args, **kwargs)

    monkeypatch.setattr(video_io.mmcv, 'VideoReader', Spy)
    assert sum(1 for _ in VideoFrames(path)) == 5
    assert opened == [path, path]
