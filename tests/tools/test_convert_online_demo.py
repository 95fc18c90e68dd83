"""``convert_checkpoint.py official-online``: the official online demo's
MobileNetV2 (mit-han-lab/temporal-shift-module ``online_demo``) in
TSMMobileNetV2, checked against a re-implementation of the demo's network.
"""
import pytest
import torch
from mmaction.registry import MODELS
from mmengine.registry import init_default_scope
from tool_loader import load_tool
from torch import nn

converter = load_tool('model_converters/convert_checkpoint')

# the demo's (t, c, n, s) and the blocks it shifts (global block index)
SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
            (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
SHIFT_BLOCKS = (2, 4, 5, 7, 8, 9, 11, 12, 14, 15)
CLASSES = 27  # Jester, as the demo's checkpoint


def conv_bn(inp, oup, kernel, stride=1, groups=1, act=True):
    layers = [nn.Conv2d(inp, oup, kernel, stride, kernel // 2,
                        groups=groups, bias=False), nn.BatchNorm2d(oup)]
    return layers + [nn.ReLU6()] if act else layers


class DemoBlock(nn.Module):
    """The demo's InvertedResidual / InvertedResidualWithShift."""

    def __init__(self, inp, oup, stride, t, shift):
        super().__init__()
        hidden = inp * t
        self.shift = shift
        self.use_res = stride == 1 and inp == oup
        layers = [] if t == 1 else conv_bn(inp, hidden, 1)
        layers += conv_bn(hidden, hidden, 3, stride, hidden)
        layers += conv_bn(hidden, oup, 1, act=False)
        self.conv = nn.Sequential(*layers)

    def forward(self, x, shift_buffer=None):
        if not self.shift:
            return x + self.conv(x) if self.use_res else self.conv(x)
        c = x.size(1)
        x1, x2 = x[:, :c // 8], x[:, c // 8:]
        return x + self.conv(torch.cat((shift_buffer, x2), dim=1)), x1


class DemoMobileNetV2(nn.Module):
    """The demo's MobileNetV2 (width 1.0): same layers, keys and shift."""

    def __init__(self, n_class=CLASSES):
        super().__init__()
        features, inp = [nn.Sequential(*conv_bn(3, 32, 3, 2))], 32
        for t, c, n, s in SETTINGS:
            for i in range(n):
                features.append(DemoBlock(
                    inp, c, s if i == 0 else 1, t,
                    len(features) - 1 in SHIFT_BLOCKS))
                inp = c
        features.append(nn.Sequential(*conv_bn(inp, 1280, 1)))
        self.features = nn.ModuleList(features)
        self.classifier = nn.Linear(1280, n_class)

    def forward(self, x, *shift_buffer):
        out_buffer = []
        for f in self.features:
            if isinstance(f, DemoBlock) and f.shift:
                x, s = f(x, shift_buffer[len(out_buffer)])
                out_buffer.append(s)
            else:
                x = f(x)
        self.last_features = x
        return (self.classifier(x.mean(3).mean(2)), *out_buffer)


def random_demo(seed=0):
    """The demo network with random weights and BN statistics, eval."""
    torch.manual_seed(seed)
    demo = DemoMobileNetV2()
    with torch.no_grad():
        for m in demo.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
    return demo.eval()


def zero_buffers(demo, x):
    """The demo's initial shift buffers for the input ``x``: zeros of each
    shifted block's first C/8 input channels."""
    shapes, h = [], x
    for f in demo.features:
        if isinstance(f, DemoBlock) and f.shift:
            shapes.append((h.shape[0], h.shape[1] // 8, *h.shape[2:]))
            h, _ = f(h, torch.zeros(shapes[-1]))
        else:
            h = f(h)
    return [torch.zeros(shape) for shape in shapes]


def test_official_online_reproduces_the_demo_frame_by_frame(tmp_path):
    demo = random_demo()
    src, dst = str(tmp_path / 'demo.pth.tar'), str(tmp_path / 'tsm.pth')
    torch.save(demo.state_dict(), src)  # the demo's checkpoint: bare keys
    converter.main(['official-online', src, dst])
    converted = torch.load(dst, map_location='cpu', weights_only=True)
    assert converted['meta']['converted_from']['layout'] == \
        'official-online'
    state = converted['state_dict']
    init_default_scope('mmaction')
    backbone = MODELS.build(dict(type='TSMMobileNetV2', num_segments=8,
                                 direction='causal'))
    backbone.load_state_dict(
        {k[len('backbone.'):]: v for k, v in state.items()
         if k.startswith('backbone.')}, strict=True)
    backbone.eval()
    fc = nn.Linear(1280, CLASSES)
    fc.load_state_dict({'weight': state['cls_head.fc_cls.weight'],
                        'bias': state['cls_head.fc_cls.bias']})
    assert backbone.num_shift_sites == len(SHIFT_BLOCKS)

    frames = torch.randn(4, 1, 3, 64, 64)
    buffers = zero_buffers(demo, frames[0])
    with torch.no_grad():
        for t, frame in enumerate(frames):
            logits, *buffers = demo(frame, *buffers)
            features = backbone.forward_stream(frame, [0])
            caches = backbone.stream_caches.caches(0)  # site: (C/8, H, W)
            caches = [caches[site][None] for site in range(len(caches))]
            assert len(caches) == len(buffers)
            scale = demo.last_features.abs().max()
            assert (features - demo.last_features).abs().max() <= \
                1e-4 * scale, f'frame {t}'
            logit_scale = logits.abs().max()
            assert (fc(features.mean((2, 3))) - logits).abs().max() <= \
                1e-4 * logit_scale, f'frame {t}'
            for site, (ours, theirs) in enumerate(zip(caches, buffers)):
                # the demo keeps x[:, :C/8]; ours x[:, C/8:2C/8] of the
                # swapped channels: the same values
                assert ours.shape == theirs.shape
                assert (ours - theirs).abs().max() <= \
                    1e-4 * theirs.abs().max(), (t, site)


def test_without_the_swap_the_features_differ():
    """The channel swap touches the residual stream of the shifted stages
    only: the stem, the first stage and the last conv keep their
    weights."""
    demo = random_demo()
    converted = converter.convert_official_online(demo.state_dict())
    swapped = converted['state_dict']
    plain = converter.convert_official_online(demo.state_dict(),
                                              swap_slots=False)['state_dict']
    assert swapped.keys() == plain.keys()
    changed = [k for k in swapped if not torch.equal(swapped[k], plain[k])]
    # the stage outputs and the inputs of the shifted blocks and of the
    # blocks after them: conv weights and BN statistics of 5 stages
    assert 'backbone.layer2.1.conv.0.conv.weight' in changed
    assert 'backbone.layer2.0.conv.2.bn.running_mean' in changed
    assert 'backbone.layer1.0.conv.1.conv.weight' not in changed
    assert 'backbone.conv2.conv.weight' not in changed


def test_official_online_refuses_other_networks(tmp_path):
    state = random_demo().state_dict()
    missing = dict(state)
    missing.pop('features.5.conv.3.weight')
    with pytest.raises(ValueError, match=r'features\.5\.conv\.3\.weight'):
        converter.convert_official_online(missing)
    extra = dict(state, **{'features.19.0.weight': torch.zeros(1)})
    with pytest.raises(ValueError, match=r'features\.19\.0\.weight'):
        converter.convert_official_online(extra)
    wide = dict(state)
    wide['classifier.weight'] = torch.zeros(CLASSES, 1792)
    with pytest.raises(ValueError, match='classifier.weight'):
        converter.convert_official_online(wide)
    # a resnet checkpoint is named as not the demo's
    src = str(tmp_path / 'r50.pth')
    torch.save({'module.base_model.conv1.weight': torch.zeros(1)}, src)
    with pytest.raises(ValueError, match=f'(?s){src}: keys of no '
                       'online-demo.*base_model'):
        converter.convert_checkpoint_file('official-online', src,
                                          str(tmp_path / 'out.pth'))
