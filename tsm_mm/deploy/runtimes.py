"""Streaming runtimes for an exported step: the caller gives frames, the
runtime keeps each stream's caches.

A step graph (see :func:`~tsm_mm.deploy.export_stream_onnx`) is a pure
function ``(frame, cache_0..K-1) -> (outputs..., new_cache_0..K-1)``. The
runtimes here hide the caches: :class:`OrtStream` keeps them per stream as
arrays and runs the streams of a step as one batch (ONNX Runtime);
:class:`OpenVINOStream` makes them the model's own state and keeps one
infer request per stream (OpenVINO). Both check the frame order the same
way (:class:`StreamRuntime`) and return the graph's other outputs, whatever
they are. Inference needs numpy and the runtime only, no torch.
"""
import json
import logging
from typing import Callable, Dict, Hashable, List, Optional, Sequence, Union

import numpy as np
from mmengine.logging import print_log

from ..utils.arg_types import check_int

StreamIds = Sequence[Hashable]
FrameIds = Optional[Sequence[int]]
PRECISIONS = ('f32', 'bf16', 'default')


def load_interface(interface: Union[Dict, str]) -> Dict:
    """The interface dict of an exported graph, or read from its JSON.

    Args:
        interface (dict | str): What ``export_stream_onnx`` returned, or
            the file ``dump_interface`` wrote.

    Returns:
        dict: The interface.
    """
    if isinstance(interface, str):
        with open(interface) as f:
            interface = json.load(f)
    if not isinstance(interface, dict) or not {
            'inputs', 'outputs', 'caches'} <= set(interface):
        raise ValueError('interface must be a dict (or its JSON file) with '
                         "'inputs', 'outputs' and 'caches', got "
                         f'{type(interface).__name__}')
    return interface


