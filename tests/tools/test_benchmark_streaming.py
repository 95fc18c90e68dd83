"""tools/benchmark.py --groups streaming: one row set per frame size."""
import contextlib
import io

import pytest
from tool_loader import load_tool

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
            'TSM streaming, copying step']
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
