"""The side-by-side timing helpers."""
import time

import torch

from tsm_mm.utils import time_round_robin
from tsm_mm.utils.timing import timed_call


def test_turns_rotate_and_medians_are_per_candidate():
    calls = []

    def candidate(name, seconds):
        def run():
            calls.append(name)
            time.sleep(seconds)
        return run

    medians = time_round_robin(
        {'a': candidate('a', 0.002), 'b': candidate('b', 0.0),
         'c': candidate('c', 0.0)}, repeats=3, warmup=1, device='cpu')
    timed = calls[3:]  # after one warm-up call each
    assert timed == ['a', 'b', 'c', 'b', 'c', 'a', 'c', 'a', 'b']
    assert set(medians) == {'a', 'b', 'c'}
    assert medians['a'] >= 0.002 > medians['b']


def test_timed_call_runs_without_autograd():
    weight = torch.ones(2, requires_grad=True)
    out, seconds = timed_call(lambda: weight * 2, torch.device('cpu'))
    assert not out.requires_grad
    torch.testing.assert_close(out, torch.full((2, ), 2.0))
    assert seconds >= 0
