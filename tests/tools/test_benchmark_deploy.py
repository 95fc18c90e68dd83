"""tools/benchmark.py --groups deploy: a row per backend, TSM vs 2D."""
import argparse
import contextlib
import io
import json

import numpy as np
import onnxruntime
import openvino
import pytest
import torch
from tool_loader import load_tool

from tsm_mm.deploy.torch_fast import FastStreamStep, cpu_supports_bf16

benchmark = load_tool('benchmark')
TINY = ['--groups', 'deploy', '--deploy-frame-size', '64', '--deploy-depth',
        '18', '--deploy-repeats', '2', '--deploy-no-compile',
        '--deploy-threads', '1', '2', '--deploy-streams', '1', '3']


def proc_flags():
    with open('/proc/cpuinfo') as f:
        return next(set(line.split(':', 1)[1].split()) for line in f
                    if line.startswith('flags'))


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp('deploy') / 'deploy.json'
    with contextlib.redirect_stdout(io.StringIO()):
        results = benchmark.main(TINY + ['--out', str(out)])
    return results, out


def by_group(results):
    groups = {}
    for row in results:
        groups.setdefault(row['group'], {})[row['name']] = row
    return groups


def test_every_backend_has_a_row_per_thread_count(run):
    groups = by_group(run[0])
    assert list(groups) == [
        'deploy machine', 'deploy R-18 64x64 backbone multiply-adds',
        'deploy R-18 64x64 backbone, 1 thr',
        'deploy R-18 64x64 backbone, 2 thr',
        'deploy toy rtmdet 128x96 detector step multiply-adds',
        'deploy toy rtmdet 128x96 detector step, 1 thr',
        'deploy toy rtmdet 128x96 detector step, 2 thr',
        'deploy toy rtmdet 128x96 detector step throughput, 2 thr']
    backends = [b for b in benchmark.DEPLOY_BACKENDS if 'compile' not in b]
    bf16 = 'bf16' if cpu_supports_bf16() else 'fp32 (no native bf16)'
    for title in [t for t in groups if t.endswith(' thr')][:4]:
        rows = groups[title]
        assert list(rows) == backends
        eager = rows['PyTorch eager fp32']['median_ms']
        for row in rows.values():
            assert row['median_ms'] > 0 and row['ms_2d'] > 0
            # the ratio and speed-up are of the timed medians
            assert row['ratio'] == pytest.approx(
                row['median_ms'] / row['ms_2d'], rel=1e-12)
            assert row['speedup'] == pytest.approx(
                eager / row['median_ms'], rel=1e-12)
        assert rows['PyTorch bf16 + channels-last']['precision'] == bf16
        assert rows['OpenVINO f32']['precision'] == 'f32'
        assert rows['ONNX Runtime']['precision'] == 'f32'
        assert rows['OpenVINO int8']['precision'] in ('int8+f32',
                                                      'int8+bf16')


