"""The state of every stream, owned in one place, changed in transactions.

A stream is one video fed frame by frame. Its state is the cache of each
shift site (what its previous frame left there), the frame it expects next
and when it was last fed. A step (:meth:`StreamCaches.step`) declares the
frames it runs, reads the committed caches, stages the new ones and commits
everything at once when the whole step succeeded; a failed step changes
nothing. Memory is bounded: streams not fed for ``max_idle_steps`` steps,
or the least recently fed beyond ``max_streams``, are released with a
warning.
"""
import logging
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import (
    Dict,
    Hashable,
    Iterator,
    List,
    Optional,
    Sequence,
    Set,
)

import torch
from mmengine.logging import print_log
from torch import Tensor

from ..utils.arg_types import check_int

# what a step names: its streams, their frames and videos' lengths
StreamIds = Sequence[Hashable]
FrameIds = Optional[Sequence[int]]
Lengths = Optional[Sequence[Optional[int]]]
# released streams remembered (id and reason only) to explain a late frame
_RELEASED_MEMORY = 1024


class StreamOrderError(ValueError):
    """A frame arrived out of its stream's order.

    Attributes:
        row (int): Its row in the step.
        stream_id (Hashable): Its stream.
    """

    def __init__(self, message: str, row: int, stream_id: Hashable) -> None:
        super().__init__(message)
        self.row, self.stream_id = row, stream_id


class RepeatedStreamError(StreamOrderError):
    """A stream gave two frames in one step; ``row`` is the second."""


@dataclass
class _Stream:
    """The committed state of one stream.

    ``interrupted`` is the frame it expected when a frame 0 restarted it
    (None if it never was): that frame arriving later means two videos
    share the stream's id.
    """
    caches: Dict[int, Tensor]  # shift site -> (1, fold, H, W)
    next_frame: int
    length: Optional[int]
    last_step: int
    interrupted: Optional[int] = None


def _check_hashable(stream_ids: Sequence[Hashable]) -> None:
    """Refuse a stream id that cannot key a dict, naming it."""
    for row, sid in enumerate(stream_ids):
        try:
            hash(sid)
        except TypeError:
            raise TypeError(
                f'stream id {sid!r} (row {row}, {type(sid).__name__}) is not '
                'hashable: name each stream by an int or str (e.g. its '
                'video id)') from None


@dataclass
class _Rows:
    """The streams of one forward, resolved once for all its shift sites.

    Attributes:
        source (list): The step's list these rows were resolved from.
        stream_ids (list): One stream per row.
        committed (list[dict | None]): Each row's committed caches by site;
            None for a new or restarted stream.
        staged (dict[int, Tensor]): Site -> the rows' new caches, batched.
    """
    source: List[Hashable]
    stream_ids: List[Hashable]
    committed: List[Optional[Dict[int, Tensor]]]
    staged: Dict[int, Tensor] = field(default_factory=dict)

    def read(self, site: int, like: Tensor) -> Optional[Tensor]:
        """See :meth:`StreamCaches.read`."""
        if len(self.committed) == 1:  # one stream: the step's usual case
            caches = self.committed[0]
            cached = None if caches is None else caches.get(site)
            if cached is not None and cached.shape[1:] != like.shape[1:]:
                self._refuse_size(site, like, self.stream_ids[0], cached)
            return cached
        cached = [None if caches is None else caches.get(site)
                  for caches in self.committed]
        if all(row is None for row in cached):
            return None
        for sid, row in zip(self.stream_ids, cached):
            if row is not None and row.shape[1:] != like.shape[1:]:
                self._refuse_size(site, like, sid, row)
        zeros = like.new_zeros((1, ) + like.shape[1:])
        return torch.cat([zeros if row is None else row for row in cached])

    @staticmethod
    def _refuse_size(site: int, like: Tensor, stream_id: Hashable,
                     cached: Tensor) -> None:
        raise ValueError(
            f'stream {stream_id!r}: the frame gives features of shape '
            f'{tuple(like.shape[1:])} at shift site {site}, but the stream '
            f'cached {tuple(cached.shape[1:])}; frames of one stream must '
            f'share a size (reset_streams([{stream_id!r}]) to restart)')

    def stage(self, site: int, cache: Tensor) -> None:
        """See :meth:`StreamCaches.stage`."""
        if cache.shape[0] != len(self.stream_ids):
            raise ValueError(f'got {cache.shape[0]} caches for '
                             f'{len(self.stream_ids)} streams')
        if site in self.staged:
            raise RuntimeError(f'streams {self.stream_ids} ran twice in one '
                               'step')
        self.staged[site] = cache


