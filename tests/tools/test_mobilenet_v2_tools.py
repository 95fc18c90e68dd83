"""The recognition and export tools on the MobileNetV2 (edge) backbones."""
import json
import os.path as osp
import sys

import numpy as np
import onnxruntime as ort
import pytest
import torch
from mmengine.config import Config
from random_weights import scale_norms
from tool_loader import REPO, load_tool

from tsm_mm.apis import OnlineRecognizer, init_model
from tsm_mm.testing.toy_actions import make_toy_actions

TOY = osp.join(REPO, 'configs', 'toy')
ONLINE = osp.join(TOY, 'tsm_online_mobilenetv2_toy_actions.py')
DETECTOR = osp.join(TOY, 'vid_faster_rcnn_tsm_mobilenetv2_toy.py')
ARMS = ('TSN', 'TSM', 'TSM online', 'TSM run causally')

compare_recognition = load_tool('compare_recognition')
export_onnx = load_tool('export_onnx')


def test_arm_configs_differ_only_in_the_backbone():
    configs = compare_recognition.arm_configs('mobilenetv2')
    assert [osp.basename(c) for c in configs.values()] == [
        'tsn_mobilenetv2_toy_actions.py', 'tsm_mobilenetv2_toy_actions.py',
        'tsm_online_mobilenetv2_toy_actions.py']
    r18 = Config.fromfile(compare_recognition.arm_configs()['TSM']).to_dict()
    cfgs = {arm: Config.fromfile(c).to_dict() for arm, c in configs.items()}
    assert [cfgs[arm]['model']['backbone']['type'] for arm in configs] == [
        'MobileNetV2', 'TSMMobileNetV2', 'TSMMobileNetV2']
    assert cfgs['TSM online']['model']['backbone']['direction'] == 'causal'
    for cfg in (*cfgs.values(), r18):
        cfg['model'].pop('backbone')
        cfg['model']['cls_head'].pop('in_channels')
    assert cfgs['TSN'] == cfgs['TSM'] == cfgs['TSM online'] == r18
    with pytest.raises(ValueError, match="'resnet50'"):
        compare_recognition.arm_configs('resnet50')
    with pytest.raises(SystemExit):
        compare_recognition.parse_args(['--backbone', 'resnet50'])


def test_compare_recognition_mobilenet_v2(tmp_path):
    data = str(tmp_path / 'data')
    make_toy_actions(data, videos=8, frames=8, seed=0, size=32,
                     val_fraction=0.5, attributes=('x', 'y'))
    work_dir = str(tmp_path / 'out')
    compare_recognition.main([
        '--backbone', 'mobilenetv2', '--work-dir', work_dir, '--data-root',
        data, '--iters', '2', '--batch-size', '2', '--timing-repeats', '2',
        '--timing-sizes', '32'
    ])
    with open(osp.join(work_dir, 'compare_recognition.json')) as f:
        saved = json.load(f)
    assert saved['args']['backbone'] == 'mobilenetv2'
    assert saved['results'].keys() == set(ARMS)
    for arm in ('TSM online', 'TSM run causally'):
        row = saved['results'][arm]
        assert row['top1_stream'] == row['top1']
    # the arms trained MobileNetV2s (MMAction2's keys) and timed them
    for arm, expected in (('TSN', 'MobileNetV2'),
                          ('TSM online', 'TSMMobileNetV2')):
        ckpt = torch.load(saved['results'][arm]['checkpoint'],
                          map_location='cpu', weights_only=False)
        assert ckpt['meta']['cfg'].count(f"type='{expected}'") == 1
        assert 'backbone.layer2.1.conv.0.conv.weight' in ckpt['state_dict']
    cost = saved['per_frame'][0]
    assert cost['speedup'] == pytest.approx(cost['clip_ms'] /
                                            cost['stream_ms'])


@pytest.fixture(scope='module')
def online_model(tmp_path_factory):
    """The online MobileNetV2 recognizer with random weights, saved."""
    torch.manual_seed(0)
    model = init_model(ONLINE, default_scope='mmaction')
    scale_norms(model, bias_range=(-0.2, 0.2))
    ckpt = str(tmp_path_factory.mktemp('mbv2') / 'online.pth')
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    return model, ckpt


def test_online_recognizer_equals_offline_causal(online_model):
    model, _ = online_model
    frames = [np.random.default_rng(t).integers(0, 255, (32, 32, 3),
                                                np.uint8)
              for t in range(8)]
    recognizer = OnlineRecognizer(model)
    steps = [recognizer.step(frame).logits for frame in frames]
    with torch.no_grad():
        clip = torch.stack([
            torch.from_numpy(f).permute(2, 0, 1).float() for f in frames])
        clip = (clip - 127.5) / 64.0  # the config's preprocessor
        head = model.cls_head
        expected = head.fc_cls(head.avg_pool(model.backbone(clip)).flatten(1))
    got = torch.stack(steps)
    assert (got - expected).abs().max() <= 1e-5 * expected.abs().max()


def run_export(argv):
    saved = sys.argv
    sys.argv = ['export_onnx.py', *argv]
    try:
        export_onnx.main()
    finally:
        sys.argv = saved


def test_export_onnx_recognizer_step(online_model, tmp_path):
    model, ckpt = online_model
    out = str(tmp_path / 'mbv2_step.onnx')
    run_export([ONLINE, ckpt, '--out', out, '--shape', '32', '32',
                '--backbone-only'])
    with open(osp.join(tmp_path, 'mbv2_step.json')) as f:
        interface = json.load(f)
    specs = interface['caches']
    assert len(specs) == 10
    sess = ort.InferenceSession(out, providers=['CPUExecutionProvider'])
    assert [i.name for i in sess.get_inputs()] == [
        'frame', *[f'cache_{k}' for k in range(10)]]
    backbone = model.backbone
    backbone.reset_streams()
    caches = [np.zeros([1, *c['shape'][1:]], np.float32) for c in specs]
    for frame in torch.randn(4, 1, 3, 32, 32):
        outs = sess.run(None, {'frame': frame.numpy(),
                               **{c['input']: v
                                  for c, v in zip(specs, caches)}})
        caches = outs[1:]
        with torch.no_grad():
            expected = backbone.forward_stream(frame, ['onnx'])
        assert np.abs(outs[0] - expected.numpy()).max() <= \
            1e-4 * float(expected.abs().max())


def test_export_onnx_detector_step(tmp_path):
    out = str(tmp_path / 'det.onnx')
    run_export([DETECTOR, '--out', out, '--shape', '64', '64'])
    with open(osp.join(tmp_path, 'det.json')) as f:
        interface = json.load(f)
    # C_in/8 channels at the input of the 10 shifted blocks, 64x64 frames
    assert [tuple(c['shape'][1:]) for c in interface['caches']] == [
        (3, 16, 16), (4, 8, 8), (4, 8, 8), (8, 4, 4), (8, 4, 4),
        (8, 4, 4), (12, 4, 4), (12, 4, 4), (20, 2, 2), (20, 2, 2)]
