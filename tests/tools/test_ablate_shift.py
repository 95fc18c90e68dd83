"""tools/ablate_shift.py: 2 iterations per setting on tiny rawframes."""
import argparse
import json
import os
import os.path as osp
from fractions import Fraction

import mmcv
import pytest
from mmengine.config import Config
from tool_loader import load_tool

from tsm_mm.apis import init_model
from tsm_mm.testing.rawframe_lists import FILENAME_TMPL, read_rawframe_list
from tsm_mm.testing.toy_actions import make_toy_actions

ablate_shift = load_tool('ablate_shift')
SETTINGS = ('TSN', 'TSM 1/4 block', 'TSM 1/4 blockres', 'TSM 1 block',
            'TSM 1 blockres')


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    """A generic rawframes dataset: other list names, frame names and no
    classes.txt (6 toy classes, 18 train / 6 val clips of 16x16)."""
    work = tmp_path_factory.mktemp('ablate')
    data = str(work / 'data')
    make_toy_actions(data, videos=24, frames=8, size=16, val_fraction=0.25,
                     attributes=('x', 'y', 'log_scale'))
    os.remove(osp.join(data, 'classes.txt'))
    for split in ('train', 'val'):
        os.rename(osp.join(data, f'{split}_list.txt'),
                  osp.join(data, f'my_{split}.txt'))
    for video in os.listdir(osp.join(data, 'rawframes')):
        for t in range(8):
            folder = osp.join(data, 'rawframes', video)
            os.rename(osp.join(folder, FILENAME_TMPL.format(t + 1)),
                      osp.join(folder, f'{t + 1:04d}.jpg'))
    work_dir = str(work / 'out')
    report = ablate_shift.main([
        '--work-dir', work_dir, '--data-root', data, '--ann-train',
        'my_train.txt', '--ann-val', 'my_val.txt', '--num-classes', '6',
        '--filename-tmpl', '{:04d}.jpg', '--proportions', '1/4', '1',
        '--iters', '2', '--batch-size', '2', '--latency-size', '32',
        '--latency-repeats', '2', '--threads', '1'
    ])
    return work_dir, data, report


def test_every_setting_has_a_row(run):
    work_dir, data, report = run
    with open(osp.join(work_dir, 'ablate_shift.json')) as f:
        saved = json.load(f)
    assert list(saved['settings']) == list(SETTINGS)
    assert saved['classes'] == [str(k) for k in range(6)]
    assert saved['chance'] == pytest.approx(1 / 6)
    assert saved['latency'] == dict(size=32, frames=8, threads=1, repeats=2)
    num_val = len(read_rawframe_list(osp.join(data, 'my_val.txt')))
    assert num_val == 6
    expected = {'TSN': (0.0, '0', '-', 0), 'TSM 1/4 block': (
        0.25, '1/4', 'block', 8), 'TSM 1/4 blockres': (0.25, '1/4',
                                                        'blockres', 8),
        'TSM 1 block': (1.0, '1', 'block', 2),
        'TSM 1 blockres': (1.0, '1', 'blockres', 2)}
    tsn_ms = saved['settings']['TSN']['latency_ms']
    for name, row in saved['settings'].items():
        assert (row['proportion'], row['moved'], row['place'],
                row['shift_div']) == expected[name]
        # an accuracy over 6 clips: a multiple of 1/6
        assert row['top1'] * num_val == pytest.approx(
            round(row['top1'] * num_val))
        assert row['checkpoint'].endswith('iter_2.pth')
        assert osp.isfile(row['checkpoint'])
        assert row['latency_ms'] > 0
        assert row['latency_ratio'] == pytest.approx(row['latency_ms'] /
                                                     tsn_ms)
    assert saved['settings']['TSN']['latency_ratio'] == 1.0
    # the table printed has one row per setting, with its top-1
    lines = report['table'].splitlines()
    body = [[c.strip() for c in line.strip('|').split('|')]
            for line in lines[3:-1]]
    assert [cells[0] for cells in body] == list(SETTINGS)
    for cells in body:
        row = saved['settings'][cells[0]]
        assert float(cells[4]) == pytest.approx(100 * row['top1'], abs=0.05)
        assert float(cells[6]) == pytest.approx(row['latency_ratio'],
                                                abs=5e-4)
    png = mmcv.imread(osp.join(work_dir, 'ablate_shift.png'))
    assert png.shape == (408, 1080, 3)  # 9 x 3.4 inches at 120 dpi
    assert sorted(f for f in os.listdir(work_dir) if '.tmp' in f) == []