@dataclass
class StreamStep:
    """One step under way: its frames and what it staged so far.

    Attributes:
        stream_ids (list): The streams of the step, one frame each.
        frame_ids (list[int]): The frame each stream gives.
        lengths (list[int | None]): Each stream's length, when known.
    """
    stream_ids: List[Hashable]
    frame_ids: List[int]
    lengths: List[Optional[int]]
    restarts: Set[Hashable] = field(default_factory=set)
    forwards: List[_Rows] = field(default_factory=list)
    fed: Set[Hashable] = field(default_factory=set)
    active: Optional[List[Hashable]] = None

    @contextmanager
    def rows(self, stream_ids: Sequence[Hashable]) -> Iterator[None]:
        """Run the forwards inside on these streams of the step only.

        Args:
            stream_ids (Sequence[Hashable]): Streams of the step, one per
                row of the forwarded batch.
        """
        stream_ids = list(stream_ids)
        unknown = [sid for sid in stream_ids if sid not in self.stream_ids]
        if unknown:
            raise ValueError(f'streams {unknown} are not part of this step '
                             f'({self.stream_ids})')
        outer, self.active = self.active, stream_ids
        try:
            yield
        finally:
            self.active = outer

    @property
    def current(self) -> List[Hashable]:
        """The streams of the rows a forward runs now."""
        return self.stream_ids if self.active is None else self.active


