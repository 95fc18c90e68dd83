"""The CPU fast path of a streaming step against the hooks-based stream."""
import os.path as osp

import pytest
import torch
from mmdet.registry import MODELS as DET_MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from random_weights import randomize_bn
from torch._dynamo.testing import CompileCounterWithBackend

from tsm_mm.deploy import (
    BackboneStreamStep,
    DetectorFeatureStep,
    DetectorStreamStep,
    torch_fast,
)
from tsm_mm.deploy.torch_fast import (
    FastStreamStep,
    cpu_supports_bf16,
    graph_breaks,
)
from tsm_mm.models.backbones import StreamingTSMResNet, TSMResNet

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# bf16 keeps 8 bits of mantissa (0.2% per rounding); through the tiny nets'
# ~10 rounded layers the outputs moved 0.4% (backbone) and 1-2% (the RPN
# maps of the randomly initialized head, near zero) in relative L2 norm:
# 5% leaves a margin and still catches caches not fed back (10% and more);
# the deeper toy RTMDet (CSPNeXt + PAFPN, ~40 layers) moved 5-6%, against
# 65% without the caches
BF16_TOL = dict(backbone=5e-2, detector=5e-2, features=1.5e-1)
NUM_FRAMES = 3


def max_rel(got, expected):
    return max(float((g - e).abs().max() / e.abs().max())
               for g, e in zip(got, expected))


def rel_l2(got, expected):
    return max(float((g - e).norm() / e.norm())
               for g, e in zip(got, expected))


def feed(step, frames, caches):
    """Feed frames through ``step``, each step's new caches into the next;
    returns the non-cache outputs of every step."""
    steps = []
    for frame in frames:
        outs = step(frame, *caches)
        split = len(outs) - len(caches)
        steps.append(outs[:split])
        caches = outs[split:]
    return steps


def backbone_case():
    torch.manual_seed(0)
    model = randomize_bn(StreamingTSMResNet(18, num_segments=4,
                                            out_indices=(1, 3)))
    frames = torch.randn(NUM_FRAMES, 2, 3, 64, 64)
    model.reset_streams()
    with torch.no_grad():  # the reference: the hooks' stream step
        expected = [model.forward_stream(f, ['a', 'b']) for f in frames]
    return BackboneStreamStep(model).eval(), frames, expected


def detector_case():
    cfg = Config.fromfile(osp.join(REPO,
                                   'configs/toy/vid_faster_rcnn_tsm_toy.py'))
    init_default_scope('mmdet')
    torch.manual_seed(0)
    det = DET_MODELS.build(cfg.model).eval()
    frames = torch.randn(NUM_FRAMES, 1, 3, 64, 96)
    det.backbone.reset_streams()
    expected = []
    with torch.no_grad():
        for frame in frames:
            feats = det.neck(det.backbone.forward_stream(frame, ['a']))
            scores, deltas = det.rpn_head(feats)
            expected.append([*scores, *deltas])
    return DetectorStreamStep(det).eval(), frames, expected


def features_case():
    """A one-stage video detector's backbone and neck (toy RTMDet)."""
    cfg = Config.fromfile(osp.join(REPO, 'configs/toy/vid_rtmdet_tsm_toy.py'))
    init_default_scope('mmdet')
    torch.manual_seed(0)
    det = randomize_bn(DET_MODELS.build(cfg.model)).eval()
    frames = torch.randn(NUM_FRAMES, 2, 3, 64, 96)
    det.backbone.reset_streams()
    with torch.no_grad():
        expected = [list(det.neck(det.backbone.forward_stream(f, ['a', 'b'])))
                    for f in frames]
    return DetectorFeatureStep(det).eval(), frames, expected


CASES = dict(backbone=backbone_case, detector=detector_case,
             features=features_case)


@pytest.fixture(scope='module', params=list(CASES))
def case(request):
    """(step, frames, expected outputs per frame), built fresh per module:
    channels-last converts the step's weights in place."""
    return CASES[request.param]()


def run_fast(step, frames, **kwargs):
    fast = FastStreamStep(step, **kwargs)
    return fast, feed(fast, frames, fast.zero_caches(frames[0]))


def test_no_graph_break(case):
    step, frames, _ = case
    fast = FastStreamStep(step, dtype='bf16')
    caches = fast.zero_caches(frames[0])
    assert graph_breaks(step, frames[0], *caches) == 0
    assert graph_breaks(fast, frames[0], *caches) == 0


@pytest.mark.parametrize('channels_last', [False, True])
def test_compiled_fp32_equals_the_stream(case, channels_last):
    step, frames, expected = case
    counter = CompileCounterWithBackend('aot_eager')
    torch._dynamo.reset()
    fast, got = run_fast(step, frames, dtype='fp32', compile=True,
                         backend=counter, channels_last=channels_last)
    for t in range(NUM_FRAMES):
        assert max_rel(got[t], expected[t]) <= 1e-4, t
    # the fed-back caches keep dtype and layout: one graph for every frame
    assert counter.frame_count == 1
    assert fast.precision == 'fp32' and fast.compiled


