"""Reading a CocoVID json file (the mmtracking schema), every record checked.

Annotation files are json only: any other suffix (a ``.pkl`` above all,
which runs code when it is unpickled) is refused before the file is read.
A fault is named by the file and the record, e.g. ``val.json:
annotations[7] (id 8)``, with how many records share it. The checks are a
few passes over plain lists and one numpy array of boxes: ImageNet-VID's
train json (about a million boxes) costs them a small fraction of its
parsing.
"""
import json
import os.path as osp
from itertools import chain
from operator import itemgetter
from typing import Any, List, Optional, Sequence

import mmengine.fileio as fileio
import numpy as np

__all__ = ['boxes_array', 'check_cocovid', 'load_cocovid_json',
           'read_json_only']

_INT = (int, )  # json gives int; bool (a subclass) is refused
_NUMBER = (int, float)


class _Missing:
    """The value of a key a record lacks."""

    def __repr__(self) -> str:
        return 'missing'


_MISSING = _Missing()


def read_json_only(ann_file: str, backend_args: Optional[dict] = None) -> Any:
    """Parse ``ann_file`` as json; refuse any other suffix unread.

    Args:
        ann_file (str): Path or URL of a ``.json`` file.
        backend_args (dict, optional): MMEngine file backend arguments.

    Returns:
        Any: The parsed json.

    Raises:
        ValueError: Naming the file: not a ``.json`` name, empty, or not
            valid json (e.g. truncated).
    """
    suffix = osp.splitext(ann_file)[1]
    if suffix.lower() != '.json':
        raise ValueError(
            f'{ann_file}: annotation files are read as json only (CocoVID '
            'json, as tools/convert_imagenet_vid.py writes); '
            f'{repr(suffix) if suffix else "a name without suffix"} is '
            'refused unread, since a pickle runs code when it is loaded')
    content = fileio.get(ann_file, backend_args=backend_args)
    if not content:
        raise ValueError(f'{ann_file}: the file is empty (0 bytes)')
    try:
        return json.loads(content)
    except UnicodeDecodeError as err:
        raise ValueError(f'{ann_file}: not valid json: not text ({err})'
                         ) from None
    except json.JSONDecodeError as err:
        raise ValueError(
            f'{ann_file}: not valid json ({err.msg} at line {err.lineno} '
            f'column {err.colno} of {len(content)} bytes): truncated or '
            'not a json file?') from None


class _Records:
    """One list of a CocoVID dict (``images``, ...), checked column-wise."""

    def __init__(self, ann_file: str, name: str, records: Any) -> None:
        self.ann_file, self.name = ann_file, name
        if not isinstance(records, list):
            raise ValueError(f'{ann_file}: {name} must be a list, got '
                             f'{type(records).__name__}')
        self.records = records
        types = set(map(type, records))
        if types - {dict}:
            self.fail([not isinstance(r, dict) for r in records],
                      'is not a dict')

    def where(self, k: int) -> str:
        """``file: name[k] (id ...)``."""
        record = self.records[k]
        ident = record.get('id', _MISSING) if isinstance(record,
                                                         dict) else _MISSING
        return (f'{self.ann_file}: {self.name}[{k}]' +
                ('' if ident is _MISSING else f' (id {ident!r})'))

    def fail(self, bad: Sequence[bool], what: str) -> None:
        """Raise for the first ``bad`` record, with how many are bad."""
        bad = np.asarray(bad, dtype=bool)
        k = int(np.argmax(bad))
        raise ValueError(f'{self.where(k)} {what} ({int(bad.sum())} of '
                         f'{len(bad)} {self.name} fail this check)')

    def column(self, key: str, types: tuple, required: bool = True,
               what: str = '') -> List[Any]:
        """Every record's ``key`` (``_MISSING`` where optional and absent),
        each of one of ``types``."""
        if required:
            try:
                values = list(map(itemgetter(key), self.records))
            except KeyError:
                values = [r.get(key, _MISSING) for r in self.records]
        else:
            values = [r.get(key, _MISSING) for r in self.records]
        allowed = set(types) | (set() if required else {_Missing})
        if set(map(type, values)) - allowed:
            k = next(k for k, v in enumerate(values)
                     if type(v) not in allowed)
            if values[k] is _MISSING:
                self.fail([v is _MISSING for v in values], f'has no {key}')
            self.fail([type(v) not in allowed for v in values],
                      f'has {key} {values[k]!r}: expected '
                      f'{what or " or ".join(t.__name__ for t in types)}')
        return values

    def unique(self, key: str, values: List[Any]) -> None:
        """Refuse a repeated ``key`` value."""
        present = [v for v in values if v is not _MISSING]
        if len(set(present)) == len(present):
            return
        seen = {}
        for k, value in enumerate(values):
            if value is not _MISSING and seen.setdefault(value, k) != k:
                raise ValueError(
                    f'{self.where(k)} repeats the {key} of {self.name}'
                    f'[{seen[value]}]: {self.name} {key}s are not unique')

    def check(self, bad: np.ndarray, what: str) -> None:
        """Raise for the first record flagged in ``bad``."""
        if bad.any():
            self.fail(bad, what)


def boxes_array(boxes: List[list]) -> np.ndarray:
    """(N, 4) float64 array of N lists of 4 numbers (fast for millions)."""
    return np.fromiter(chain.from_iterable(boxes), dtype=np.float64,
                       count=4 * len(boxes)).reshape(-1, 4)


