"""How much memory a request may use, checked before the work starts.

:func:`available_bytes` is the smallest of what the kernel could give the process now (MemAvailable),
what a cgroup (container) limit leaves, and what the address-space limit (``ulimit -v``) leaves.
:func:`check_memory` refuses a request that would not fit with a message giving the estimate, so a
command fails at once with one clear line instead of a MemoryError (or the kernel's OOM killer) later.
"""

from __future__ import annotations

import contextlib
from typing import Optional

from ..errors import GradientToolsError

#: share of the available memory a request may take (the rest: Python, libraries, other buffers)
USABLE_SHARE = 0.9


def _meminfo_available() -> Optional[int]:
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    return None


def _read_int(path: str) -> Optional[int]:
    with contextlib.suppress(OSError, ValueError):
        with open(path, encoding="ascii") as handle:
            text = handle.read().strip()
        if text and text != "max":
            return int(text)
    return None


def _cgroup_left() -> Optional[int]:
    """Bytes left under the cgroup's memory limit (v2, then v1), None without a limit."""
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        limit = _read_int(limit_file)
        if limit is not None and limit < (1 << 60):
            usage = _read_int(usage_file) or 0
            return max(0, limit - usage)
    return None


def _address_space_left() -> Optional[int]:
    """Bytes left under RLIMIT_AS (``ulimit -v``), None without a limit."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    used = None
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    used = int(line.split()[1]) * 1024
    return max(0, soft - (used or 0))


def available_bytes() -> Optional[int]:
    """Memory this process can still allocate, in bytes (None when nothing is known)."""
    known = [v for v in (_meminfo_available(), _cgroup_left(), _address_space_left()) if v is not None]
    return min(known) if known else None


def format_bytes(count: float) -> str:
    """1536 -> "1.5 KB" (powers of 1024)."""
    value = float(count)
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if value < 1024 or unit == "PB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} PB"  # pragma: no cover


def check_memory(needed: float, what: str, advice: str = "") -> None:
    """Raise :class:`GradientToolsError` when ``needed`` bytes (an estimate) cannot fit.

    ``what`` says what needs the memory, e.g. "the gradient of a 512x512x512 volume"; ``advice``
    (optional) is appended to the message, e.g. how to avoid needing it.
    """
    available = available_bytes()
    if available is not None and needed > USABLE_SHARE * available:
        raise GradientToolsError(
            f"{what}: needs about {format_bytes(needed)} of memory, but only {format_bytes(available)} "
            f"is available{advice}")
    if not needed < float(1 << 62):
        raise GradientToolsError(f"{what}: needs about {format_bytes(needed)} of memory{advice}")
