"""A checkpoint of another model is refused where a user loads it
(tools/test.py, tools/train.py --resume, init_model), naming the file and
the first weights it lacks, instead of scoring or training random weights;
a damaged ``last_checkpoint`` record falls back to the newest checkpoint."""
import os.path as osp
import re
import sys

import pytest
import torch
from tiny_mmengine import REPO, load_tool, tiny_config

from tsm_mm.apis import init_model
from tsm_mm.engine import CheckpointLoadError

TOY_TSM = osp.join(REPO, 'configs/toy/vid_faster_rcnn_tsm_toy.py')
ACTIONS = osp.join(REPO, 'configs/toy/tsm_r18_toy_actions.py')


def run_tool(name, *args):
    argv = sys.argv
    sys.argv = [f'{name}.py', *map(str, args)]
    try:
        load_tool(name).main()
    finally:
        sys.argv = argv


@pytest.fixture(scope='module')
def recognizer_checkpoint(tmp_path_factory):
    """What tools/train.py saves for the toy action recognizer."""
    model = init_model(ACTIONS, default_scope='mmaction')
    path = tmp_path_factory.mktemp('recognizer') / 'tsm_r18_actions.pth'
    torch.save(dict(meta=dict(epoch=1, iter=1),
                    state_dict=model.state_dict()), str(path))
    return path


def test_test_tool_refuses_a_recognizer_for_a_detector(
        recognizer_checkpoint, toy_vid_root, toy_vid_ann_dir, tmp_path):
    ann_file = osp.join(toy_vid_ann_dir, 'imagenet_vid_val.json')
    with pytest.raises(CheckpointLoadError) as info:
        run_tool('test', TOY_TSM, recognizer_checkpoint, '--work-dir',
                 tmp_path / 'work', '--cfg-options',
                 f'test_dataloader.dataset.data_root={toy_vid_root}',
                 f'test_dataloader.dataset.ann_file={ann_file}',
                 f'test_evaluator.ann_file={ann_file}')
    # its ResNet keys are MMAction2's (conv1.conv.weight), mmdet's wanted
    assert re.match(f'{re.escape(str(recognizer_checkpoint))} does not fit '
                    r'the VideoFasterRCNN: \d+ of its weights are not in '
                    r'the checkpoint: backbone\.conv1\.weight, ',
                    str(info.value)), info.value


def test_test_tool_loads_its_own_checkpoint(tmp_path):
    """The tiny task's own checkpoint is tested; one of another model
    (a key renamed) is refused."""
    config = tmp_path / 'tiny_fit.py'
    config.write_text(tiny_config(str(tmp_path / 'work'), max_iters=2))
    run_tool('train', config)
    own = tmp_path / 'work' / 'iter_2.pth'
    run_tool('test', config, own)
    checkpoint = torch.load(str(own), weights_only=False)
    weights = checkpoint['state_dict']
    for name, change, expected in [
            ('renamed', dict(head=weights['fc.weight']),
             'TsmMmTinyRegressor: 1 of its weights are not in the '
             'checkpoint: fc.weight; 1 keys of the checkpoint are not in the '
             'model: head'),
            ('reshaped', {'fc.weight': torch.zeros(3, 4)},
             'TsmMmTinyRegressor: size mismatch for fc.weight: copying a '
             'param with shape torch.Size([3, 4]) from checkpoint')]:
        other = tmp_path / f'{name}.pth'
        state = dict(weights, **change)
        if name == 'renamed':
            state.pop('fc.weight')
        torch.save(dict(checkpoint, state_dict=state), str(other))
        with pytest.raises(CheckpointLoadError) as info:
            run_tool('test', config, other)
        assert f'{other} does not fit the {expected}' in str(info.value)


def _trained(tmp_path, name, **kwargs):
    config = tmp_path / f'tiny_{name}.py'
    config.write_text(tiny_config(str(tmp_path / 'work'), max_iters=4,
                                  scheduler='LinearLR_MultiStepLR',
                                  **kwargs))
    run_tool('train', config)
    again = tmp_path / f'tiny_{name}_again.py'  # a fresh MessageHub name
    again.write_text(config.read_text().replace('max_iters=4', 'max_iters=6')
                     .replace("'max_iters': 4", "'max_iters': 6"))
    return again


def test_resume_refuses_a_checkpoint_of_another_model(tmp_path):
    """The newest checkpoint of the work dir holds another model's weights
    (a work dir reused): --resume names it, not the optimizer."""
    config = _trained(tmp_path, 'other', max_keep_ckpts=3)
    newest = tmp_path / 'work' / 'iter_4.pth'
    checkpoint = torch.load(str(newest), weights_only=False)
    checkpoint['state_dict'] = {'cls.weight': torch.zeros(3, 4),
                                'cls.bias': torch.zeros(3),
                                'embed.weight': torch.zeros(8, 4)}
    checkpoint['optimizer']['param_groups'][0]['params'] = [0, 1, 2]
    torch.save(checkpoint, str(newest))
    with pytest.raises(CheckpointLoadError) as info:
        run_tool('train', config, '--resume')
    assert f'{newest} does not fit the TsmMmTinyRegressor: 2 of its ' \
        'weights are not in the checkpoint: fc.weight, fc.bias; 3 keys of ' \
        'the checkpoint are not in the model: cls.weight, cls.bias, ' \
        'embed.weight' in str(info.value)


def test_binary_last_checkpoint_falls_back_to_the_newest(tmp_path, capsys):
    config = _trained(tmp_path, 'garbage', max_keep_ckpts=3)
    record = tmp_path / 'work' / 'last_checkpoint'
    record.write_bytes(b'\x80\xff\x00PK\x03\x04\xfe')
    run_tool('train', config, '--resume')
    out = capsys.readouterr()
    said = out.out + out.err
    assert f'{record} is not a readable path' in said
    assert f'resuming from {tmp_path / "work" / "iter_4.pth"}' in said
    assert 'resumed epoch: 0, iter: 4' in said
    assert record.read_text() == str(tmp_path / 'work' / 'iter_6.pth')
