"""Limits on BLAS threads for code that already runs one task per core.

Many small matrix products are slow when a multi-threaded BLAS spreads each one over threads
(it spends longer waking and spinning them than computing; measured 8x slower on 2 busy cores),
and slab threads plus BLAS threads oversubscribe the cores. threadpoolctl sets the limit; without it
(e.g. inside Slicer) the code stays correct and callers may choose a BLAS-free path instead.
"""

from __future__ import annotations

import contextlib
import os


def can_limit_blas() -> bool:
    """True when BLAS threads can be limited (threadpoolctl is installed)."""
    try:
        import threadpoolctl  # noqa: F401
    except ImportError:
        return False
    return True


def single_blas_thread():
    """A context limiting BLAS to one thread (a no-op context without threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def worker_count(limit: int = 8) -> int:
    """Threads for data-parallel work: the cores, at most ``limit``."""
    return max(1, min(os.cpu_count() or 1, limit))
