"""Side-by-side timing: candidates in turns, medians over repeats."""
import time
from typing import Callable, Dict, List

import torch


def time_round_robin(candidates: Dict[str, Callable], repeats: int,
                     warmup: int, device: str) -> Dict[str, float]:
    """Median seconds per call of each candidate, timed in turns.

    Each turn starts one candidate later than the previous turn, so that
    no candidate always runs after the same one (a large candidate leaves
    caches and the allocator in a state that slows whichever runs next).

    Args:
        candidates (dict[str, Callable]): Name -> call to time.
        repeats (int): Turns; each times every candidate once.
        warmup (int): Untimed calls of each candidate first.
        device (str): ``'cuda...'`` synchronises around each call.

    Returns:
        dict[str, float]: Name -> median seconds per call.
    """
    sync = torch.cuda.synchronize if device.startswith('cuda') else (
        lambda: None)
    for fn in candidates.values():
        for _ in range(warmup):
            fn()
    names = list(candidates)
    times: Dict[str, List[float]] = {name: [] for name in names}
    for turn in range(repeats):
        shift = turn % len(names)
        for name in names[shift:] + names[:shift]:
            sync()
            start = time.perf_counter()
            candidates[name]()
            sync()
            times[name].append(time.perf_counter() - start)
    return {name: sorted(t)[len(t) // 2] for name, t in times.items()}


def timed_call(fn: Callable, device: torch.device):
    """``fn()`` without autograd, and its wall time in seconds (GPU work
    included)."""
    sync = (lambda: torch.cuda.synchronize(device)) \
        if device.type == 'cuda' else (lambda: None)
    sync()
    start = time.perf_counter()
    with torch.no_grad():
        out = fn()
    sync()
    return out, time.perf_counter() - start
