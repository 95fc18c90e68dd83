"""Side-by-side timing: candidates in turns, medians over repeats."""
import time
from typing import Callable, Dict, List

import torch


def time_round_robin(candidates: Dict[str, Callable], repeats: int,
                     warmup: int, device: str) -> Dict[str, float]:
    """Median seconds per call of each candidate, timed in turns."""
    sync = torch.cuda.synchronize if device.startswith('cuda') else (
        lambda: None)
    for fn in candidates.values():
        for _ in range(warmup):
            fn()
    times: Dict[str, List[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            sync()
            start = time.perf_counter()
            fn()
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
