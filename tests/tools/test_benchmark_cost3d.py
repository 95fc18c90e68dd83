"""tools/benchmark.py --groups cost3d: TSN vs TSM vs I3D on tiny clips."""
import contextlib
import io
import json

import pytest
from tool_loader import load_tool

benchmark = load_tool('benchmark')
NAMES = ['TSN-R50 8f', 'TSM-R50 8f', 'I3D-R50 8f', 'I3D-R50 32f']
# TSMHead scores each of the 8 frames with its fc and then averages;
# TSNHead averages first: 7 more 2048x400 fc multiply-adds per clip
HEAD_FLOPS = 7 * 2048 * 400


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp('cost3d') / 'bench.json'
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        results = benchmark.main([
            '--groups', 'cost3d', '--cost3d-size', '64', '--cost3d-batch',
            '2', '--repeats', '2', '--out', str(out)
        ])
    return results, out, printed.getvalue()


def test_rows_and_json(run):
    results, out, printed = run
    rows = {row['name']: row for row in results}
    assert list(rows) == NAMES
    with open(out) as f:
        saved = json.load(f)
    assert saved['results'] == results
    assert saved['machine']['device'] == 'cpu'
    for name, row in rows.items():
        assert row['group'] == 'cost3d 8f 64x64'
        assert row['vs'] == 'TSN-R50 8f'
        assert row['batch'] == 2
        assert row['median_ms'] > 0 and row['clips_per_s'] > 0, name
        assert row['gflops'] > 0 and row['params_m'] > 0, name
    base = rows['TSN-R50 8f']
    assert base['ratio'] == 1.0
    assert base['clips_per_s_ratio'] == 1.0
    assert base['gflops_ratio'] == 1.0
    for row in rows.values():
        assert row['ratio'] == pytest.approx(row['median_ms'] /
                                             base['median_ms'])
        assert row['clips_per_s_ratio'] == pytest.approx(
            row['clips_per_s'] / base['clips_per_s'])
    table = printed.splitlines()
    assert json.loads(table[0]) == saved['machine']
    for name in NAMES:
        line = next(line for line in table if f' {name} ' in line)
        assert f'{rows[name]["gflops"]:.3f}' in line


def test_complexity(run):
    rows = {row['name']: row for row in run[0]}
    tsn, tsm = rows['TSN-R50 8f'], rows['TSM-R50 8f']
    # the shift adds no parameters and no FLOPs
    assert tsm['params_m'] == tsn['params_m']
    assert tsm['gflops'] == pytest.approx(tsn['gflops'], rel=0.01)
    assert (tsm['gflops'] - tsn['gflops']) * 1e9 == pytest.approx(
        HEAD_FLOPS, abs=1)
    # R-50 (23.5M) + the 2048x400 fc
    assert tsn['params_m'] == pytest.approx(23.508 + 0.8196, abs=0.01)
    # I3D: inflated kernels cost parameters; its stem (time stride 4) and
    # pool2 (2) leave 8 input frames one step, so it costs less than TSN
    # there and more on the 32 frames of MMAction2's I3D config
    i3d8, i3d32 = rows['I3D-R50 8f'], rows['I3D-R50 32f']
    assert i3d8['params_m'] == i3d32['params_m'] > tsn['params_m']
    assert i3d32['gflops'] > tsn['gflops'] > i3d8['gflops']


def test_bad_sizes_are_refused(capsys):
    for flag in ('--cost3d-size', '--cost3d-batch'):
        with pytest.raises(SystemExit):
            benchmark.main(['--groups', 'cost3d', flag, '0'])
        assert f'argument {flag}: must be >= 1, got 0' in \
            capsys.readouterr().err


def test_format_table_adds_extra_columns():
    table = benchmark.format_table([
        dict(group='g', name='a', median_ms=2.0, ratio=1.0, vs='a', fps=5.0),
        dict(group='g', name='b', median_ms=None, ratio=0.5, vs='a'),
    ])
    lines = [[c.strip() for c in line.strip('|').split('|')]
             for line in table.splitlines() if line.startswith('|')]
    assert lines == [['group', 'name', 'median ms', 'ratio', 'vs', 'fps'],
                     ['g', 'a', '2.000', '1.000', 'a', '5.000'],
                     ['g', 'b', '', '0.500', 'a', '']]
