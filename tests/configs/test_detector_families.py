"""The detector families' configs: 2D and TSM differ only in the backbone,
every toy config scores every val frame through ``Runner.test()``, and a
video detector refuses single images in training with what to change."""
import json
import os.path as osp

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmengine.structures import InstanceData
from toy_runner import REPO, toy_test_config

# family: the 2D and TSM configs of the toy VID and of ImageNet-VID
FAMILIES = {
    'faster_rcnn': ('toy/vid_faster_rcnn_{}_toy', 'vid_faster_rcnn_{}'),
    'retinanet': ('toy/vid_retinanet_{}_toy', 'vid_retinanet_r50_{}'),
    'rtmdet': ('toy/vid_rtmdet_{}_toy', 'vid_rtmdet_tiny_{}'),
    'yolox': ('toy/vid_yolox_{}_toy', 'vid_yolox_s_{}'),
}
SHIFT_KEYS = {'num_segments', 'shift_div', 'direction'}
TOY_TSM = [f"configs/{FAMILIES[f][0].format('tsm')}.py" for f in FAMILIES]


def config_path(name):
    return osp.join(REPO, 'configs', name + '.py')


def flat(node, prefix=''):
    """``{dotted key: value}`` of a config's leaves."""
    if isinstance(node, dict):
        items = {}
        for key, value in node.items():
            items.update(flat(value, f'{prefix}{key}.'))
        return items
    return {prefix[:-1]: node}


@pytest.mark.parametrize('family', FAMILIES)
@pytest.mark.parametrize('kind', [0, 1], ids=['toy', 'imagenet_vid'])
def test_2d_and_tsm_configs_differ_only_in_the_backbone(family, kind):
    pattern = FAMILIES[family][kind]
    cfg_2d, cfg_tsm = (Config.fromfile(config_path(pattern.format(arm)))
                       for arm in ('2d', 'tsm'))
    a, b = flat(cfg_2d.to_dict()), flat(cfg_tsm.to_dict())
    differ = {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)}
    # the backbone's type and its shift arguments, nothing else
    assert {k for k in differ if not k.endswith('filename')} == {
        'model.backbone.type',
        *(f'model.backbone.{k}' for k in SHIFT_KEYS)}, family
    assert b['model.backbone.type'].startswith('StreamingTSM')
    assert b['model.backbone.num_segments'] == cfg_tsm.clip_len
    assert cfg_tsm.model.type in ('VideoDetector', 'VideoFasterRCNN')


@pytest.mark.parametrize('config', TOY_TSM)
def test_runner_test_scores_every_frame(config, toy_vid_root,
                                        toy_vid_ann_dir, tmp_path):
    ann_file = f'{toy_vid_ann_dir}/imagenet_vid_val.json'
    cfg = toy_test_config(config, toy_vid_root, ann_file, tmp_path)
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    assert 'vid/mAP' in metrics
    frames, _ = runner.test_evaluator.metrics[0].scored
    with open(ann_file) as f:
        images = json.load(f)['images']
    assert len(frames) == len(images)
    # each frame once, as the json names them
    assert sorted(f['img_id'] for f in frames) == sorted(
        i['id'] for i in images)


@pytest.mark.parametrize('config', TOY_TSM)
def test_training_on_single_images_is_refused(config):
    """A stock mmdet config's COCO dataloader (CachedMosaic and all) gives
    images, not clips. Before: a bare AssertionError from mmdet's
    TrackDataPreprocessor ('Only support the 4 dims ...')."""
    init_default_scope('mmdet')
    model = MODELS.build(Config.fromfile(osp.join(REPO, config)).model)
    samples = []
    for _ in range(2):
        sample = DetDataSample(metainfo=dict(img_shape=(64, 64),
                                             ori_shape=(64, 64),
                                             scale_factor=(1., 1.)))
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor([[4., 4., 30., 30.]]),
            labels=torch.tensor([1]))
        samples.append(sample)
    data = dict(inputs=[torch.zeros(3, 64, 64, dtype=torch.uint8)] * 2,
                data_samples=samples)
    with pytest.raises(ValueError) as err:
        model.train_step(data, model_wrapper_optim())
    message = str(err.value)
    for words in ('trains on clips', 'DetDataSample', 'ImageNetVIDDataset',
                  'TransformBroadcaster', 'CachedMosaic', 'MixUp'):
        assert words in message


def model_wrapper_optim():
    """An optimizer wrapper that is never stepped (the step fails first)."""
    from mmengine.optim import OptimWrapper
    return OptimWrapper(torch.optim.SGD([torch.zeros(1,
                                                     requires_grad=True)],
                                        lr=0.1))


@pytest.mark.parametrize('transform', [
    dict(type='CachedMosaic', img_scale=(64, 64)),
    dict(type='mmdet.MixUp', img_scale=(64, 64)),
])
def test_a_video_dataset_refuses_image_mixing_transforms(
        transform, toy_vid_root, toy_vid_ann_dir):
    """Before: built, and each frame of a clip would get other images."""
    from mmdet.registry import DATASETS
    cfg = Config.fromfile(config_path('toy/vid_rtmdet_tsm_toy'))
    dataset = cfg.train_dataloader.dataset
    dataset.update(data_root=toy_vid_root,
                   ann_file=f'{toy_vid_ann_dir}/imagenet_vid_train.json')
    dataset.pipeline[0].transforms.insert(2, transform)
    init_default_scope('mmdet')
    with pytest.raises(ValueError) as err:
        DATASETS.build(dataset)
    message = str(err.value)
    assert 'imagenet_vid_train.json' in message
    assert transform['type'] in message
    assert 'drop it from the pipeline' in message
