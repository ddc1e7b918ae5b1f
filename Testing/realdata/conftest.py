"""The real-data tier's session fixture: fetch and cache the scans, measure and draw their regions.

The scans are fetched on first use by the fixture (never at import): Debian packages through
``apt-get download`` (needs the package lists) and files inside the DIPY and nibabel wheels. When
collection finds that they cannot be had (a check that fetches nothing), the tier's tests are
deselected and the summary says so in one line; under ``GRADIENTTOOLS_REQUIRE_REALDATA=1`` (set by
``.ci/run``) they run and fail instead. A fetch that fails later (network) skips them.

The drawings (one PNG per scan with every region and boundary) go to ``Testing/realdata/out/``
(``$GRADIENTTOOLS_REALDATA_OUT`` overrides it); the terminal summary names the folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Dict, List

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
_DRAWN: List[str] = []
_NOT_RUN: List[str] = []


@dataclass
class MeasuredScan:
    scan: object                   # scans.Scan
    regions: list                  # scans.RegionMeasure, one per region
    boundaries: list               # scans.BoundaryMeasure, one per boundary
    drawing: str                   # PNG path


def output_folder() -> str:
    folder = os.environ.get("GRADIENTTOOLS_REALDATA_OUT") or os.path.join(HERE, "out")
    os.makedirs(folder, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def real_scans() -> Dict[str, MeasuredScan]:
    """Every scan of the tier by name, with its hand-picked regions and boundaries measured and drawn."""
    from drawing import draw_scan
    from references import renderer_gradient
    from scans import ScansUnavailable, load_scans, measure

    try:
        scans = load_scans()
    except ScansUnavailable as exc:
        message = f"real-data tier did not run: {exc}"
        if os.environ.get("GRADIENTTOOLS_REQUIRE_REALDATA"):
            pytest.fail(message + " (GRADIENTTOOLS_REQUIRE_REALDATA is set)", pytrace=False)
        pytest.skip(message)
    folder = output_folder()
    out = {}
    for scan in scans:
        gradient = renderer_gradient(scan.array).astype(np.float32)
        regions, boundaries = measure(scan, gradient)
        del gradient
        path = draw_scan(scan, os.path.join(folder, f"{scan.name}-regions.png"), regions, boundaries)
        _DRAWN.append(path)
        out[scan.name] = MeasuredScan(scan, regions, boundaries, path)
    return out


def pytest_collection_modifyitems(config, items):
    tier = [item for item in items if str(item.fspath).startswith(HERE + os.sep)]
    if not tier or os.environ.get("GRADIENTTOOLS_REQUIRE_REALDATA"):
        return
    from catalog import DEBIAN_FILES, WHEEL_FILES
    from sources import unavailable

    reason = unavailable(DEBIAN_FILES, WHEEL_FILES)
    if reason:
        _NOT_RUN.append(f"real-data tier did not run ({len(tier)} tests deselected): {reason}")
        config.hook.pytest_deselected(items=tier)
        items[:] = [item for item in items if item not in tier]


def pytest_terminal_summary(terminalreporter):
    for line in _NOT_RUN:
        terminalreporter.write_line(line)
    if _DRAWN:
        terminalreporter.write_line(
            f"real-data tier: regions and boundaries of {len(_DRAWN)} scans drawn in "
            f"{os.path.dirname(_DRAWN[0])}/")
