"""MMDetection's own inference doors on the video detection configs:
``init_detector`` + ``inference_detector``, ``DetInferencer``, and
``video_stream`` to run plain images as the frames of one video."""
import os
import os.path as osp

import mmcv
import pytest
import torch
from mmdet.apis import DetInferencer, inference_detector, init_detector
from mmdet.registry import DATASETS
from mmdet.structures import DetDataSample, TrackDataSample
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from random_weights import scale_norms
from toy_runner import toy_test_config

from tsm_mm.apis import (
    StreamingDetector,
    StreamingDetInferencer,
    init_model,
    video_stream,
)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOY_TSM = 'configs/toy/vid_faster_rcnn_tsm_toy.py'
TOY_2D = 'configs/toy/vid_faster_rcnn_2d_toy.py'
TOY_RTMDET = 'configs/toy/vid_rtmdet_tsm_toy.py'
CLASSES = ('horse', 'tiger', 'zebra')
# score thresholds low enough that random weights give boxes
LOW_THR = {
    TOY_TSM: dict(model=dict(test_cfg=dict(rcnn=dict(score_thr=0.0)))),
    TOY_2D: dict(model=dict(test_cfg=dict(rcnn=dict(score_thr=0.0)))),
    TOY_RTMDET: dict(model=dict(test_cfg=dict(score_thr=0.0))),
}
# today's clip test pipeline, which mmdet-style video configs still use
CLIP_TEST_PIPELINE = [
    dict(type='TransformBroadcaster',
         transforms=[
             dict(type='LoadImageFromFile'),
             dict(type='Resize', scale=(128, 96), keep_ratio=True),
             dict(type='LoadTrackAnnotations'),
         ]),
    dict(type='PackTrackInputs'),
]


def low_threshold_config(config):
    cfg = Config.fromfile(osp.join(REPO, config))
    cfg.merge_from_dict(LOW_THR[config])
    return cfg


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    """config -> a checkpoint of random weights (every residual branch and
    so the shift acting), with its classes in the meta, as training
    saves it."""
    folder = tmp_path_factory.mktemp('mmdet_inference')
    paths = {}
    for config in LOW_THR:
        torch.manual_seed(0)
        model = scale_norms(init_model(osp.join(REPO, config)))
        paths[config] = str(folder / (osp.basename(config) + '.pth'))
        torch.save(dict(state_dict=model.state_dict(),
                        meta=dict(dataset_meta=dict(classes=CLASSES))),
                   paths[config])
    return paths


def frame_paths(root, video=0):
    """The frame files of a toy val video, in order."""
    folder = osp.join(root, 'Data', 'VID', 'val',
                      sorted(os.listdir(osp.join(root, 'Data', 'VID',
                                                 'val')))[video])
    return [osp.join(folder, name) for name in sorted(os.listdir(folder))]


def rows(sample):
    """(n, 6) boxes, scores and labels of a sample's predictions."""
    pred = sample.pred_instances
    return torch.cat([pred.bboxes, pred.scores[:, None],
                      pred.labels[:, None].float()], 1)


def assert_same(got, expected):
    """Labels equal, boxes and scores within 1e-4 relative."""
    assert len(expected) > 0  # something to compare
    assert torch.equal(got[:, 5], expected[:, 5])
    torch.testing.assert_close(got[:, :5], expected[:, :5], rtol=1e-4,
                               atol=1e-4)


def differs(a, b):
    return a.shape != b.shape or (a - b).abs().max() > 1e-2


@pytest.mark.parametrize('config', [TOY_TSM, TOY_2D, TOY_RTMDET])
def test_inference_detector_on_a_path_an_array_and_a_list(
        config, checkpoints, toy_vid_root):
    """Before: a bare AssertionError (TransformBroadcaster.scatter_sequence)
    on a path, a TypeError (LoadImageFromFile got 'transforms') on an
    array."""
    model = init_detector(osp.join(REPO, config), checkpoints[config],
                          device='cpu', cfg_options=LOW_THR[config])
    assert tuple(model.dataset_meta['classes']) == CLASSES
    first, second = frame_paths(toy_vid_root)[:2]
    result = inference_detector(model, first)
    assert isinstance(result, DetDataSample)
    expected = rows(result)
    assert result.pred_instances.bboxes.shape[1] == 4
    # again, after another image: a plain image keeps nothing
    alone = rows(inference_detector(model, second))
    assert_same(rows(inference_detector(model, first)), expected)
    # a list: each image on its own, as alone
    results = inference_detector(model, [first, second])
    assert [type(r) for r in results] == [DetDataSample] * 2
    assert_same(rows(results[0]), expected)
    assert_same(rows(results[1]), alone)
    # an array (last: from then on mmdet's inference_detector keeps
    # LoadImageFromNDArray in model.cfg, paths or not)
    assert_same(rows(inference_detector(model, mmcv.imread(first))),
                expected)