class StreamRuntime:
    """Frame-order bookkeeping of streams over an exported step.

    A stream is one video fed frame by frame under an id. Frame 0 (re)starts
    it from zero caches; any other frame must be the one it expects (a new
    or reset stream expects 0). A refused step changes no stream.
    Subclasses run the graph (:meth:`_run`), free a stream's state
    (:meth:`_release`) and say what a failed run leaves (:meth:`_abort`).

    Args:
        interface (dict | str): The graph's interface, or its JSON file.
    """

    def __init__(self, interface: Union[Dict, str]) -> None:
        interface = load_interface(interface)
        self.interface = interface
        self.caches = list(interface['caches'])
        cache_in = {c['input'] for c in self.caches}
        cache_out = {c['output'] for c in self.caches}
        frames = [i for i in interface['inputs'] if i['name'] not in cache_in]
        if not frames:
            raise ValueError('interface must name an input besides the '
                             'caches (the frame)')
        self.frame_name = frames[0]['name']
        self.frame_shape = list(frames[0]['shape'])  # axis 0: int or name
        # per-stream inputs after the frame (a detector's img_shape, ...)
        self.side_names = [i['name'] for i in frames[1:]]
        outputs = {o['name'] for o in interface['outputs']}
        unlisted = [name for name in self.side_names
                    if f'new_{name}' in outputs]
        if unlisted:
            raise ValueError(f'interface: the inputs {unlisted} have new_* '
                             "outputs but are not among its 'caches'")
        self.output_names = [o['name'] for o in interface['outputs']
                             if o['name'] not in cache_out]
        self._next: Dict[Hashable, int] = {}  # stream -> frame it expects
        self._fixed_batch: Optional[int] = None  # streams a run must have

    # --- the step ----------------------------------------------------------

    def step(self, frames: np.ndarray, stream_ids: StreamIds,
             frame_ids: FrameIds = None,
             **side: np.ndarray) -> Dict[str, np.ndarray]:
        """Run one frame of each stream.

        Args:
            frames (np.ndarray): (B, C, H, W) preprocessed frames, one per
                stream, floating point (run as float32).
            stream_ids (Sequence[Hashable]): B distinct streams.
            frame_ids (Sequence[int], optional): Each stream's frame, an
                int >= 0: 0 (re)starts it, another must be the one it
                expects. None continues each stream (a new one at 0).
            **side (np.ndarray): The graph's other inputs (its
                ``side_names``), B rows each.

        Returns:
            dict[str, np.ndarray]: The graph's outputs other than the
            caches, by name, row i from stream ``stream_ids[i]``.
        """
        frames = self._check_frames(frames)
        side = self._check_side(side, len(frames))
        stream_ids, frame_ids = self._check_order(stream_ids, frame_ids,
                                                  len(frames))
        restarts = [frame == 0 for frame in frame_ids]
        try:
            outs = self._run(frames, side, stream_ids, restarts)
        except BaseException:
            self._abort(stream_ids)
            raise
        for sid, frame in zip(stream_ids, frame_ids):
            self._next[sid] = frame + 1
        return outs

    def _check_frames(self, frames: np.ndarray) -> np.ndarray:
        """``frames`` as C-contiguous float32, or an error naming them."""
        if not isinstance(frames, np.ndarray):
            raise TypeError(f'frames must be a numpy array (B, C, H, W), '
                            f'got {type(frames).__name__}')
        if not np.issubdtype(frames.dtype, np.floating):
            raise TypeError(f'frames must be floating point, got '
                            f'{frames.dtype}')
        want = tuple(self.frame_shape[1:])
        if frames.ndim != 4 or frames.shape[1:] != want or not len(frames):
            raise ValueError(
                f'frames must be (B >= 1, {", ".join(map(str, want))}) as '
                f'the graph was exported, got {frames.shape}')
        if self._fixed_batch is not None and \
                len(frames) != self._fixed_batch:
            raise ValueError(f'frames: the graph takes exactly '
                             f'{self._fixed_batch} streams per step (a fixed '
                             f'stream axis), got {len(frames)}')
        return np.ascontiguousarray(frames, dtype=np.float32)

    def _check_side(self, side: Dict[str, np.ndarray],
                    batch: int) -> Dict[str, np.ndarray]:
        """The side inputs as float32 arrays of ``batch`` rows, or an error
        naming the input."""
        if sorted(side) != sorted(self.side_names):
            raise ValueError(f'the graph takes the inputs {self.side_names} '
                             f'besides the frames, got {sorted(side)}')
        checked = {}
        for name in self.side_names:
            value = np.ascontiguousarray(side[name], dtype=np.float32)
            if value.ndim < 1 or len(value) != batch:
                raise ValueError(f'{name} must have one row per stream '
                                 f'({batch}), got shape {value.shape}')
            checked[name] = value
        return checked

    def _check_order(self, stream_ids: StreamIds, frame_ids: FrameIds,
                     num_frames: int):
        """The step's streams and frames, checked against each stream."""
        stream_ids = list(stream_ids)
        if len(stream_ids) != num_frames:
            raise ValueError(f'got {num_frames} frames for '
                             f'{len(stream_ids)} stream_ids')
        first: Dict[Hashable, int] = {}
        for row, sid in enumerate(stream_ids):
            try:
                seen = first.setdefault(sid, row)
            except TypeError:
                raise TypeError(f'stream_ids: stream id {sid!r} (row {row}) '
                                'is not hashable') from None
            if seen != row:
                raise ValueError(
                    f'stream_ids: a stream gives one frame per step, got '
                    f'stream {sid!r} at rows {seen} and {row}')
        if frame_ids is None:
            return stream_ids, [self.next_frame(sid) for sid in stream_ids]
        frame_ids = list(frame_ids)
        if len(frame_ids) != len(stream_ids):
            raise ValueError(f'got {len(frame_ids)} frame_ids for '
                             f'{len(stream_ids)} stream_ids')
        checked = []
        for sid, frame in zip(stream_ids, frame_ids):
            try:
                frame = check_int(frame, 'frame_id', 0)
            except (TypeError, ValueError) as err:
                raise type(err)(f'stream {sid!r}: {err}') from None
            want = self.next_frame(sid)
            if frame and frame != want:
                why = ('it is new or was reset' if sid not in self._next else
                       'a repeated frame' if frame < want else
                       f'{frame - want} skipped')
                raise ValueError(
                    f'stream {sid!r}: frame {frame} arrived but the stream '
                    f'expects frame {want} ({why}); feed each stream in '
                    'frame order (frame 0 restarts it)')
            checked.append(frame)
        return stream_ids, checked

    def _abort(self, stream_ids: List[Hashable]) -> None:
        """A run failed: forget its streams (they restart at frame 0)."""
        for sid in stream_ids:
            self._next.pop(sid, None)
            self._release(sid)

    # --- streams -----------------------------------------------------------

    def reset(self, stream_ids: Optional[StreamIds] = None) -> None:
        """Free the state of ``stream_ids`` (unknown ones are ignored), or
        of every stream."""
        ids = list(self._next) if stream_ids is None else list(stream_ids)
        for sid in ids:
            if self._next.pop(sid, None) is not None:
                self._release(sid)

    @property
    def stream_ids(self) -> List[Hashable]:
        """The streams that hold state."""
        return list(self._next)

    def next_frame(self, stream_id: Hashable) -> int:
        """The frame ``stream_id`` expects (0 for a new stream)."""
        return self._next.get(stream_id, 0)

    # --- what a runtime provides ------------------------------------------

    def _run(self, frames: np.ndarray, side: Dict[str, np.ndarray],
             stream_ids: List[Hashable],
             restarts: List[bool]) -> Dict[str, np.ndarray]:
        """Run the checked step; ``restarts[i]``: row i starts from zero
        caches. Keeps the new caches of the rows."""
        raise NotImplementedError

    def _release(self, stream_id: Hashable) -> None:
        """Free what the runtime holds for ``stream_id``."""
        raise NotImplementedError


