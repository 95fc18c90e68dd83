"""tools/online_recognition.py and the online recognizer (causal TSM)."""
import copy
import os.path as osp
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmaction.registry import DATASETS
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from random_weights import scale_norms
from tool_loader import REPO, load_tool

from tsm_mm.apis import OnlineRecognizer, init_model
from tsm_mm.apis.frame_pipelines import recognition_frame_pipeline
from tsm_mm.apis.video_io import VideoFrames, count_frames
from tsm_mm.testing import make_toy_actions

ONLINE = osp.join(REPO, 'configs/toy/tsm_online_r18_toy_actions.py')
FRAMES = 8  # the config's num_segments: one clip is the whole video


online_recognition = load_tool('online_recognition')


@pytest.fixture(scope='module')
def toy_actions(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('online') / 'toy_actions')
    make_toy_actions(root, videos=10, frames=FRAMES, seed=0, size=64,
                     val_fraction=0.0)
    return root


@pytest.fixture(scope='module')
def clip_item(toy_actions):
    """Video 0 through the config's test pipeline (rawframes from files)."""
    init_default_scope('mmaction')
    ds_cfg = copy.deepcopy(Config.fromfile(ONLINE).test_dataloader.dataset)
    ds_cfg.update(ann_file=f'{toy_actions}/train_list.txt',
                  data_prefix=dict(img=f'{toy_actions}/rawframes'))
    dataset = DATASETS.build(ds_cfg)
    return dataset[0], dataset.get_data_info(0)['frame_dir']


def random_model(direction='causal'):
    """Random weights with norms and classifier that are not near-trivial."""
    cfg = Config.fromfile(ONLINE)
    cfg.model.backbone.direction = direction
    torch.manual_seed(0)
    model = init_model(cfg, default_scope='mmaction')
    scale_norms(model, bias_range=(-0.2, 0.2))
    torch.nn.init.normal_(model.cls_head.fc_cls.weight, std=0.02)  # ~1
    return model


def offline_frame_logits(model, item):
    """Per-frame logits of the whole clip at once (before consensus)."""
    with torch.no_grad():
        data = model.data_preprocessor(pseudo_collate([item]), False)
        clip = data['inputs'].flatten(0, 1)  # (8, 3, 64, 64)
        features = model.backbone(clip)
        head = model.cls_head
        return head.fc_cls(head.avg_pool(features).flatten(1))


def test_online_logits_equal_offline_causal(clip_item):
    item, frame_dir = clip_item
    model = random_model()
    expected = offline_frame_logits(model, item)
    recognizer = OnlineRecognizer(model)
    steps = [recognizer.step(frame) for frame in VideoFrames(frame_dir)]
    got = torch.stack([step.logits for step in steps])
    assert got.shape == expected.shape == (FRAMES, 10)
    assert (got - expected).abs().max() <= 1e-5
    assert expected.abs().max() > 0.1
    # the running scores after the clip are the recognizer's own clip score
    with torch.no_grad():
        clip_score = model.test_step(pseudo_collate([item]))[0].pred_score
    torch.testing.assert_close(steps[-1].scores, clip_score, atol=1e-6,
                               rtol=1e-5)
    # ... and the reference is the causal one: bidirectional logits differ
    model_bi = random_model('bidirectional')
    bidirectional = offline_frame_logits(model_bi, item)
    assert (bidirectional[:-1] - expected[:-1]).abs().amax(1).min() > 1e-3


def test_reset_restarts_the_stream_and_window(clip_item):
    _, frame_dir = clip_item
    frames = list(VideoFrames(frame_dir))
    recognizer = OnlineRecognizer(random_model(), window=2)
    logits = [recognizer.step(frame).logits for frame in frames[:3]]
    # the same first frame, without a reset: the past is in the caches
    carried = recognizer.step(frames[0])
    assert (carried.logits - logits[0]).abs().max() > 1e-3
    recognizer.reset()
    again = recognizer.step(frames[0])
    torch.testing.assert_close(again.logits, logits[0], atol=1e-6, rtol=0)
    torch.testing.assert_close(again.scores, logits[0].softmax(-1))
    # window=2: the scores average the logits of the last two frames
    second = recognizer.step(frames[1])
    torch.testing.assert_close(
        second.scores, ((logits[0] + logits[1]) / 2).softmax(-1))
    third = recognizer.step(frames[2])
    torch.testing.assert_close(
        third.scores, ((logits[1] + logits[2]) / 2).softmax(-1))


