"""The streaming runtimes of an exported step against PyTorch streaming."""
import numpy as np
import openvino as ov
import pytest
import torch
from random_weights import randomize_bn

from tsm_mm.deploy import dump_interface, export_stream_onnx
from tsm_mm.deploy.runtimes import OpenVINOStream, OrtStream
from tsm_mm.models.backbones import StreamingTSMResNet

TOL = 1e-4
# two videos of 4 frames, interleaved: batched, single, in either row order
SCHEDULE = [[('a', 0), ('b', 0)], [('b', 1)], [('a', 1), ('b', 2)],
            [('b', 3), ('a', 2)], [('a', 3)]]
# bf16 keeps 8 bits of mantissa (rounding 2**-9 = 0.2% per op): through
# the convs of R-18 and 4 frames of carried caches the outputs drift by
# about 0.5% of their range (AMX CPU); allowed 4x that. f32 (a CPU without
# bf16) stays within TOL
BF16_TOL = 0.02


def rel_diff(got, expected):
    """Max abs difference relative to the max abs of the reference."""
    return float(np.abs(got - expected).max() / np.abs(expected).max())


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    """A small step graph, its interface, the videos and the PyTorch
    streaming outputs of every (stream, frame) of :data:`SCHEDULE`."""
    torch.manual_seed(0)
    model = randomize_bn(StreamingTSMResNet(18, num_segments=4,
                                            out_indices=(1, 3)))
    root = tmp_path_factory.mktemp('runtimes')
    path = str(root / 'step.onnx')
    interface = export_stream_onnx(model, path, (64, 64), batch_size=2)
    dump_interface(interface, str(root / 'step.json'))
    videos = {sid: torch.randn(4, 3, 64, 64) for sid in 'ab'}
    expected = {}
    model.reset_streams()
    with torch.no_grad():
        for rows in SCHEDULE:
            ids, frame_ids = zip(*rows)
            x = torch.stack([videos[s][f] for s, f in rows])
            with model.stream_step(ids, frame_ids):
                feats = model(x)
            for i, row in enumerate(rows):
                expected[row] = [feat[i].numpy() for feat in feats]
    videos = {sid: v.numpy() for sid, v in videos.items()}
    return path, interface, str(root / 'step.json'), videos, expected


def run_schedule(runtime, videos, schedule=SCHEDULE):
    """(stream, frame) -> the runtime's outputs of that frame."""
    got = {}
    for rows in schedule:
        ids, frame_ids = zip(*rows)
        outs = runtime.step(np.stack([videos[s][f] for s, f in rows]), ids,
                            frame_ids)
        assert all(len(v) == len(rows) for v in outs.values())
        for i, row in enumerate(rows):
            got[row] = [outs[name][i] for name in ('feat_0', 'feat_1')]
    return got


def worst(got, expected):
    return max(rel_diff(g, e) for row in expected
               for g, e in zip(got[row], expected[row]))


@pytest.fixture(params=['ort', 'openvino'])
def runtime(request, exported):
    path, interface = exported[:2]
    if request.param == 'ort':
        return OrtStream(path, interface, threads=1)
    return OpenVINOStream(path, interface, precision='f32', threads=1)


def test_streams_equal_pytorch_streaming(runtime, exported):
    videos, expected = exported[3:]
    got = run_schedule(runtime, videos)
    assert set(got) == set(expected)
    assert worst(got, expected) <= TOL
    assert sorted(runtime.stream_ids) == ['a', 'b']
    assert runtime.next_frame('a') == runtime.next_frame('b') == 4
    # the caches carry time: frame 3 differs from frame 3 of a new stream
    alone = runtime.step(videos['a'][3:4], ['c'], [0])
    assert rel_diff(alone['feat_1'][0], expected[('a', 3)][1]) > 1e-3
    # frame 0 again restarts the stream: its first run again, next to a
    # stream that goes on (b restarted too, then continues)
    again = run_schedule(runtime, videos,
                         [[('b', 0), ('a', 0)], [('a', 1), ('b', 1)],
                          [('a', 2)], [('a', 3), ('b', 2)]])
    for row, feats in again.items():
        for g, e in zip(feats, expected[row]):
            assert rel_diff(g, e) <= TOL, row


