"""BLAS threads for the fits: one for the batched small-block kernels, all for large dense blocks.

OpenBLAS spends more on waking its threads than on a (G·2 × 2)(2 × 2) product: at 1e5 groups such a
product takes ~10x longer with the default threads than with one, and on a busy machine even a
4,000 × 4,000 Cholesky is faster on one thread.  A fit therefore runs under :func:`single_threaded`,
and only the dense trailing block of a large crossed design (:mod:`.crossed`) asks for the
machine's threads back with :func:`multithreaded`, which gives them only when a core is idle.
threadpoolctl reaches numpy's and scipy's own OpenBLAS builds alike.
"""

from __future__ import annotations

import os
import time
from contextlib import AbstractContextManager, nullcontext
from functools import lru_cache


@lru_cache(maxsize=1)
def _controller():
    import scipy.linalg  # noqa: F401 - load scipy's BLAS so that the controller sees it
    from threadpoolctl import ThreadpoolController

    controller = ThreadpoolController()
    blas = [lib.num_threads for lib in controller.lib_controllers if lib.user_api == "blas"]
    _OTHERS.sample()            # the first interval then runs from the fit's start
    return controller, max(blas, default=1)


class _OtherLoad:
    """The cores' worth of CPU that other processes used since the previous reading: the machine's
    busy time (/proc/stat) less this process's own.  The load average cannot tell them apart: a fit
    on one core of an otherwise idle 2-core machine lifts it to ~1 by itself, which read as "no
    core idle" and kept the fit on one thread."""

    MIN_INTERVAL = 0.5          # seconds: shorter intervals keep the previous reading

    def __init__(self) -> None:
        self.last: tuple[float, float, float] | None = None
        self.value: float | None = None

    @staticmethod
    def _now() -> tuple[float, float, float] | None:
        try:
            with open("/proc/stat") as f:
                ticks = [int(v) for v in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        busy = sum(ticks) - ticks[3] - (ticks[4] if len(ticks) > 4 else 0)   # less idle, iowait
        own = os.times()
        return time.monotonic(), busy / os.sysconf("SC_CLK_TCK"), own.user + own.system

    def sample(self) -> float | None:
        now = self._now()
        if now is None:
            return None
        if self.last is None or now[0] - self.last[0] >= self.MIN_INTERVAL:
            if self.last is not None:
                wall = now[0] - self.last[0]
                self.value = max(0.0, (now[1] - self.last[1]) - (now[2] - self.last[2])) / wall
            self.last = now
        return self.value


_OTHERS = _OtherLoad()


def single_threaded() -> AbstractContextManager:
    controller, _ = _controller()
    return controller.limit(limits=1, user_api="blas")


def multithreaded() -> AbstractContextManager:
    """The threads BLAS started with (inside :func:`single_threaded`), when the machine has a core
    to spare: other processes use less than all cores but one and a half (the 1-minute load average
    ≤ cores − 1 where /proc/stat cannot be read).  OpenBLAS's threads wait for each other by
    spinning, so beside other jobs they cost more than they save (a MovieLens-shaped crossed fit at
    load ~2.5 on 2 cores: 205 s elapsed and 212 s of CPU with both threads, 99 s and 96 s with one)."""
    controller, threads = _controller()
    cores = os.cpu_count() or 1
    others = _OTHERS.sample()
    busy = others > cores - 1.5 if others is not None else os.getloadavg()[0] > cores - 1
    if busy:
        return nullcontext()
    return controller.limit(limits=threads, user_api="blas")
