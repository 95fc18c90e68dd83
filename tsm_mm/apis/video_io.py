"""Frames in (a video file or a folder of images) and an mp4 out."""
import logging
import os
import os.path as osp
import re
from fractions import Fraction
from typing import Any, Iterator, List, Optional, Tuple, Union

import cv2
import mmcv
import numpy as np
from mmengine.logging import print_log

from ..utils.atomic_write import PendingFile

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff',
                    '.webp')
DEFAULT_FPS = 25.0  # for folders of frames, which carry no frame rate


class TruncatedVideoError(ValueError):
    """A video file ended before the frame count its container declares."""


def natural_key(name: str) -> List[Union[int, str]]:
    """Sort key that orders the numbers in names by value.

    ``'frame_2.jpg'`` comes before ``'frame_10.jpg'`` (a plain sort puts
    ``1, 10, 11, 2``). Written here: neither mmengine nor mmcv has one.
    """
    return [int(part) if part.isdigit() else part
            for part in re.split(r'(\d+)', name)]


class VideoFrames:
    """The frames of a video file or of a folder of images, BGR uint8.

    Opening checks the input: a missing path, a file OpenCV cannot open as
    a video, or a video or folder without a readable frame raises an error
    that names the path. Iterating yields the frames in order (a folder's
    images in natural order of their names: ``2.jpg`` before ``10.jpg``);
    every frame must have the first one's size, and a video file that ends
    before the frame count its container declares raises
    :class:`TruncatedVideoError` after its last readable frame.

    Args:
        path (str): A video file (read by ``mmcv.VideoReader``: anything
            ``cv2.VideoCapture`` reads) or a folder of images.

    Attributes:
        fps (float): Frames per second (:data:`DEFAULT_FPS` for folders).
        num_frames (int): Frames of a folder; for a video file, the count
            its container declares (0 when unknown).
        size (tuple[int, int]): ``(width, height)`` of the first frame.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        if not osp.exists(path):
            raise FileNotFoundError(f'no video or folder of frames at {path}')
        self._files: Optional[List[str]] = None
        if osp.isdir(path):
            self._files = [
                osp.join(path, name)
                for name in sorted(os.listdir(path), key=natural_key)
                if name.lower().endswith(IMAGE_EXTENSIONS)]
            if not self._files:
                raise ValueError(f'{path} is a folder without images '
                                 f'({", ".join(IMAGE_EXTENSIONS)})')
            self.fps, self.num_frames = DEFAULT_FPS, len(self._files)
            first = self._read_image(self._files[0])
        else:
            reader = self._open(path)
            first = reader.read()
            fps, count = reader.fps, reader.frame_cnt
            reader.vcap.release()
            if first is None:
                raise ValueError(f'{path} is a video without a readable '
                                 'frame')
            self.fps = fps if fps > 0 else DEFAULT_FPS
            self.num_frames = max(int(count), 0)
        self.size: Tuple[int, int] = (first.shape[1], first.shape[0])

    @staticmethod
    def _open(path: str) -> mmcv.VideoReader:
        # mmcv's reader (cv2 inside); it only asserts, so opening is checked
        reader = mmcv.VideoReader(path, cache_capacity=1)
        if not reader.opened:
            reader.vcap.release()
            raise ValueError(f'{path} cannot be opened as a video (not a '
                             'video file, or a codec OpenCV lacks)')
        return reader

    @staticmethod
    def _read_image(file: str) -> np.ndarray:
        image = cv2.imread(file, cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f'cannot read the image {file}')
        return image

    def _check_size(self, frame: np.ndarray, where: str) -> np.ndarray:
        if (frame.shape[1], frame.shape[0]) != self.size:
            raise ValueError(f'{where} is {frame.shape[1]}x{frame.shape[0]} '
                             f'but the first frame of {self.path} is '
                             f'{self.size[0]}x{self.size[1]}')
        return frame

    def __iter__(self) -> Iterator[np.ndarray]:
        """Yield every frame, (H, W, 3) BGR uint8, in order.

        Raises:
            ValueError: An image of a folder cannot be read, or a frame's
                size differs from the first one's.
            TruncatedVideoError: The video file ended early.
        """
        if self._files is not None:
            for file in self._files:
                yield self._check_size(self._read_image(file), file)
            return
        reader = self._open(self.path)
        try:
            index = 0
            while True:
                frame = reader.read()
                if frame is None:
                    break
                yield self._check_size(frame,
                                       f'frame {index} of {self.path}')
                index += 1
        finally:
            reader.vcap.release()
        if index < self.num_frames:
            raise TruncatedVideoError(
                f'{self.path} ended after {index} of the {self.num_frames} '
                'frames its container declares (a truncated or corrupt '
                'file?)')


def count_frames(path: str) -> int:
    """Decode a video (or list a folder) and count its frames."""
    return sum(1 for _ in VideoFrames(path))


def h264_encoder() -> Optional[str]:
    """The H.264 encoder of PyAV (``'libx264'``), or None without one.

    OpenCV's pip wheels cannot encode H.264 (no ``'avc1'`` writer), so
    browser-playable mp4s are written through PyAV's bundled FFmpeg.
    """
    try:
        import av
    except ImportError:
        return None
    return 'libx264' if 'libx264' in av.codecs_available else None


class _H264Stream:
    """Frames to an H.264 (yuv420p) mp4 through PyAV."""

    def __init__(self, path: str, fps: float, size: Tuple[int, int],
                 encoder: str) -> None:
        import av
        self._av = av
        self._container = av.open(path, 'w', format='mp4',
                                  options=dict(movflags='+faststart'))
        try:
            self._stream = self._container.add_stream(
                encoder, rate=Fraction(fps).limit_denominator(1001))
            # yuv420p, the format browsers play, needs even sides
            self._stream.width = size[0] + size[0] % 2
            self._stream.height = size[1] + size[1] % 2
            self._stream.pix_fmt = 'yuv420p'
        except BaseException:
            self._container.close()
            raise

    def write(self, frame: np.ndarray) -> None:
        pad_h = self._stream.height - frame.shape[0]
        pad_w = self._stream.width - frame.shape[1]
        if pad_h or pad_w:
            frame = np.pad(frame, ((0, pad_h), (0, pad_w), (0, 0)), 'edge')
        image = self._av.VideoFrame.from_ndarray(
            np.ascontiguousarray(frame), format='bgr24')
        for packet in self._stream.encode(image):
            self._container.mux(packet)

    def release(self, finish: bool = True) -> None:
        try:
            if finish:
                for packet in self._stream.encode():  # flush the encoder
                    self._container.mux(packet)
        finally:
            self._container.close()


class Mp4Writer:
    """Write BGR frames to an mp4 that appears only when complete.

    The video is H.264 in yuv420p (browsers play it), encoded by PyAV; a
    frame of an odd width or height gains one edge column or row (that
    format needs even sides). Where PyAV or its H.264 encoder is missing,
    OpenCV writes mp4v instead (browsers do not play it) and a warning
    says so, once per process. :attr:`codec` tells which was written.

    Frames go to a temporary file beside ``out_file``
    (:class:`~tsm_mm.utils.PendingFile`, same name), which replaces
    ``out_file`` on :meth:`close`; on an error (or no frame at all) the
    temporary file is removed and ``out_file`` is left as it was. Use it
    as a context manager.

    Args:
        out_file (str): The mp4 to write; its folder is created.
        fps (float): Frames per second.
    """

    _warned_mp4v = False

    def __init__(self, out_file: str, fps: float = DEFAULT_FPS) -> None:
        if fps <= 0:
            raise ValueError(f'fps must be > 0, got {fps}')
        self.out_file, self.fps = out_file, fps
        self._pending: Optional[PendingFile] = None  # from the first frame
        self._writer: Any = None  # _H264Stream or cv2.VideoWriter
        self._size: Optional[Tuple[int, int]] = None
        self.num_frames = 0
        self.codec: Optional[str] = None  # 'h264' or 'mp4v', once opened

    def _open(self, size: Tuple[int, int]) -> None:
        self._pending = PendingFile(self.out_file)
        encoder = h264_encoder()
        if encoder is not None:
            try:
                self._writer = _H264Stream(self._pending.path, self.fps,
                                           size, encoder)
            except Exception as err:
                self._discard()
                raise RuntimeError(f'cannot write an H.264 video to '
                                   f'{self.out_file}: {err}') from err
            self.codec = 'h264'
            return
        if not Mp4Writer._warned_mp4v:
            Mp4Writer._warned_mp4v = True
            print_log(
                'PyAV with an H.264 encoder (libx264) is not installed: '
                f'writing mp4v videos ({self.out_file}), which browsers do '
                'not play; `pip install av` for H.264', 'current',
                level=logging.WARNING)
        self._writer = cv2.VideoWriter(
            self._pending.path, cv2.VideoWriter_fourcc(*'mp4v'), self.fps,
            size)
        if not self._writer.isOpened():
            self._discard()
            raise RuntimeError(f'OpenCV cannot write an mp4v video to '
                               f'{self.out_file}')
        self.codec = 'mp4v'

    def write(self, frame: np.ndarray) -> None:
        """Append one (H, W, 3) BGR uint8 frame of the first frame's size."""
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError('frames must be (H, W, 3) uint8, got '
                             f'{frame.shape} {frame.dtype}')
        size = (frame.shape[1], frame.shape[0])
        if self._writer is None:
            self._open(size)
            self._size = size
        elif size != self._size:
            # cv2.VideoWriter would silently drop it
            raise ValueError(f'frame {self.num_frames} is {size[0]}x'
                             f'{size[1]}, the video {self.out_file} is '
                             f'{self._size[0]}x{self._size[1]}')
        self._writer.write(np.ascontiguousarray(frame))
        self.num_frames += 1

    def close(self) -> None:
        """Finish the file and move it to ``out_file``."""
        if self._writer is None:
            raise ValueError(f'no frame was written to {self.out_file}')
        writer, self._writer = self._writer, None
        try:
            writer.release()
        except BaseException:
            self._discard()
            raise
        self._pending.commit()
        self._pending = None

    def _discard(self) -> None:
        if self._writer is not None:
            writer, self._writer = self._writer, None
            try:
                if isinstance(writer, _H264Stream):
                    writer.release(finish=False)
                else:
                    writer.release()
            except Exception:  # the file is dropped anyway
                pass
        if self._pending is not None:
            self._pending.discard()
            self._pending = None

    def __enter__(self) -> 'Mp4Writer':
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self._discard()