def test_frame_order_is_checked(runtime, exported):
    videos, expected = exported[3:]
    frames = videos['a']
    runtime.step(frames[0:1], ['a'], [0])
    cases = [
        (frames[2:3], ['a'], [2], r"stream 'a': frame 2 arrived but the "
         r'stream expects frame 1 \(1 skipped\)'),
        (frames[0:1], ['a'], [np.int64(2)], 'frame 2 .* expects frame 1'),
        (frames[3:4], ['z'], [3], r"stream 'z': frame 3 .* expects frame 0 "
         r'\(it is new or was reset\)'),
        (frames[0:2], ['a', 'a'], [1, 2], "stream 'a' at rows 0 and 1"),
        (frames[0:2], ['a'], [1], 'got 2 frames for 1 stream_ids'),
        (frames[0:1], ['a'], [1, 2], 'got 2 frame_ids for 1 stream_ids'),
        (frames[0:1], ['a'], [-1], "stream 'a': frame_id must be an int >= 0"),
        (frames[:1, :, :32], ['a'], [1], r'frames must be \(B >= 1, 3, 64, '
         r'64\) .* got \(1, 3, 32, 64\)'),
        (frames[:0], [], [], 'frames must be'),
    ]
    for args in cases:
        with pytest.raises(ValueError, match=args[-1]):
            runtime.step(*args[:-1])
    with pytest.raises(TypeError, match='frames must be floating point'):
        runtime.step(frames[0:1].astype(np.int32), ['a'], [1])
    with pytest.raises(TypeError, match='frames must be a numpy array'):
        runtime.step(torch.from_numpy(frames[0:1]), ['a'], [1])
    with pytest.raises(TypeError, match=r"stream id \['x'\] .* not hashable"):
        runtime.step(frames[0:1], [['x']], [1])
    runtime.step(frames[1:2], ['a'], None)  # refused steps changed nothing
    out = runtime.step(frames[2:3].astype(np.float64), ['a'], [2])
    assert rel_diff(out['feat_0'][0], expected[('a', 2)][0]) <= TOL
    with pytest.raises(ValueError, match=r'frame 2 .* \(a repeated frame\)'):
        runtime.step(frames[2:3], ['a'], [2])
    runtime.step(frames[0:1], ['b'], None)  # a new stream starts at 0
    runtime.reset(['a', 'unknown'])
    assert runtime.stream_ids == ['b'] and runtime.next_frame('a') == 0
    with pytest.raises(ValueError, match='it is new or was reset'):
        runtime.step(frames[3:4], ['a'], [3])
    runtime.reset()
    assert runtime.stream_ids == []


def test_openvino_caches_are_state(exported):
    path, _, json_path = exported[:3]
    runtime = OpenVINOStream(path, json_path, threads=1)  # interface file
    assert runtime.precision == 'f32'
    assert [i.get_any_name() for i in runtime.compiled.inputs] == ['frame']
    assert [o.get_any_name() for o in runtime.compiled.outputs] == [
        'feat_0', 'feat_1']
    assert list(runtime.compiled.inputs[0].get_shape()) == [1, 3, 64, 64]
    request = runtime.compiled.create_infer_request()
    assert len(request.query_state()) == 8  # one variable per shift site
    # one request per stream, reused once a stream is released
    videos = exported[3]
    runtime.step(np.stack([videos['a'][0], videos['b'][0]]), 'ab', [0, 0])
    first = runtime._requests['a']
    runtime.reset(['a'])
    runtime.step(videos['a'][0:1], ['c'], [0])
    assert runtime._requests['c'] is first and len(runtime._requests) == 2


@pytest.mark.parametrize('precision', ['bf16', 'default'])
def test_openvino_reduced_precision(exported, precision):
    path, interface, _, videos, expected = exported
    runtime = OpenVINOStream(path, interface, precision=precision,
                             threads=1)
    truth = runtime.compiled.get_property('INFERENCE_PRECISION_HINT')
    assert runtime.precision == truth.get_type_name()
    bf16_cpu = 'BF16' in ov.Core().get_property('CPU',
                                                'OPTIMIZATION_CAPABILITIES')
    if precision == 'bf16':
        assert runtime.precision == ('bf16' if bf16_cpu else 'f32')
    diff = worst(run_schedule(runtime, videos), expected)
    assert diff <= (TOL if runtime.precision == 'f32' else BF16_TOL)
    if runtime.precision == 'bf16':
        assert diff > TOL  # it did run in bf16


def test_bad_arguments(exported):
    path, interface = exported[:2]
    with pytest.raises(ValueError, match="precision must be one of .*'f16'"):
        OpenVINOStream(path, interface, precision='f16')
    with pytest.raises(ValueError, match='threads must be an int >= 1'):
        OrtStream(path, interface, threads=0)
    with pytest.raises(ValueError, match='interface must be a dict'):
        OrtStream(path, [interface])
    renamed = dict(interface, caches=interface['caches'][:-1])
    with pytest.raises(ValueError, match=r"the inputs \['cache_7'\] have "
                       "new_. outputs but are not among its 'caches'"):
        OrtStream(path, renamed)