class StreamRows:
    """Each stream's rows of the caches: gathered into the batch of a step
    (zeros where a stream restarts), kept from the step's new caches.

    Args:
        zeros (list): One stream's zero caches, one per shift site.
        concat (Callable): Joins rows along axis 0 (``np.concatenate``,
            ``torch.cat``).
    """

    def __init__(self, zeros: list, concat: Callable) -> None:
        self.zeros = list(zeros)
        self.concat = concat
        self.rows: Dict[Hashable, list] = {}

    def gather(self, stream_ids: List[Hashable],
               restarts: List[bool]) -> list:
        """The caches of a step over ``stream_ids``, one per site."""
        caches = []
        for k, zero in enumerate(self.zeros):
            rows = [zero if restart else self.rows[sid][k]
                    for sid, restart in zip(stream_ids, restarts)]
            caches.append(rows[0] if len(rows) == 1 else self.concat(rows))
        return caches

    def keep(self, stream_ids: List[Hashable], new_caches: Sequence) -> None:
        """Row i of each new cache becomes stream ``stream_ids[i]``'s."""
        for i, sid in enumerate(stream_ids):
            self.rows[sid] = [cache[i:i + 1] for cache in new_caches]

    def pop(self, stream_id: Hashable) -> None:
        """Forget a stream's rows."""
        self.rows.pop(stream_id, None)


class OrtStream(StreamRuntime):
    """An exported step on ONNX Runtime, the caches kept per stream.

    The streams of a step run as one batch (the graph's stream axis is
    dynamic, or fixed to the step's size); each stream keeps the rows of
    the new caches it produced.

    Args:
        onnx_path (str): The exported step.
        interface (dict | str): Its interface, or its JSON file.
        threads (int, optional): Intra-op threads; None: ONNX Runtime's
            choice.
    """

    def __init__(self, onnx_path: str, interface: Union[Dict, str],
                 threads: Optional[int] = None) -> None:
        super().__init__(interface)
        import onnxruntime as ort
        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = check_int(threads, 'threads', 1)
            options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            onnx_path, options, providers=['CPUExecutionProvider'])
        inputs = [i.name for i in self.session.get_inputs()]
        want = [self.frame_name, *self.side_names,
                *(c['input'] for c in self.caches)]
        if sorted(inputs) != sorted(want):
            raise ValueError(f'interface names the inputs {want}, but '
                             f'{onnx_path} takes {inputs}')
        self._fetch = [*self.output_names,
                       *(c['output'] for c in self.caches)]
        self._rows = StreamRows(
            [np.zeros((1, *c['shape'][1:]), np.float32)
             for c in self.caches], np.concatenate)
        self.precision = 'f32'
        if isinstance(self.frame_shape[0], int):
            self._fixed_batch = self.frame_shape[0]

    def _run(self, frames: np.ndarray, side: Dict[str, np.ndarray],
             stream_ids: List[Hashable],
             restarts: List[bool]) -> Dict[str, np.ndarray]:
        feed = {self.frame_name: frames, **side}
        feed.update(zip((c['input'] for c in self.caches),
                        self._rows.gather(stream_ids, restarts)))
        outs = self.session.run(self._fetch, feed)
        num_out = len(self.output_names)
        self._rows.keep(stream_ids, outs[num_out:])
        return dict(zip(self.output_names, outs[:num_out]))

    def _abort(self, stream_ids: List[Hashable]) -> None:
        pass  # the caches change only after a run succeeded

    def _release(self, stream_id: Hashable) -> None:
        self._rows.pop(stream_id)


def _shield_new_caches(model, names: Sequence[str]) -> None:
    """Put ``max(x, x)`` (an identity) before each new-cache output of an
    int8 model, so OpenVINO's low-precision passes keep the cache's
    dequantizing multiply off the state it becomes: they otherwise move it
    onto the ``Assign`` and fail to compile (OpenVINO 2026.4, stateful
    int8 ResNet steps).

    Args:
        model (openvino.Model): The read model, changed in place.
        names (Sequence[str]): The new-cache output names.
    """
    from openvino import opset13
    for name in names:
        result = model.output(name).get_node()
        source = result.input_value(0)
        identity = opset13.maximum(source, source)
        tensor_names = source.get_names()
        source.get_tensor().set_names(set())
        identity.output(0).get_tensor().set_names(tensor_names)
        result.input(0).replace_source_output(identity.output(0))


