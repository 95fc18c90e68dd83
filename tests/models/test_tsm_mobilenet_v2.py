"""TSMMobileNetV2 against MMAction2's MobileNetV2TSM, and its streaming."""
import numpy as np
import onnxruntime as ort
import pytest
import torch
from mmaction.models.backbones import MobileNetV2, MobileNetV2TSM
from mmaction.registry import MODELS
from mmengine.registry import DefaultScope
from random_weights import randomize_weights

from tsm_mm.deploy import export_stream_onnx
from tsm_mm.models.backbones import TSMMobileNetV2

# The official online demo's 10 shift buffers for a 224x224 frame
# (mit-han-lab/temporal-shift-module online_demo/mobilenet_v2_tsm.py):
# C_in/8 channels at the input of each shifted block, 4 bytes each.
DEMO_BUFFERS_224 = [(3, 56, 56), (4, 28, 28), (4, 28, 28), (8, 14, 14),
                    (8, 14, 14), (8, 14, 14), (12, 14, 14), (12, 14, 14),
                    (20, 7, 7), (20, 7, 7)]




def max_rel(a, b):
    return float((a - b).abs().max() / b.abs().max())


def reference_causal_stream(model_2d, frames, shift_div):
    """The causal rule written out over a plain MobileNetV2, frame by frame.

    Every block with an identity connection computes
    ``x + conv(cat(x[:fold], prev[fold:2fold], x[2fold:]))``, ``prev`` its
    input at the previous frame (zeros at the first): the official demo's
    ``InvertedResidualWithShift`` with the slot of DESIGN.md section 3.
    """
    prev = {}
    outs = []
    for frame in frames:
        x = model_2d.conv1(frame[None])
        for name in model_2d.layers[:-1]:
            for block in getattr(model_2d, name):
                if not block.use_res_connect:
                    x = block(x)
                    continue
                fold = x.shape[1] // shift_div
                past = prev.get(block, torch.zeros_like(x))
                prev[block] = x
                shifted = torch.cat(
                    [x[:, :fold], past[:, fold:2 * fold], x[:, 2 * fold:]], 1)
                x = x + block.conv(shifted)
        outs.append(model_2d.conv2(x))
    return torch.cat(outs)


@pytest.fixture(scope='module')
def mmaction_tsm():
    torch.manual_seed(0)
    ref = MobileNetV2TSM(num_segments=4, pretrained2d=False)
    return randomize_weights(ref)


def test_equals_mmaction_mobilenet_v2_tsm(mmaction_tsm):
    ours = TSMMobileNetV2(num_segments=4).eval()
    ours.load_state_dict(mmaction_tsm.state_dict(), strict=True)  # .net.
    x = torch.randn(8, 3, 32, 32)
    with torch.no_grad():
        expected, out = mmaction_tsm(x), ours(x)
        assert out.shape == expected.shape == (8, 1280, 1, 1)
        assert max_rel(out, expected) <= 1e-5
        # the shift matters: the same weights without it differ
        plain = TSMMobileNetV2(num_segments=4, is_shift=False).eval()
        plain.load_state_dict(ours.state_dict())
        assert max_rel(plain(x), expected) > 1e-3


def test_keys_sites_and_modes():
    ours = TSMMobileNetV2(widen_factor=0.5)
    assert list(ours.state_dict()) == list(
        MobileNetV2(widen_factor=0.5).state_dict())
    assert sum(p.numel() for p in ours.parameters()) == sum(
        p.numel() for p in MobileNetV2(widen_factor=0.5).parameters())
    # the official demo's shift_block_idx = [2, 4, 5, 7, 8, 9, 11, 12, 14, 15]
    assert TSMMobileNetV2().num_shift_sites == 10
    assert TSMMobileNetV2(is_shift=False).num_shift_sites == 0
    assert ours.eval() is ours and not ours.training
    assert ours.train() is ours and ours.training
    with pytest.raises(ValueError, match='direction'):
        TSMMobileNetV2(direction='online')


@pytest.fixture(scope='module')
def causal(mmaction_tsm):
    model = TSMMobileNetV2(num_segments=4, direction='causal',
                           out_indices=(2, 7)).eval()
    model.load_state_dict(mmaction_tsm.state_dict())
    return model


def test_stream_equals_offline_causal_and_reference(causal, mmaction_tsm):
    clip = torch.randn(4, 3, 32, 32)
    plain = MobileNetV2(out_indices=(7, ))
    plain.load_state_dict(causal.state_dict())
    plain.eval()
    causal.reset_streams()
    with torch.no_grad():
        offline = causal(clip)
        steps = [causal.forward_stream(f[None], ['a']) for f in clip]
        reference = reference_causal_stream(plain, clip, shift_div=8)
        bidirectional = mmaction_tsm(clip)
    for level, expected in enumerate(offline):
        got = torch.cat([step[level] for step in steps])
        assert (got - expected).abs().max() <= 1e-5 * expected.abs().max()
    assert max_rel(offline[1], reference) <= 1e-5
    # causal differs from the bidirectional rule of the same weights
    assert max_rel(offline[1], bidirectional) > 1e-3
    # only the past moves in: a new last frame leaves the others alone
    changed = clip.clone()
    changed[-1] = torch.randn(3, 32, 32)
    with torch.no_grad():
        moved = causal(changed)[1]
    torch.testing.assert_close(moved[:-1], offline[1][:-1])


