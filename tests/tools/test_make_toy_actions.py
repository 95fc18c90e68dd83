"""tools/make_toy_actions.py refuses sets it cannot split."""
import sys

import pytest
from tool_loader import load_tool

make_toy_actions = load_tool('make_toy_actions')


def test_too_few_videos_for_a_val_split(tmp_path):
    out = tmp_path / 'toy'
    argv = sys.argv
    sys.argv = ['make_toy_actions.py', str(out), '--videos', '20']
    try:
        with pytest.raises(ValueError, match=r'videos=20 .* 0 val .*'
                           r'at least 60 videos'):
            make_toy_actions.main()
    finally:
        sys.argv = argv
    assert not out.exists()