def test_det_inferencer_predicts_and_draws(checkpoints, toy_vid_root,
                                           tmp_path):
    """Before: ValueError: LoadImageFromFile is not found in the test
    pipeline."""
    paths = frame_paths(toy_vid_root)[:2]
    inferencer = DetInferencer(model=osp.join(REPO, TOY_TSM),
                               weights=checkpoints[TOY_TSM], device='cpu',
                               show_progress=False)
    assert tuple(inferencer.model.dataset_meta['classes']) == CLASSES
    # a batch of two: each image on its own
    result = inferencer(paths, batch_size=2, out_dir=str(tmp_path),
                        pred_score_thr=0.0)
    predictions = result['predictions']
    assert len(predictions) == 2
    # as inference_detector gives on the same config and weights
    model = init_detector(osp.join(REPO, TOY_TSM), checkpoints[TOY_TSM],
                          device='cpu')
    with video_stream(model):
        streamed = [inference_detector(model, path).pred_instances
                    for path in paths]
    for path, pred in zip(paths, predictions):
        assert set(pred) >= {'labels', 'scores', 'bboxes'}
        ref = inference_detector(model, path).pred_instances
        assert len(ref) > 0 and pred['labels'] == ref.labels.tolist()
        torch.testing.assert_close(torch.tensor(pred['scores']), ref.scores,
                                   rtol=1e-4, atol=1e-4)
        drawn = mmcv.imread(str(tmp_path / 'vis' / osp.basename(path)))
        assert drawn.shape == mmcv.imread(path).shape
    # a batch under video_stream: its images are consecutive frames
    with video_stream(inferencer.model):
        batch = inferencer(paths, batch_size=2,
                           return_datasamples=True)['predictions']
    for got, ref in zip(batch, streamed):
        assert_same(rows(got), torch.cat(
            [ref.bboxes, ref.scores[:, None], ref.labels[:, None].float()],
            1))


class Outputs(Hook):
    """The per-frame samples of ``Runner.test()``."""

    def __init__(self):
        self.frames = []

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None):
        for track in outputs:
            self.frames.extend(track.video_data_samples)


def test_video_stream_equals_the_streaming_inferencer_and_runner_test(
        checkpoints, toy_vid_root, toy_vid_ann_dir, tmp_path):
    """A video's frames through inference_detector under video_stream are
    the frames of one stream, as StreamingDetInferencer and Runner.test
    run them. Before: no video_stream."""
    checkpoint = checkpoints[TOY_TSM]
    cfg = toy_test_config(TOY_TSM, toy_vid_root,
                          f'{toy_vid_ann_dir}/imagenet_vid_val.json',
                          tmp_path)
    cfg.merge_from_dict(LOW_THR[TOY_TSM])
    cfg.load_from = checkpoint
    runner = Runner.from_cfg(cfg)
    outputs = Outputs()
    runner.register_hook(outputs)
    runner.test()
    paths = frame_paths(toy_vid_root)
    by_path = {s.img_path: rows(s) for s in outputs.frames}
    test_loop = [by_path[path] for path in paths]

    streamed = StreamingDetInferencer(low_threshold_config(TOY_TSM),
                                      checkpoint, 'cpu')(
        [mmcv.imread(path) for path in paths], return_datasamples=True)
    streamed = [rows(s) for s in streamed['predictions']]

    model = init_detector(osp.join(REPO, TOY_TSM), checkpoint,
                          device='cpu', cfg_options=LOW_THR[TOY_TSM])
    for _ in range(2):  # leaving the context resets the stream
        with video_stream(model):
            frames = [rows(inference_detector(model, path))
                      for path in paths]
        assert len(frames) == len(test_loop) == len(streamed) == 8
        for got, ref, other in zip(frames, test_loop, streamed):
            assert_same(got, ref)
            assert_same(other, ref)
    # outside it, each image is a video of its own (the stream's first
    # frame): the later frames differ, so the stream's past showed
    plain = [rows(inference_detector(model, path)) for path in paths]
    assert_same(plain[0], test_loop[0])
    assert all(differs(plain[t], test_loop[t]) for t in range(1, 8))


