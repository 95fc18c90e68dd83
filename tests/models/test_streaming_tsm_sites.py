"""StreamingTSM: shift sites named by module-path patterns, any backbone."""
import pytest
import torch
from mmdet.models.backbones import CSPDarknet, CSPNeXt, RegNet
from mmdet.registry import MODELS
from mmengine.registry import init_default_scope
from random_weights import randomize_weights

from tsm_mm.models.backbones import (
    StreamingTSM,
    StreamingTSMCSPDarknet,
    StreamingTSMCSPNeXt,
)
from tsm_mm.ops import temporal_shift

REGNET = dict(type='RegNet', arch='regnetx_400mf', out_indices=(1, 3))


def reference_causal(model_2d, sites, clip, shift_div=8):
    """Offline causal TSM as pre-hooks calling the op on a plain 2D model."""
    handles = [site.register_forward_pre_hook(
        lambda m, args: (temporal_shift(args[0], len(clip), shift_div,
                                        'causal'), )) for site in sites]
    try:
        return model_2d(clip)
    finally:
        for handle in handles:
            handle.remove()


def test_a_backbone_without_preset_shifts_the_sites_its_config_names():
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model_2d = randomize_weights(MODELS.build(REGNET))
    tsm = MODELS.build(dict(type='StreamingTSM', backbone=REGNET,
                            sites='layer*.*.conv1', num_segments=3,
                            routed=True))
    assert type(tsm).__name__ == 'StreamingTSMRegNet'
    assert isinstance(tsm, RegNet)
    assert list(tsm.state_dict()) == list(model_2d.state_dict())
    tsm.load_state_dict(model_2d.state_dict(), strict=True)
    tsm.eval()
    sites = [m for n, m in model_2d.named_modules()
             if n.startswith('layer') and n.endswith('conv1')
             and n.count('.') == 2]
    assert tsm.num_shift_sites == len(sites) == 22
    clip = torch.randn(3, 3, 64, 64)
    with torch.no_grad():
        expected = reference_causal(model_2d, sites, clip)
        offline = tsm(clip)
        tsm.reset_streams()
        steps = [tsm.forward_stream(frame[None], ['v']) for frame in clip]
    for level, want in enumerate(expected):
        torch.testing.assert_close(offline[level], want)
        got = torch.cat([step[level] for step in steps])
        assert (got - want).abs().max() <= 1e-5 * want.abs().max()


def test_patterns_are_checked():
    with pytest.raises(TypeError, match='RegNet has no preset: name its '
                       "shift sites, e.g. sites="):
        StreamingTSM(backbone=REGNET)
    with pytest.raises(ValueError, match=r"StreamingTSMRegNet: shift site "
                       r"pattern\(s\) \['layer\*\.conv9'\] match no module"):
        StreamingTSM(backbone=REGNET, sites=['layer*.*.conv1',
                                             'layer*.conv9'])
    with pytest.raises(TypeError, match='sites must be a module-path'):
        StreamingTSM(backbone=REGNET, sites=[])


@pytest.mark.parametrize('base, preset, cfg', [
    (CSPNeXt, StreamingTSMCSPNeXt,
     dict(type='CSPNeXt', deepen_factor=0.167, widen_factor=0.375)),
    (CSPDarknet, StreamingTSMCSPDarknet,
     dict(type='CSPDarknet', deepen_factor=0.33, widen_factor=0.375)),
])
def test_csp_presets_shift_the_blocks_with_an_identity_path(base, preset,
                                                             cfg):
    """RTMDet's and YOLOX's backbones: the first conv of each residual
    branch, as TSM's blockres; the last stage adds no identity."""
    init_default_scope('mmdet')
    model = StreamingTSM(backbone=cfg, num_segments=2, routed=True)
    assert type(model) is preset
    blocks = {n: m for n, m in model.named_modules()
              if n.count('.') == 3 and '.blocks.' in n}
    with_identity = sorted(n for n, b in blocks.items() if b.add_identity)
    assert with_identity and len(with_identity) < len(blocks)
    assert not any(n.startswith('stage4') for n in with_identity)
    shifted = sorted(n for n, m in model.named_modules()
                     if m._forward_pre_hooks)
    assert shifted == [f'{n}.conv1' for n in with_identity]
    assert model.num_shift_sites == len(with_identity)
    assert list(model.state_dict()) == list(
        base(**{k: v for k, v in cfg.items() if k != 'type'}).state_dict())