def test_latency_only(run, tmp_path):
    """No training: latency rows only, in their own json, no chart."""
    _, data, _ = run
    work_dir = str(tmp_path / 'lat')
    report = ablate_shift.main([
        '--work-dir', work_dir, '--data-root', data, '--ann-train',
        'my_train.txt', '--ann-val', 'my_val.txt', '--num-classes', '6',
        '--proportions', '1/8', '--places', 'blockres', '--latency-only',
        '--latency-size', '32', '--latency-repeats', '2'
    ])
    assert sorted(os.listdir(work_dir)) == ['ablate_shift_latency.json']
    rows = report['settings']
    assert list(rows) == ['TSN', 'TSM 1/8 blockres']
    assert rows['TSN']['latency_ratio'] == 1.0
    assert rows['TSM 1/8 blockres']['shift_div'] == 16
    assert 'top1' not in rows['TSM 1/8 blockres']
    body = report['table'].splitlines()[3:-1]
    assert [c.strip() for c in body[1].strip('|').split('|')][4::3] == [
        '-', '-']


def test_settings_build_the_shift_they_name():
    """Each setting's model moves 2 / shift_div of the channels at the
    named place; TSN has no shift."""
    settings = ablate_shift.shift_settings(
        [Fraction(1, 2), Fraction(0), Fraction(1, 8)], ['blockres', 'block'])
    assert list(settings) == ['TSN', 'TSM 1/8 blockres', 'TSM 1/8 block',
                              'TSM 1/2 blockres', 'TSM 1/2 block']
    options = dict(model=dict(cls_head=dict(num_classes=3)))
    for name, setting in settings.items():
        config, overrides = ablate_shift.setting_options(setting, options)
        cfg = Config.fromfile(config)
        cfg.merge_from_dict(overrides)
        backbone = init_model(cfg, default_scope='mmaction').backbone
        if name == 'TSN':
            assert type(backbone).__name__ == 'ResNet'
            continue
        assert type(backbone).__name__ == 'TSMResNet'
        assert 2 / backbone.shift_div == setting['proportion']
        assert backbone.shift_place == setting['place']
        assert backbone.num_shift_sites == 8  # every block of R-18


@pytest.mark.parametrize('value', ['0.3', '2', '1.5', 'abc', '1/3', '1/64'])
def test_bad_proportion_names_the_argument(value, capsys):
    with pytest.raises(SystemExit):
        ablate_shift.parse_args(['--proportions', '1/4', value])
    err = capsys.readouterr().err
    assert '--proportions' in err and repr(value) in err


def test_proportion_forms():
    parse = ablate_shift.parse_proportion
    assert parse('0.125') == parse('1/8') == Fraction(1, 8)
    assert parse('1') == 1 and parse('0') == 0
    assert parse('1/32') == Fraction(1, 32)  # shift_div 64
    with pytest.raises(argparse.ArgumentTypeError, match="'-1/4'"):
        parse('-1/4')


def test_missing_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='train_list.txt'):
        ablate_shift.main(['--work-dir', str(tmp_path / 'w'),
                           '--data-root', str(tmp_path)])
    for split in ('train', 'val'):
        open(tmp_path / f'{split}_list.txt', 'w').close()
    with pytest.raises(FileNotFoundError, match='classes.txt'):
        ablate_shift.main(['--work-dir', str(tmp_path / 'w'),
                           '--data-root', str(tmp_path)])
    with pytest.raises(SystemExit):
        ablate_shift.parse_args(['--iters', '0'])