def _check_numbers(records: _Records, key: str, positive: bool) -> None:
    """``key`` of every record: a finite number (> 0 if ``positive``)."""
    values = np.fromiter(records.column(key, _NUMBER, what='a number'),
                         dtype=np.float64, count=len(records.records))
    records.check(~np.isfinite(values), f'has {key} that is not finite')
    if positive:
        records.check(values <= 0, f'has {key} <= 0')


def _check_boxes(anns: _Records) -> None:
    """``bbox`` of every annotation: 4 finite numbers, w and h >= 0."""
    boxes = anns.column('bbox', (list, ), what='a list [x, y, w, h]')
    lengths = np.fromiter(map(len, boxes), dtype=np.int64, count=len(boxes))
    anns.check(lengths != 4, 'has a bbox of other than 4 numbers')
    if set(map(type, chain.from_iterable(boxes))) - set(_NUMBER):
        anns.fail([any(type(v) not in _NUMBER for v in box)
                   for box in boxes], 'has a bbox with a non-number')
    xywh = boxes_array(boxes)
    bad = ~np.isfinite(xywh).all(axis=1)
    if bad.any():
        k = int(np.argmax(bad))
        anns.fail(bad, f'has bbox {boxes[k]} that is not finite')
    bad = (xywh[:, 2:] < 0).any(axis=1)
    if bad.any():
        k = int(np.argmax(bad))
        anns.fail(bad, f'has bbox {boxes[k]} of negative width or height')


def _check_known(records: _Records, key: str, values: List[Any],
                 known: List[Any], of: str) -> None:
    """Every ``values`` (the records' ``key``) is one of ``known``."""
    known = set(known)
    if known.issuperset(values):
        return
    bad = [v not in known for v in values]
    if any(bad):
        k = bad.index(True)
        records.fail(bad, f'has {key} {values[k]!r}, the id of none of '
                     f'the {of}')


def check_cocovid(data: Any,
                  ann_file: str,
                  image_keys: Sequence[str] = (),
                  annotation_keys: Sequence[str] = ()) -> None:
    """Check the lists and records a CocoVID reader relies on.

    ``images``: ``id`` (unique int), ``file_name`` (str), optional
    ``video_id`` (int) with ``frame_id`` (int >= 0). ``annotations``:
    ``id`` (unique int), ``image_id`` and ``category_id`` (ids of an image
    and a category of the file), ``bbox`` (4 finite numbers [x, y, w, h],
    w, h >= 0), optional ``instance_id`` (int or null). ``categories``:
    ``id`` and ``name``, both unique. ``videos`` is optional.

    Args:
        data: The parsed json.
        ann_file (str): Names the file in errors.
        image_keys (Sequence[str]): Image keys that must also be numbers
            > 0 (e.g. ``width``, ``height``).
        annotation_keys (Sequence[str]): Annotation keys that must also be
            finite numbers (e.g. ``area``).

    Raises:
        ValueError: Naming the file, the first bad record and how many
            records share the fault.
    """
    if not isinstance(data, dict):
        raise ValueError(
            f'{ann_file}: holds a json {type(data).__name__}, not a CocoVID '
            'dict with images, annotations and categories')
    missing = [key for key in ('images', 'annotations', 'categories')
               if key not in data]
    if missing:
        raise ValueError(f'{ann_file}: a CocoVID json needs {missing} '
                         f'(it has {sorted(data)})')
    cats = _Records(ann_file, 'categories', data['categories'])
    cat_ids = cats.column('id', _INT)
    cats.unique('id', cat_ids)
    cats.unique('name', cats.column('name', (str, )))
    if 'videos' in data:
        _Records(ann_file, 'videos', data['videos'])

    images = _Records(ann_file, 'images', data['images'])
    if not images.records:
        raise ValueError(f'{ann_file}: has no images')
    image_ids = images.column('id', _INT)
    images.unique('id', image_ids)
    images.column('file_name', (str, ))
    video_ids = images.column('video_id', _INT, required=False)
    frame_ids = images.column('frame_id', _INT, required=False)
    images.check(
        np.array([v is not _MISSING and f is _MISSING
                  for v, f in zip(video_ids, frame_ids)]),
        'has a video_id but no frame_id')
    images.check(
        np.array([f is not _MISSING and f < 0 for f in frame_ids]),
        'has a frame_id < 0')
    for key in image_keys:
        _check_numbers(images, key, positive=True)

    anns = _Records(ann_file, 'annotations', data['annotations'])
    anns.unique('id', anns.column('id', _INT))
    _check_known(anns, 'image_id', anns.column('image_id', _INT), image_ids,
                 'images')
    _check_known(anns, 'category_id', anns.column('category_id', _INT),
                 cat_ids, 'categories')
    anns.column('instance_id', _INT + (type(None), ), required=False)
    _check_boxes(anns)
    for key in annotation_keys:
        _check_numbers(anns, key, positive=False)


def load_cocovid_json(ann_file: str,
                      backend_args: Optional[dict] = None,
                      image_keys: Sequence[str] = (),
                      annotation_keys: Sequence[str] = ()) -> dict:
    """Read a CocoVID json (json only) and check its records.

    Args:
        ann_file (str): Path or URL of the ``.json`` file.
        backend_args (dict, optional): MMEngine file backend arguments.
        image_keys, annotation_keys: See :func:`check_cocovid`.

    Returns:
        dict: The parsed json.

    Raises:
        ValueError: Naming the file (and the record): see
            :func:`read_json_only` and :func:`check_cocovid`.
    """
    data = read_json_only(ann_file, backend_args)
    check_cocovid(data, ann_file, image_keys, annotation_keys)
    return data
