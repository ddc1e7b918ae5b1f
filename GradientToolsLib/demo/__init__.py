"""The demo behind ``make demo``: each module here is one section with ``TITLE``, ``ORDER`` and
``run(output_dir) -> list of written paths``. Sections use only data made in code (no downloads)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from typing import List, Optional, Sequence


def sections():
    found = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "run"):
            found.append(module)
    return sorted(found, key=lambda m: getattr(m, "ORDER", 100))


def section_names() -> List[str]:
    """Names of the demo sections, in the order they run."""
    return [module.__name__.rsplit(".", 1)[-1] for module in sections()]


def run_demo(output_dir: str, only: Optional[Sequence[str]] = None) -> List[str]:
    written: List[str] = []
    for module in sections():
        name = module.__name__.rsplit(".", 1)[-1]
        if only and name not in only:
            continue
        print(f"== {getattr(module, 'TITLE', name)}", file=sys.stderr)
        written.extend(module.run(output_dir))
    return written