def test_the_extra_multiply_adds_are_the_shift_corrections(run):
    """TSM - 2D = one conv over each site's slot: out * fold * kh * kw,
    counted here by hooks on mmdet's plain ResNet-18."""
    from mmdet.models.backbones import ResNet
    plain = ResNet(18)
    plain.eval()
    extra = []

    def count(conv, args, out):
        extra.append(out.numel() * (conv.in_channels // 8) *
                     conv.kernel_size[0] * conv.kernel_size[1])

    for name, module in plain.named_modules():
        if name.startswith('layer') and name.endswith('conv1'):
            module.register_forward_hook(count)
    with torch.no_grad():
        plain(torch.randn(1, 3, 64, 64))
    assert len(extra) == 8  # every block's first conv
    row = by_group(run[0])['deploy R-18 64x64 backbone multiply-adds'][
        'TSM step']
    assert (row['gmac'] - row['gmac_2d']) * 1e9 == pytest.approx(
        sum(extra), rel=1e-9)
    assert row['ratio'] == pytest.approx(row['gmac'] / row['gmac_2d'])
    detector = by_group(run[0])[
        'deploy toy rtmdet 128x96 detector step multiply-adds']['TSM step']
    assert 1 < detector['ratio'] < 1.1


def test_throughput_is_streams_over_the_step_median(run):
    rows = by_group(run[0])[
        'deploy toy rtmdet 128x96 detector step throughput, 2 thr']
    assert list(rows) == [f'{backend}, {n}' for backend in (
        'ONNX Runtime', 'OpenVINO f32') for n in ('1 stream', '3 streams')]
    for name, row in rows.items():
        streams = 1 if name.endswith('1 stream') else 3
        assert row['fps'] == pytest.approx(1e3 * streams / row['median_ms'],
                                           rel=1e-12)
        assert row['fps_2d'] == pytest.approx(1e3 * streams / row['ms_2d'],
                                              rel=1e-12)
        assert row['ratio'] == pytest.approx(row['median_ms'] / row['ms_2d'],
                                             rel=1e-12)
    assert 'hint' in rows['OpenVINO f32, 3 streams']['precision']


def test_the_machine_record_and_the_json(run):
    results, out = run
    machine = by_group(results)['deploy machine']
    assert machine['cpu']['vs']
    flags = proc_flags()
    assert machine['isa']['vs'] == ' '.join(
        f'{isa}={"yes" if isa in flags else "no"}' for isa in (
            'avx512f', 'avx512_bf16', 'amx_bf16', 'amx_tile'))
    versions = machine['versions']['vs']
    for version in (torch.__version__, onnxruntime.__version__,
                    openvino.__version__.split('-')[0]):
        assert version in versions
    with open(out) as f:
        written = json.load(f)
    assert written['results'] == json.loads(json.dumps(results))


def test_the_backends_compute_the_same_backbone_step(tmp_path):
    """The timed calls of a backend agree with the hooks' stream step."""
    args = argparse.Namespace(deploy_depth=18, deploy_frame_size=32)
    torch.manual_seed(0)
    case = benchmark._deploy_backbone_case(args, str(tmp_path))
    tsm_eager, plain_eager = case['eager']
    fast = benchmark._stream_call(
        FastStreamStep(case['fast'][0](), 'fp32', True), case['frame'],
        case['post'])
    plain = benchmark._stream_call(
        FastStreamStep(case['fast'][1](), 'fp32', True), case['frame'],
        case['post'])
    ort_tsm, ort_2d, _ = benchmark._runtime_pair(case, 'ONNX Runtime', 1,
                                                 {})
    ov_tsm, _, _ = benchmark._runtime_pair(case, 'OpenVINO f32', 1, {})
    with torch.no_grad():
        for _ in range(3):  # caches carried: frames 1, 2 use them
            want = [f.numpy() for f in tsm_eager()]
            for got in (fast(), ort_tsm().values(), ov_tsm().values()):
                for g, w in zip(got, want):
                    np.testing.assert_allclose(np.asarray(g), w, rtol=1e-4,
                                               atol=1e-4)
        want = [f.numpy() for f in plain_eager()]
        for got in (plain(), ort_2d().values()):
            for g, w in zip(got, want):
                np.testing.assert_allclose(np.asarray(g), w, rtol=1e-4,
                                           atol=1e-4)


def test_the_backends_compute_the_same_detector_step(tmp_path):
    """Backbone and neck on the fast path, head and boxes after it: the
    detections of the hooks' stream step and of the exported graph."""
    args = argparse.Namespace(deploy_detector='rtmdet')
    case = benchmark._deploy_detector_case(args, str(tmp_path))
    fast = benchmark._stream_call(
        FastStreamStep(case['fast'][0](), 'fp32', True), case['frame'],
        case['post'])
    ort_tsm, _, _ = benchmark._runtime_pair(case, 'ONNX Runtime', 1, {})
    with torch.no_grad():
        for _ in range(3):
            want = case['eager'][0]()
            assert (want[1] > 0).sum() > 10  # detections to compare
            runs = [fast(), tuple(ort_tsm().values())]
            for boxes, scores, _ in runs:
                # scores best first; tied ones may swap their boxes
                np.testing.assert_allclose(np.asarray(scores),
                                           want[1].numpy(), atol=1e-5)
                np.testing.assert_allclose(
                    np.sort(np.asarray(boxes), 1), np.sort(want[0], 1),
                    rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize('argv, message', [
    (['--deploy-threads', '0'], 'must be >= 1'),
    (['--deploy-detector', 'ssd'], 'invalid choice'),
    (['--deploy-depth', '19'], 'invalid choice'),
])
def test_bad_arguments_are_refused(argv, message, capsys):
    with pytest.raises(SystemExit):
        benchmark.main(['--groups', 'deploy'] + argv)
    assert message in capsys.readouterr().err