def test_compiled_bidirectional_backbone_runs_causally():
    # its warning logs when wrapped, not inside the one graph
    torch._dynamo.reset()
    torch.manual_seed(0)
    model = randomize_bn(TSMResNet(18, num_segments=4, pretrained2d=False,
                                   direction='bidirectional'))
    frames = torch.randn(2, 1, 3, 64, 64)
    fast, got = run_fast(BackboneStreamStep(model), frames, dtype='fp32',
                         compile=True, backend='aot_eager')
    model.reset_streams()
    with torch.no_grad():
        for frame, outs in zip(frames, got):
            assert max_rel(outs, [model.forward_stream(frame, [0])]) <= 1e-4


def test_channels_last_fp32_equals_the_stream(case):
    step, frames, expected = case
    fast, got = run_fast(step, frames, dtype='fp32', channels_last=True)
    for t in range(NUM_FRAMES):
        assert max_rel(got[t], expected[t]) <= 1e-5, t
    cl = torch.channels_last
    convs = [m for m in step.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(c.weight.is_contiguous(memory_format=cl) for c in convs)
    assert got[0][0].is_contiguous(memory_format=cl)
    assert all(c.is_contiguous(memory_format=cl)
               for c in fast(frames[0], *fast.zero_caches(frames[0]))
               [-fast.num_caches:])


@pytest.mark.parametrize('compile', [False, True])
def test_bf16_is_close_to_fp32(case, compile, request):
    step, frames, expected = case
    tol = BF16_TOL[request.node.callspec.params['case']]
    torch._dynamo.reset()
    fast, got = run_fast(step, frames, dtype='bf16', compile=compile,
                         backend='aot_eager')
    assert fast.precision == 'bf16'
    for t in range(NUM_FRAMES):
        err = rel_l2(got[t], expected[t])
        assert 1e-4 < err <= tol, (t, err)  # bf16 did run
        assert all(out.dtype == torch.float32 for out in got[t])
    outs = fast(frames[1], *fast.zero_caches(frames[1]))  # no past
    assert rel_l2(outs[:-fast.num_caches], expected[1]) > tol


def test_auto_picks_bf16_where_the_cpu_has_it(monkeypatch):
    step, _, _ = backbone_case()
    auto = FastStreamStep(step, dtype='auto', channels_last=False)
    assert auto.precision == ('bf16' if cpu_supports_bf16() else 'fp32')
    for native, precision in [(True, 'bf16'), (False, 'fp32')]:
        monkeypatch.setattr(torch_fast, 'cpu_supports_bf16',
                            lambda native=native: native)
        assert FastStreamStep(step, channels_last=False).precision == \
            precision


def test_cpu_supports_bf16_reads_the_flags(monkeypatch):
    if osp.exists('/proc/cpuinfo'):  # Linux: the kernel's flags agree
        flags = torch_fast._cpuinfo_flags()
        assert cpu_supports_bf16() == bool(
            flags & {'avx512_bf16', 'amx_bf16'})
    monkeypatch.setattr(torch.ops.mkldnn, '_is_mkldnn_bf16_supported',
                        lambda: True)
    for caps, native in [({'avx512_bf16': True}, True),
                         ({'amx_bf16': True, 'avx512_bf16': False}, True),
                         ({'avx512_f': True, 'avx2': True}, False)]:
        monkeypatch.setattr(torch.cpu, 'get_capabilities',
                            lambda caps=caps: caps)
        assert cpu_supports_bf16() is native, caps
    # without torch's cpuinfo: /proc/cpuinfo
    monkeypatch.delattr(torch.cpu, 'get_capabilities')
    monkeypatch.setattr(torch_fast, '_cpuinfo_flags',
                        lambda: {'avx2', 'amx_bf16'})
    assert cpu_supports_bf16()
    monkeypatch.setattr(torch_fast, '_cpuinfo_flags', lambda: {'avx2'})
    assert not cpu_supports_bf16()


def test_bad_arguments():
    step, frames, _ = backbone_case()
    with pytest.raises(ValueError, match="dtype must be one of .*'fp16'"):
        FastStreamStep(step, dtype='fp16')
    with pytest.raises(TypeError, match='step must be a streaming step'):
        FastStreamStep(torch.nn.Conv2d(3, 3, 1))
    fast = FastStreamStep(step, dtype='fp32')
    with pytest.raises(ValueError, match='got 7 caches for 8 shift sites'):
        fast(frames[0], *fast.zero_caches(frames[0])[:7])


def test_a_2d_twin_is_a_step_with_no_caches():
    """The same recipe for the 2D network a TSM step is compared with."""
    from mmdet.models.backbones import ResNet
    torch.manual_seed(0)
    plain = ResNet(18, out_indices=(1, 3))
    randomize_bn(plain)  # its eval() returns None: mmdet's ResNet.train
    frame = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = plain(frame)
    with pytest.raises(TypeError, match='ResNet has no shift sites'):
        BackboneStreamStep(plain)
    step = BackboneStreamStep(plain, allow_2d=True)
    torch._dynamo.reset()
    fast = FastStreamStep(step, dtype='fp32', compile=True,
                          backend='aot_eager')
    assert fast.num_caches == 0 and fast.zero_caches(frame) == []
    assert graph_breaks(step, frame) == 0
    assert max_rel(fast(frame), expected) <= 1e-4