def test_interleaved_streams_and_reset(causal):
    a, b = torch.randn(3, 3, 32, 32), torch.randn(3, 3, 32, 32)
    causal.reset_streams()
    with torch.no_grad():
        alone_a = [causal.forward_stream(f[None], ['a']) for f in a]
        causal.reset_streams(['a'])
        together = [causal.forward_stream(torch.stack(fs), ['a', 'b'])
                    for fs in zip(a, b)]
        causal.reset_streams(['b'])
        alone_b = [causal.forward_stream(f[None], ['b']) for f in b]
    # batched convs round differently (~1e-5 here); a leaked cache is ~1e-1
    for t in range(3):
        assert max_rel(together[t][1][:1], alone_a[t][1]) <= 1e-4
        assert max_rel(together[t][1][1:], alone_b[t][1]) <= 1e-4
    assert max_rel(alone_a[2][1], alone_a[1][1]) > 1e-3


def test_cache_bytes_match_the_official_demo():
    model = TSMMobileNetV2(direction='causal').eval()
    with torch.no_grad():
        model.forward_stream(torch.randn(1, 3, 224, 224), ['s'])
    expected = sum(int(np.prod(shape)) * 4 for shape in DEMO_BUFFERS_224)
    assert model.stream_caches.nbytes('s') == expected == 108192


def test_onnx_step_equals_streaming(causal, tmp_path):
    out = str(tmp_path / 'step.onnx')
    interface = export_stream_onnx(causal, out, (32, 32), batch_size=1)
    assert len(interface['caches']) == 10
    sess = ort.InferenceSession(out, providers=['CPUExecutionProvider'])
    clip = torch.randn(3, 1, 3, 32, 32)
    caches = [np.zeros([1, *c['shape'][1:]], np.float32)
              for c in interface['caches']]
    causal.reset_streams()
    num_feats = len(causal.out_indices)
    for frame in clip:
        feeds = {'frame': frame.numpy()}
        feeds.update({c['input']: v
                      for c, v in zip(interface['caches'], caches)})
        outs = sess.run(None, feeds)
        caches = outs[num_feats:]
        with torch.no_grad():
            expected = causal.forward_stream(frame, ['onnx'])
        for got, want in zip(outs[:num_feats], expected):
            assert np.abs(got - want.numpy()).max() <= 1e-4 * float(
                want.abs().max())


def test_pretrained2d_as_mmaction_mobilenet_v2_tsm(mmaction_tsm, tmp_path):
    """``pretrained2d`` of MMAction2's configs and tests. Before:
    ``TypeError: unexpected keyword argument 'pretrained2d'``.

    True: ``pretrained`` is loaded strictly (a 2D MobileNetV2 checkpoint,
    as MMAction2; ``MobileNetV2TSM`` keys map too); False: through
    ``init_cfg`` (non-strict), as MMAction2."""
    def build(**cfg):
        with DefaultScope.overwrite_default_scope('mmaction'):
            return MODELS.build(dict(type='TSMMobileNetV2', **cfg))

    weights = mmaction_tsm.state_dict()
    plain = {key.replace('.net.', '.'): value
             for key, value in weights.items()}
    torch.save(dict(state_dict=plain), tmp_path / 'mobilenet_v2.pth')
    torch.save(dict(state_dict=weights), tmp_path / 'tsm.pth')
    partial = dict(plain)
    del partial['conv1.conv.weight']
    torch.save(dict(state_dict=partial), tmp_path / 'partial.pth')
    for pretrained2d, name in ((True, 'mobilenet_v2'), (True, 'tsm'),
                               (False, 'tsm')):
        model = build(num_segments=4, pretrained2d=pretrained2d,
                      pretrained=str(tmp_path / f'{name}.pth'))
        model.init_weights()
        loaded = model.state_dict()
        assert list(loaded) == list(plain)
        assert all(torch.equal(loaded[k], plain[k]) for k in plain)
        assert model.pretrained2d is pretrained2d
    strict = build(pretrained2d=True,
                   pretrained=str(tmp_path / 'partial.pth'))
    with pytest.raises(RuntimeError, match='conv1.conv.weight'):
        strict.init_weights()
    # MMAction2's unit tests build it with no checkpoint at all
    build(pretrained2d=False).init_weights()
    build().init_weights()