def test_video_stream_refuses_what_it_cannot_stream():
    model = init_detector(osp.join(REPO, TOY_TSM), device='cpu')
    with video_stream(model, video_id='cam0') as stream_id:
        assert stream_id == 'cam0'
        with pytest.raises(RuntimeError, match="stream 'cam0' is open"):
            with video_stream(model):
                pass
    with pytest.raises(TypeError, match='Linear .*VideoDetector'):
        with video_stream(torch.nn.Linear(2, 2)):
            pass


def test_streaming_detector_takes_either_pipeline(checkpoints,
                                                  toy_vid_root):
    """The config's per-frame pipeline and a clip pipeline given instead
    stream a video alike."""
    model = init_model(low_threshold_config(TOY_TSM), checkpoints[TOY_TSM])
    frames = [mmcv.imread(path) for path in frame_paths(toy_vid_root)[:3]]
    per_frame = StreamingDetector(model)
    expected = [rows(per_frame.detect(frame)[0]) for frame in frames]
    clips = StreamingDetector(model, test_pipeline=CLIP_TEST_PIPELINE)
    for frame, ref in zip(frames, expected):
        assert_same(rows(clips.detect(frame)[0]), ref)


def test_plain_images_and_clips_do_not_mix(checkpoints, toy_vid_val_dataset):
    model = init_detector(osp.join(REPO, TOY_TSM), checkpoints[TOY_TSM],
                          device='cpu')
    clip = toy_vid_val_dataset[(0, 0)]
    image = DetDataSample(metainfo=dict(img_shape=(96, 128)))
    with pytest.raises(TypeError, match=r'mixes plain images.*'
                       r"\['TrackDataSample', 'DetDataSample'\]"):
        model.test_step(dict(inputs=[clip['inputs'], clip['inputs'][0]],
                             data_samples=[clip['data_samples'], image]))


def test_dataset_runs_a_frame_pipeline_as_the_clip_one(toy_vid_val_dataset):
    """The config's per-frame test pipeline gives the items its clip
    pipeline gave: same images, metainfo and ground truth. Before: the
    config's test pipeline was the clip one."""
    pipeline = toy_vid_val_dataset.pipeline.transforms
    assert type(pipeline[0]).__name__ == 'LoadImageFromFile'
    clip_cfg = Config.fromfile(osp.join(REPO, TOY_TSM)).test_dataloader
    clip_cfg.dataset.update(
        data_root=toy_vid_val_dataset.data_root,
        ann_file=toy_vid_val_dataset.ann_file, pipeline=CLIP_TEST_PIPELINE)
    with DefaultScope.overwrite_default_scope('mmdet'):
        clips = DATASETS.build(clip_cfg.dataset)
    for idx in ((0, 5), (1, 7), 0, 1):  # a frame, or a whole video
        got, expected = toy_vid_val_dataset[idx], clips[idx]
        assert got['inputs'].dtype == torch.uint8
        assert torch.equal(got['inputs'], expected['inputs'])
        assert isinstance(got['data_samples'], TrackDataSample)
        assert len(got['data_samples']) == len(expected['data_samples'])
        for frame, ref in zip(got['data_samples'], expected['data_samples']):
            assert frame.metainfo == ref.metainfo
            for field in ('gt_instances', 'ignored_instances'):
                assert set(frame.get(field).keys()) == set(
                    ref.get(field).keys())
                for key in ref.get(field).keys():
                    value = frame.get(field)[key]
                    assert type(value) is torch.Tensor  # not BaseBoxes
                    assert value.dtype == ref.get(field)[key].dtype
                    assert torch.equal(value, ref.get(field)[key])
