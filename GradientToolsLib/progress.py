"""Progress reporting shared by the library, the command line and the Slicer module.

Long-running library functions take ``progress=None`` or a callable ``progress(fraction, message="")``
with ``fraction`` in [0, 1]. :func:`report` calls it safely; :class:`TextProgressBar` is the
command line's implementation (stderr, redrawn in place on a terminal, silent otherwise).

A callback may stop the work by raising :class:`OperationCancelled` (the Slicer module does when the
user presses Cancel). Library functions let it through unchanged and leave nothing half-made: they
compute first and create or change their outputs (files, MRML nodes) only after the last report.
"""

from __future__ import annotations

import sys
import time
from typing import Callable, Optional

ProgressCallback = Callable[..., None]


class OperationCancelled(Exception):
    """Raised by a progress callback to stop long work because the user asked to.

    Not a :class:`GradientToolsError`: nothing was wrong with the input. Callers that offer a Cancel
    button catch it; everything else lets it propagate.
    """


def report(progress: Optional[ProgressCallback], fraction: float, message: str = "") -> None:
    """Call ``progress(fraction, message)`` if a callback was given."""
    if progress is not None:
        progress(min(1.0, max(0.0, float(fraction))), message)


def scaled(progress: Optional[ProgressCallback], start: float, stop: float) -> Optional[ProgressCallback]:
    """A callback that maps [0, 1] onto [start, stop] of ``progress`` (for nested steps)."""
    if progress is None:
        return None

    def inner(fraction: float, message: str = "") -> None:
        report(progress, start + (stop - start) * fraction, message)

    return inner


class TextProgressBar:
    """A one-line progress bar on a stream (stderr by default).

    Drawn only when the stream is a terminal, or when ``force`` is true, and at most every
    ``interval`` seconds, so that logs of non-interactive runs stay clean.
    """

    def __init__(self, label: str = "", stream=None, width: int = 30, interval: float = 0.1,
                 force: bool = False) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.interval = interval
        isatty = getattr(self.stream, "isatty", lambda: False)
        self.enabled = force or bool(isatty())
        self._last = 0.0
        self._drawn = False

    def __call__(self, fraction: float, message: str = "") -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if fraction < 1.0 and now - self._last < self.interval:
            return
        self._last = now
        filled = int(round(self.width * fraction))
        bar = "#" * filled + "-" * (self.width - filled)
        text = f"\r{self.label} [{bar}] {100.0 * fraction:5.1f}% {message}"
        self.stream.write(text[:120].ljust(min(120, len(text))))
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self.enabled and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False

    def __enter__(self) -> TextProgressBar:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
