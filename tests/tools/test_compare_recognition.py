"""tools/compare_recognition.py: a 2-iteration run on tiny toy actions."""
import json
import os.path as osp

import pytest
from tool_loader import load_tool

from tsm_mm.testing.rawframe_lists import read_rawframe_list
from tsm_mm.testing.toy_actions import make_toy_actions

ARMS = ('TSN', 'TSM', 'TSM online', 'TSM run causally')


compare_recognition = load_tool('compare_recognition')


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    work = tmp_path_factory.mktemp('compare')
    data = str(work / 'data')
    # 2 pairs -> 4 classes; 2 blocks of 4 videos, one held out
    make_toy_actions(data, videos=8, frames=8, seed=0, size=32,
                     val_fraction=0.5, attributes=('x', 'y'))
    work_dir = str(work / 'out')
    report = compare_recognition.main([
        '--work-dir', work_dir, '--data-root', data, '--iters', '2',
        '--batch-size', '2', '--timing-repeats', '3',
        '--timing-sizes', '32', '64'
    ])
    return work_dir, data, report


def test_json_and_table(run, capsys):
    work_dir, data, report = run
    with open(osp.join(work_dir, 'compare_recognition.json')) as f:
        saved = json.load(f)
    assert saved['results'].keys() == set(ARMS)
    assert saved['classes'] == ['moving_left', 'moving_right', 'moving_up',
                                'moving_down']
    assert saved['chance'] == pytest.approx(0.25)
    num_val = len(read_rawframe_list(osp.join(data, 'val_list.txt')))
    assert num_val == 4
    for arm in ARMS:
        top1 = saved['results'][arm]['top1']
        # an accuracy over 4 clips: a multiple of 1/4
        assert top1 * num_val == pytest.approx(round(top1 * num_val))
        assert 0.0 <= top1 <= 1.0
    for arm in ARMS[:3]:  # trained: checkpoint after the 2 iterations
        assert saved['results'][arm]['checkpoint'].endswith('iter_2.pth')
        assert osp.isfile(saved['results'][arm]['checkpoint'])
    assert saved['results']['TSM run causally']['train_s'] < 1.0
    # frame by frame = offline causal (the backbone contract), for the
    # causal model and for the bidirectional one run causally
    for arm in ('TSM online', 'TSM run causally'):
        row = saved['results'][arm]
        assert row['top1_stream'] == row['top1']
    assert [cost['size'] for cost in saved['per_frame']] == [32, 64]
    for cost in saved['per_frame']:
        assert cost['clip_frames'] == 8
        for fmt in ('', '_channels_last'):
            assert cost['speedup' + fmt] == pytest.approx(
                cost['clip_ms' + fmt] / cost['stream_ms' + fmt])
            assert cost['frame_2d_ms' + fmt] > 0
    assert not osp.exists(osp.join(work_dir, 'compare_recognition.json.tmp'))

    table = compare_recognition.table(saved['results'], saved['chance'])
    lines = table.splitlines()
    assert len(lines) == 2 + len(ARMS) + 1
    online = next(line for line in lines if line.startswith('| TSM online'))
    cells = [c.strip() for c in online.strip('|').split('|')]
    assert float(cells[1]) == pytest.approx(
        100 * saved['results']['TSM online']['top1'], abs=0.05)
    assert lines[-1].split('|')[2].strip() == '25.0'


def test_table_known_values():
    table = compare_recognition.table(
        {'A': dict(top1=0.5, train_s=12.4),
         'B': dict(top1=0.925, top1_stream=0.9)}, 0.25)
    rows = [[c.strip() for c in line.strip('|').split('|')]
            for line in table.splitlines()[2:]]
    assert rows == [['A', '50.0', '-', '12'], ['B', '92.5', '90.0', '-'],
                    ['chance', '25.0', '', '']]


def test_bad_arguments(tmp_path):
    with pytest.raises(SystemExit):
        compare_recognition.parse_args(['--iters', '0'])
    with pytest.raises(FileNotFoundError, match='classes.txt'):
        compare_recognition.main(['--work-dir', str(tmp_path / 'w'),
                                  '--data-root', str(tmp_path)])