class OpenVINOStream(StreamRuntime):
    """An exported step on OpenVINO (CPU), the caches as the model's state.

    The graph is reshaped to one stream, its caches become variables
    (``cache_k`` read, ``new_cache_k`` assigned) and it is compiled once;
    each stream owns an infer request, whose state is its caches. The
    streams of a step run asynchronously, one request each. A failed step
    forgets its streams (their state is unknown): they restart at frame 0.

    Args:
        onnx_path (str): The exported step, or the OpenVINO IR
            (``.xml``) of its int8 quantization
            (``tools/quantize_openvino.py``).
        interface (dict | str): Its interface, or its JSON file.
        precision (str): ``'f32'``, ``'bf16'`` (f32 where the CPU has no
            bf16 support, with a warning), or ``'default'`` (the plugin's
            choice, by the CPU: bf16 where it supports it, else f32).
            :attr:`precision` says what the compiled model uses
            (``'int8+bf16'``: a quantized model, bf16 between).
        threads (int, optional): Inference threads; None: OpenVINO's
            choice.
    """

    def __init__(self, onnx_path: str, interface: Union[Dict, str],
                 precision: str = 'f32',
                 threads: Optional[int] = None) -> None:
        super().__init__(interface)
        if precision not in PRECISIONS:
            raise ValueError(f'precision must be one of {PRECISIONS}, got '
                             f'{precision!r}')
        import openvino as ov
        from openvino._offline_transformations import (
            apply_make_stateful_transformation,
        )
        core = ov.Core()
        model = core.read_model(onnx_path)
        inputs = [i.get_any_name() for i in model.inputs]
        want = [self.frame_name, *self.side_names,
                *(c['input'] for c in self.caches)]
        if sorted(inputs) != sorted(want):
            raise ValueError(f'interface names the inputs {want}, but '
                             f'{onnx_path} takes {inputs}')
        model.reshape({
            i.get_any_name(): ov.PartialShape(
                [1, *list(i.get_partial_shape())[1:]])
            for i in model.inputs})
        # an NNCF-quantized model runs int8 where it holds FakeQuantize
        quantized = any(op.get_type_name() == 'FakeQuantize'
                        for op in model.get_ops())
        if quantized:
            _shield_new_caches(model, [c['output'] for c in self.caches])
        apply_make_stateful_transformation(
            model, {c['input']: c['output'] for c in self.caches})
        config = {}
        if precision != 'default':
            config['INFERENCE_PRECISION_HINT'] = precision
        if threads is not None:
            config['INFERENCE_NUM_THREADS'] = check_int(threads, 'threads', 1)
        self.compiled = core.compile_model(model, 'CPU', config)
        left = [i.get_any_name() for i in self.compiled.inputs]
        if len(left) != 1 + len(self.side_names) or not all(
                any(name in i.get_names() for i in self.compiled.inputs)
                for name in [self.frame_name, *self.side_names]):
            raise RuntimeError(f'the caches did not become state: the '
                               f'compiled model takes {left}')
        floating = self.compiled.get_property(
            'INFERENCE_PRECISION_HINT').get_type_name()
        if precision != 'default' and floating != precision:
            print_log(f'OpenVINOStream: asked for {precision}, the CPU runs '
                      f'{floating}', 'current', level=logging.WARNING)
        self.precision: str = f'int8+{floating}' if quantized else floating
        self._ports = [self.compiled.output(name)
                       for name in self.output_names]
        self._requests: Dict[Hashable, object] = {}
        self._free: List[object] = []  # requests of released streams

    def _run(self, frames: np.ndarray, side: Dict[str, np.ndarray],
             stream_ids: List[Hashable],
             restarts: List[bool]) -> Dict[str, np.ndarray]:
        started = []
        try:
            for i, (sid, restart) in enumerate(zip(stream_ids, restarts)):
                request = self._requests.get(sid)
                if request is None:  # new streams start at frame 0
                    request = self._free.pop() if self._free else \
                        self.compiled.create_infer_request()
                    self._requests[sid] = request
                if restart:
                    request.reset_state()
                request.start_async({
                    self.frame_name: frames[i:i + 1],
                    **{name: value[i:i + 1] for name, value in side.items()}})
                started.append(request)
        finally:
            for request in started:
                request.wait()
        return {name: np.concatenate([r.get_tensor(port).data
                                      for r in started])
                for name, port in zip(self.output_names, self._ports)}

    def _release(self, stream_id: Hashable) -> None:
        request = self._requests.pop(stream_id, None)
        if request is not None:
            self._free.append(request)