def test_tool_shows_progress_and_a_summary(toy_actions, clip_item,
                                           tmp_path, capsys):
    """A summary at the end, not a line per frame."""
    _, frame_dir = clip_item
    out = str(tmp_path / 'online.mp4')
    classes = osp.join(toy_actions, 'classes.txt')
    names = open(classes).read().split()
    online_recognition.main([ONLINE, frame_dir, '--out', out,
                             '--classes', classes])
    printed = capsys.readouterr().out
    # (MMEngine's progress bar writes to the stdout of import time: it is
    # checked by the script test below)
    assert not re.search(r'^frame +\d+:', printed, re.M)
    final = re.search(r'^top-1 after frame (\d+): (\S+) \((0\.\d+)\)$',
                      printed, re.M)
    assert final and int(final[1]) == FRAMES - 1 and final[2] in names
    assert re.search(r'^median latency [\d.]+ ms per frame$', printed, re.M)
    assert f'{FRAMES} frames -> {out}' in printed
    assert count_frames(out) == FRAMES
    import av
    with av.open(out) as container:  # H.264: browsers play it
        assert container.streams.video[0].codec_context.name == 'h264'
    assert cv2.imread(osp.join(frame_dir, 'img_00001.jpg')) is not None


def test_tool_errors_name_what_is_wrong(toy_actions, clip_item, tmp_path,
                                        capsys):
    _, frame_dir = clip_item
    missing = str(tmp_path / 'nothing.mp4')
    with pytest.raises(SystemExit):
        online_recognition.main([ONLINE, missing])
    assert missing in capsys.readouterr().err
    three = tmp_path / 'three.txt'
    three.write_text('a\nb\nc\n')
    with pytest.raises(ValueError, match=f'3 class names .*{three}.* 10 '):
        online_recognition.main([ONLINE, frame_dir, '--classes',
                                 str(three)])


def test_frame_pipeline_keeps_what_follows_decoding():
    pipeline = [dict(type='DecordInit'), dict(type='SampleFrames'),
                dict(type='DecordDecode'), dict(type='Resize', scale=(-1, 8)),
                dict(type='TenCrop', crop_size=6),
                dict(type='FormatShape', input_format='NCHW'),
                dict(type='PackActionInputs')]
    assert recognition_frame_pipeline(pipeline) == [
        dict(type='Resize', scale=(-1, 8)),
        dict(type='CenterCrop', crop_size=6),  # one view per frame
        dict(type='FormatShape', input_format='NCHW'),
        dict(type='PackActionInputs')]
    with pytest.raises(ValueError, match='no decoding step'):
        recognition_frame_pipeline(pipeline[3:])


def test_tool_video_that_ends_early_exits_non_zero(tmp_path):
    """Run as a script: the error names the frames read, and the exit
    status is not 0; no mp4 is left."""
    path = str(tmp_path / 'cut.avi')
    rng = np.random.default_rng(0)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'MJPG'), 10,
                             (64, 48))
    for _ in range(30):
        writer.write(rng.integers(0, 255, (48, 64, 3), np.uint8))
    writer.release()
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])
    out = str(tmp_path / 'online.mp4')
    result = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools/online_recognition.py'),
         ONLINE, path, '--out', out, '--device', 'cpu'],
        capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode != 0
    message = re.search(
        f'{re.escape(path)} ended after (\\d+) of the 30 frames its '
        'container declares', result.stderr)
    assert message and 0 < int(message[1]) < 30
    # the progress bar shows the frames read, no per-frame lines
    assert f'{message[1]}/30' in result.stdout
    assert not re.search(r'^frame +\d+:', result.stdout, re.M)
    assert not osp.exists(out)
