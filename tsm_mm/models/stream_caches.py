"""Per-stream caches of the shifted channels, for frame-by-frame inference."""
from typing import Dict, Hashable, List, Optional, Sequence

import torch
from torch import Tensor


class StreamCaches:
    """What each stream's previous frame left at every shift site.

    A step reads the caches of its streams at each site, then stages the new
    ones; :meth:`commit` makes them current only once the whole step
    succeeded, so a failed step leaves every stream as it was.
    """

    def __init__(self) -> None:
        self._caches: Dict[Hashable, Dict[int, Tensor]] = {}
        self._staged: Dict[int, Tensor] = {}

    def read(self, site: int, stream_ids: Sequence[Hashable],
             like: Tensor) -> Optional[Tensor]:
        """Stack the caches of ``stream_ids`` at ``site``.

        Args:
            site (int): Index of the shift site.
            stream_ids (Sequence[Hashable]): The stream of each row.
            like (Tensor): This step's slot, shape (B, fold, H, W); streams
                without a cache get zeros of its shape.

        Returns:
            Tensor | None: (B, fold, H, W), or None when no stream has one.
        """
        rows = [self._caches.get(sid, {}).get(site) for sid in stream_ids]
        if all(row is None for row in rows):
            return None
        for sid, row in zip(stream_ids, rows):
            if row is not None and row.shape != like.shape[1:]:
                raise ValueError(
                    f'stream {sid!r}: the frame gives features of shape '
                    f'{tuple(like.shape[1:])} at shift site {site}, but the '
                    f'stream cached {tuple(row.shape)}; frames of one stream '
                    f'must share a size (reset_streams([{sid!r}]) to restart)')
        if len(rows) == 1:
            return rows[0][None]
        zeros = like.new_zeros(like.shape[1:])
        return torch.stack([zeros if row is None else row for row in rows])

    def stage(self, site: int, cache: Tensor) -> None:
        """Hold this step's new cache of ``site`` until :meth:`commit`."""
        self._staged[site] = cache

    def commit(self, stream_ids: Sequence[Hashable]) -> None:
        """Make the staged caches current, row ``i`` for ``stream_ids[i]``."""
        for i, sid in enumerate(stream_ids):
            caches = self._caches.setdefault(sid, {})
            for site, cache in self._staged.items():
                caches[site] = cache[i]
        self._staged = {}

    def discard(self) -> None:
        """Drop what a failed step staged."""
        self._staged = {}

    def reset(self, stream_ids: Optional[Sequence[Hashable]] = None) -> None:
        """Forget the caches of ``stream_ids``, or of every stream."""
        if stream_ids is None:
            self._caches.clear()
        for sid in stream_ids or ():
            self._caches.pop(sid, None)

    @property
    def stream_ids(self) -> List[Hashable]:
        """The streams that hold caches."""
        return list(self._caches)

    def nbytes(self, stream_id: Hashable) -> int:
        """Bytes cached for one stream (0 when it has no cache)."""
        return sum(t.numel() * t.element_size()
                   for t in self._caches.get(stream_id, {}).values())
