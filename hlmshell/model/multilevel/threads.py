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
from contextlib import AbstractContextManager, nullcontext
from functools import lru_cache


@lru_cache(maxsize=1)
def _controller():
    import scipy.linalg  # noqa: F401 - load scipy's BLAS so that the controller sees it
    from threadpoolctl import ThreadpoolController

    controller = ThreadpoolController()
    blas = [lib.num_threads for lib in controller.lib_controllers if lib.user_api == "blas"]
    return controller, max(blas, default=1)


def single_threaded() -> AbstractContextManager:
    controller, _ = _controller()
    return controller.limit(limits=1, user_api="blas")


def multithreaded() -> AbstractContextManager:
    """The threads BLAS started with (inside :func:`single_threaded`), when the machine has a core
    to spare: OpenBLAS's threads wait for each other by spinning, so beside other jobs they cost
    more than they save (a MovieLens-shaped crossed fit at load ~2.5 on 2 cores: 205 s elapsed and
    212 s of CPU with both threads, 99 s and 96 s with one)."""
    if os.getloadavg()[0] > (os.cpu_count() or 1) - 1:
        return nullcontext()
    controller, threads = _controller()
    return controller.limit(limits=threads, user_api="blas")
