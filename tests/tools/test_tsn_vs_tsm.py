"""tools/tsn_vs_tsm.py: 2 iterations per arm on two tiny toy sets."""
import json
import os.path as osp

import pytest
from tool_loader import load_tool

from tsm_mm.testing.rawframe_lists import read_rawframe_list

tsn_vs_tsm = load_tool('tsn_vs_tsm')
ARMS = ('TSN', 'TSM 1/4 blockres')


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    work_dir = str(tmp_path_factory.mktemp('tsn_vs_tsm') / 'out')
    report = tsn_vs_tsm.main([
        '--work-dir', work_dir, '--videos', '24', '--frame-size', '16',
        '--val-fraction', '0.25', '--iters', '2', '--batch-size', '2',
        '--threads', '1'
    ])
    return work_dir, report


def test_both_sets_both_arms(run):
    work_dir, report = run
    with open(osp.join(work_dir, 'tsn_vs_tsm.json')) as f:
        saved = json.load(f)
    assert list(saved['results']) == ['temporal', 'static']
    assert saved['classes'] == {
        'temporal': ['moving_left', 'moving_right', 'moving_up',
                     'moving_down', 'receding', 'approaching'],
        'static': ['hue_000', 'hue_060', 'hue_120', 'hue_180', 'hue_240',
                   'hue_300']}
    # the sets were generated in the work dir, 6 val clips each
    for folder in ('toy_actions', 'toy_static'):
        rows = read_rawframe_list(osp.join(work_dir, folder,
                                           'val_list.txt'))
        assert len(rows) == 6
    for name, arms in saved['results'].items():
        assert list(arms) == list(ARMS)
        for arm, row in arms.items():
            assert 6 * row['top1'] == pytest.approx(round(6 * row['top1']))
            assert osp.isfile(row['checkpoint'])
            assert f'{name}_{arm.split()[0]}' in row['checkpoint']
    # the table: the two arms, their difference and chance per set
    lines = tsn_vs_tsm.table(saved['results'], saved['chance']).splitlines()
    body = [[c.strip() for c in line.strip('|').split('|')]
            for line in lines[3:-1]]
    assert [cells[0] for cells in body] == [*ARMS, 'TSM 1/4 blockres - TSN',
                                            'chance']
    for col, name in enumerate(saved['results'], 1):
        tsn, tsm = (saved['results'][name][arm]['top1'] for arm in ARMS)
        assert float(body[0][col]) == pytest.approx(100 * tsn, abs=0.05)
        assert float(body[2][col]) == pytest.approx(100 * (tsm - tsn),
                                                    abs=0.1)
        assert body[3][col] == '16.7'


def test_table_known_values():
    results = {'temporal': {'TSN': dict(top1=0.25),
                            'TSM 1/4 blockres': dict(top1=0.9)},
               'static': {'TSN': dict(top1=1.0),
                          'TSM 1/4 blockres': dict(top1=0.975)}}
    lines = tsn_vs_tsm.table(results, 0.5).splitlines()
    body = [[c.strip() for c in line.strip('|').split('|')]
            for line in lines[3:-1]]
    assert body == [['TSN', '25.0', '100.0'],
                    ['TSM 1/4 blockres', '90.0', '97.5'],
                    ['TSM 1/4 blockres - TSN', '+65.0', '-2.5'],
                    ['chance', '50.0', '50.0']]


def test_bad_arguments():
    for argv in (['--iters', '0'], ['--videos', '0'], ['--frame-size', '8']):
        with pytest.raises(SystemExit):
            tsn_vs_tsm.parse_args(argv)