class StreamCaches:
    """The one owner of stream state: caches, frame counters, releases.

    Args:
        max_streams (int): Most streams kept; beyond it the least recently
            fed are released (with a warning). Defaults to 16.
        max_idle_steps (int): A stream not fed for this many steps is
            released (with a warning). Defaults to 256.
    """

    def __init__(self, max_streams: int = 16,
                 max_idle_steps: int = 256) -> None:
        for name, value in (('max_streams', max_streams),
                            ('max_idle_steps', max_idle_steps)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f'{name} must be an int >= 1, got {value!r}')
        self.max_streams = max_streams
        self.max_idle_steps = max_idle_steps
        self._streams: Dict[Hashable, _Stream] = OrderedDict()  # LRU first
        self._released: Dict[Hashable, str] = OrderedDict()
        self._steps = 0  # committed steps
        self._open: Optional[StreamStep] = None

    # --- the step, as a transaction ------------------------------------

    @contextmanager
    def step(self, stream_ids: StreamIds, frame_ids: FrameIds = None,
             lengths: Lengths = None) -> Iterator[StreamStep]:
        """One frame of each stream; committed as one, or not at all.

        Args:
            stream_ids (Sequence[Hashable]): Distinct, hashable streams.
            frame_ids (Sequence[int], optional): The frame of each stream,
                an int >= 0 (numpy ints too): 0 (re)starts it, any other
                must be the one it expects. None continues each stream (a
                new one starts at frame 0).
            lengths (Sequence[int | None], optional): Each stream's length
                (an int >= 1 or None): a stream is released once it
                reached it.

        Yields:
            StreamStep: The step; its new caches are staged by
            :meth:`stage`. On a clean exit the caches, frame counters and
            releases are committed together; on an exception none is.
        """
        if self._open is not None:
            raise RuntimeError('a stream step is already running')
        step = self._begin(list(stream_ids), frame_ids, lengths)
        self._open = step
        try:
            yield step
        finally:
            self._open = None
        self._commit(step)

    def _begin(self, stream_ids: List[Hashable],
               frame_ids: Optional[Sequence[int]],
               lengths: Optional[Sequence[Optional[int]]]) -> StreamStep:
        """Check the declared frames against the committed state."""
        try:
            repeated = len(set(stream_ids)) != len(stream_ids)
        except TypeError:
            _check_hashable(stream_ids)  # names the unhashable one
            raise
        if repeated:
            first: Dict[Hashable, int] = {}
            for row, sid in enumerate(stream_ids):
                if first.setdefault(sid, row) != row:
                    raise RepeatedStreamError(
                        f'a stream may give one frame per step, got '
                        f'stream_ids={stream_ids} (stream {sid!r} at rows '
                        f'{first[sid]} and {row})', row, sid)
        if len(stream_ids) > self.max_streams:
            raise ValueError(
                f'a step of {len(stream_ids)} streams exceeds max_streams='
                f'{self.max_streams} (raise it in the backbone config)')
        lengths = [None] * len(stream_ids) if lengths is None else \
            list(lengths)
        expected = [self.next_frame(sid) for sid in stream_ids]
        frame_ids = expected if frame_ids is None else list(frame_ids)
        if not len(lengths) == len(frame_ids) == len(stream_ids):
            raise ValueError(
                f'got {len(stream_ids)} stream_ids, {len(frame_ids)} '
                f'frame_ids and {len(lengths)} lengths')
        frame_ids = [self._checked(sid, 'frame_id', frame, 0)
                     for sid, frame in zip(stream_ids, frame_ids)]
        lengths = [None if length is None else
                   self._checked(sid, 'length', length, 1)
                   for sid, length in zip(stream_ids, lengths)]
        restarts = set()
        for row, (sid, frame, want) in enumerate(
                zip(stream_ids, frame_ids, expected)):
            if frame == 0:
                restarts.add(sid)
            elif frame != want:
                raise StreamOrderError(self._order_message(sid, frame, want),
                                       row, sid)
        return StreamStep(stream_ids, frame_ids, lengths, restarts)

    @staticmethod
    def _checked(stream_id: Hashable, name: str, value, low: int) -> int:
        """``value`` as an int >= ``low``, or an error naming the stream."""
        if type(value) is int and value >= low:  # every frame: no ABC check
            return value
        try:
            return check_int(value, name, low)
        except (TypeError, ValueError) as err:
            raise type(err)(f'stream {stream_id!r}: {err}') from None

    def _order_message(self, stream_id: Hashable, frame: int,
                       want: int) -> str:
        """Why ``frame`` cannot follow: a released stream, an id that two
        videos share (a frame 0 interrupted it at this frame), a skip."""
        why = self._released.get(stream_id)
        stream = self._streams.get(stream_id)
        shared = stream is not None and stream.interrupted == frame
        return (f'stream {stream_id!r}: frame {frame} arrived but the stream '
                f'expects frame {want}'
                + (f' (it was released: {why})' if why else '')
                + (f'; stream id {stream_id!r} is shared by two videos: '
                   'frame 0 restarted it when it expected frame '
                   f'{frame}, and frame {frame} came now; give each video '
                   'its own stream id' if shared else '')
                + '; feed each stream in frame order (frame 0 restarts it)')

    def _commit(self, step: StreamStep) -> None:
        """Make the step's caches and counters current, then release."""
        unfed = [sid for sid in step.stream_ids if sid not in step.fed]
        if unfed:
            raise RuntimeError(f'streams {unfed} were declared but not run '
                               'in the step; nothing was committed')
        staged: Dict[Hashable, Dict[int, Tensor]] = {}
        for rows in step.forwards:  # batched caches -> (1, ...) per stream
            if len(rows.stream_ids) == 1:
                staged[rows.stream_ids[0]] = rows.staged
                continue
            per_site = {site: cache.split(1)
                        for site, cache in rows.staged.items()}
            for i, sid in enumerate(rows.stream_ids):
                staged[sid] = {site: split[i]
                               for site, split in per_site.items()}
        for sid, frame, length in zip(step.stream_ids, step.frame_ids,
                                      step.lengths):
            old = self._streams.pop(sid, None)
            restarted = old is not None and sid in step.restarts
            if old is None or restarted:
                caches = staged.get(sid, {})
            else:
                caches = old.caches
                caches.update(staged.get(sid, ()))
            if self._released:
                self._released.pop(sid, None)
            if length is not None and frame + 1 >= length:
                continue  # the video ended: its state goes
            if old is not None and not restarted:  # one frame on
                old.next_frame, old.length = frame + 1, length
                old.last_step = self._steps
                self._streams[sid] = old
                continue
            interrupted = old.next_frame if restarted else \
                None if old is None else old.interrupted
            self._streams[sid] = _Stream(caches, frame + 1, length,
                                         self._steps, interrupted)
        self._steps += 1
        self._release_idle_and_excess()

    def _release_idle_and_excess(self) -> None:
        """Release streams idle too long, then the LRU beyond the bound."""
        idle = [sid for sid, s in self._streams.items()
                if self._steps - 1 - s.last_step >= self.max_idle_steps]
        for sid in idle:
            self._release(sid, f'not fed for {self.max_idle_steps} steps '
                          '(max_idle_steps)')
        excess = len(self._streams) - self.max_streams
        for sid in list(self._streams)[:excess] if excess > 0 else ():
            self._release(sid, f'more than max_streams={self.max_streams} '
                          'streams; it was the least recently fed')

    def _release(self, stream_id: Hashable, why: str) -> None:
        self._streams.pop(stream_id)
        self._released[stream_id] = why
        while len(self._released) > _RELEASED_MEMORY:
            self._released.pop(next(iter(self._released)))
        print_log(f'stream {stream_id!r} released: {why}; its next frame '
                  'must be frame 0', 'current', level=logging.WARNING)

    # --- what a shift site does inside a step ----------------------------

    def _rows(self) -> _Rows:
        """The rows a forward runs now, resolved once per forward: the
        shift sites of a frame look their caches up in it."""
        if self._open is None:
            raise RuntimeError('no stream step is running')
        step = self._open
        current = step.current
        if step.forwards and step.forwards[-1].source is current:
            return step.forwards[-1]
        again = [sid for sid in current if sid in step.fed]
        if again:
            raise RuntimeError(f'streams {again} ran twice in one step')
        committed = [None if sid in step.restarts or sid not in self._streams
                     else self._streams[sid].caches for sid in current]
        rows = _Rows(current, list(current), committed)
        step.forwards.append(rows)
        step.fed.update(current)
        return rows

    def feed(self, num_rows: int) -> _Rows:
        """The rows of a forward of ``num_rows`` rows in the step.

        Returns:
            _Rows: Their streams (``stream_ids``), committed caches
            (``read``) and new ones (``stage``), for each shift site.
        """
        rows = self._rows()
        if num_rows != len(rows.stream_ids):
            raise ValueError(f'got {num_rows} frames for '
                             f'{len(rows.stream_ids)} stream_ids')
        return rows

    def read(self, site: int, like: Tensor) -> Optional[Tensor]:
        """The committed caches of the running rows at ``site``.

        Args:
            site (int): Index of the shift site.
            like (Tensor): This step's slot, shape (B, fold, H, W); streams
                without a cache get zeros of its shape.

        Returns:
            Tensor | None: (B, fold, H, W), or None when no stream has one.
        """
        return self._rows().read(site, like)

    def stage(self, site: int, cache: Tensor) -> None:
        """Hold the running rows' new caches of ``site`` until the commit.

        Args:
            site (int): Index of the shift site.
            cache (Tensor): (B, fold, H, W), one row per running stream.
        """
        self._rows().stage(site, cache)

    # --- queries and explicit resets -----------------------------------

    def reset(self, stream_ids: Optional[Sequence[Hashable]] = None) -> None:
        """Forget the state of ``stream_ids``, or of every stream."""
        if self._open is not None:
            raise RuntimeError('cannot reset streams while a step runs')
        if stream_ids is not None:
            stream_ids = list(stream_ids)
            _check_hashable(stream_ids)
        for sid in list(self._streams) if stream_ids is None else stream_ids:
            self._streams.pop(sid, None)
            self._released.pop(sid, None)

    @property
    def stream_ids(self) -> List[Hashable]:
        """The streams that hold state, least recently fed first."""
        return list(self._streams)

    def next_frame(self, stream_id: Hashable) -> int:
        """The frame ``stream_id`` expects (0 for a new stream)."""
        stream = self._streams.get(stream_id)
        return 0 if stream is None else stream.next_frame

    def caches(self, stream_id: Hashable) -> Dict[int, Tensor]:
        """The committed cache of each shift site of ``stream_id``, by
        site, each (fold, H, W) (empty for a stream without state)."""
        stream = self._streams.get(stream_id)
        return {} if stream is None else \
            {site: cache[0] for site, cache in stream.caches.items()}

    def nbytes(self, stream_id: Optional[Hashable] = None) -> int:
        """Bytes cached for one stream, or for all (0 when none)."""
        streams = self._streams.values() if stream_id is None else \
            [self._streams[stream_id]] if stream_id in self._streams else []
        return sum(t.numel() * t.element_size()
                   for s in streams for t in s.caches.values())
