"""tools/benchmark.py --groups streaming: one row set per frame size."""
import contextlib
import io

import pytest
import torch
from tool_loader import REPO, load_tool

benchmark = load_tool('benchmark')


def test_each_size_has_its_2d_and_streaming_rows():
    with contextlib.redirect_stdout(io.StringIO()):
        results = benchmark.main(['--groups', 'streaming', '--stream-sizes',
                                  '32x32', '32x64', '--repeats', '1'])
    groups = {}
    for row in results:
        groups.setdefault(row['group'], {})[row['name']] = row
    assert list(groups) == ['per new frame 32x32', 'per new frame 64x32']
    first, second = groups.values()
    pair = ['R-50 2D, one frame', 'TSM streaming, one frame',
            'TSM streaming, copying step', 'R-50 + slot moves only']
    assert list(first) == pair + ['TSM 8-frame window', 'window / streaming']
    assert list(second) == pair
    for rows in groups.values():
        assert rows['R-50 2D, one frame']['ratio'] == 1.0
        assert rows['TSM streaming, one frame']['ratio'] > 0


@pytest.mark.parametrize('size', ['600', '600x', 'ax2', '0x5'])
def test_bad_frame_sizes_are_refused(size, capsys):
    with pytest.raises(SystemExit):
        benchmark.main(['--groups', 'streaming', '--stream-sizes', size])
    assert 'frame size must be HxW' in capsys.readouterr().err


def test_the_floor_moves_the_same_slots_as_a_stream_step():
    """The floor candidate does the stream step's work: same features."""
    from mmdet.models.backbones import ResNet

    from tsm_mm.models.backbones import StreamingTSMResNet
    from tsm_mm.models.backbones.shift_mixin import blockres_blocks
    stream = StreamingTSMResNet(18, routed=True).eval()
    floor = ResNet(18)
    floor.load_state_dict(stream.state_dict())
    floor.eval()
    benchmark.SlotMovesOnly([block.conv1 for block in blockres_blocks(
        [getattr(floor, name) for name in floor.res_layers])])
    with torch.no_grad():
        for frame in torch.randn(3, 1, 3, 32, 32):
            for got, want in zip(floor(frame),
                                 stream.forward_stream(frame, ['v'])):
                torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_detector_group_has_a_row_pair_per_family():
    from tsm_mm.apis.comparison import DETECTOR_FAMILIES
    with contextlib.redirect_stdout(io.StringIO()):
        results = benchmark.main(['--groups', 'detector', '--repeats', '1'])
    groups = {}
    for row in results:
        groups.setdefault(row['group'], {})[row['name']] = row
    assert list(groups) == [f'toy {family} 160x128 per frame'
                            for family in DETECTOR_FAMILIES]
    for family, rows in zip(DETECTOR_FAMILIES, groups.values()):
        assert list(rows) == [f'{family} 2D', f'{family} TSM streaming']
        assert rows[f'{family} 2D']['ratio'] == 1.0
        assert rows[f'{family} TSM streaming']['fps'] > 0


@pytest.mark.parametrize('phase, items', [('train', 3), ('test', 5)])
def test_dataset_group_loads_a_video_config(phase, items, toy_vid_root,
                                            toy_vid_ann_dir, tmp_path):
    """mmdet's benchmark.py --task dataset: a bare AssertionError in
    TransformBroadcaster.scatter_sequence on these configs."""
    import os
    root = tmp_path / 'vid'
    root.mkdir()
    os.symlink(os.path.join(toy_vid_root, 'Data'), root / 'Data')
    os.symlink(toy_vid_ann_dir, root / 'annotations')
    with contextlib.redirect_stdout(io.StringIO()):
        (row, ) = benchmark.main([
            '--groups', 'dataset', '--phase', phase, '--items', str(items),
            '--config', os.path.join(REPO, 'configs', 'toy',
                                     'vid_faster_rcnn_tsm_toy.py'),
            '--data-root', str(root)
        ])
    assert row['name'] == f'{items} items, 1 worker'
    assert row['items_per_s'] > 0 and row['median_ms'] > 0


def test_dataset_group_needs_a_config():
    with pytest.raises(SystemExit, match='needs --config'):
        benchmark.main(['--groups', 'dataset'])


def test_detector_group_times_the_vid_configs_at_their_test_scale():
    with contextlib.redirect_stdout(io.StringIO()):
        results = benchmark.main(['--groups', 'detector', '--repeats', '1',
                                  '--detector-configs', 'vid'])
    titles = list(dict.fromkeys(row['group'] for row in results))
    # a 4:3 frame inside the configs' (1000, 600) scale, padded to 32
    assert titles == [f'VID {family} 800x608 per frame' for family in (
        'faster_rcnn', 'retinanet', 'rtmdet', 'yolox')]
    assert all(row['median_ms'] > 0 for row in results)
