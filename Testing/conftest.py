"""Shared pytest fixtures and switches for the GradientTools suite."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest


def require_tool(name: str) -> str:
    """Path of an external peer program (MRtrix3's dirstat, ...).

    Skips when it is missing on a developer machine; under CI (GRADIENTTOOLS_REQUIRE_MRTRIX=1,
    set by .ci/run, which installs mrtrix3) a missing tool is a failure, not a skip.
    """
    path = shutil.which(name)
    if path is None:
        if os.environ.get("GRADIENTTOOLS_REQUIRE_MRTRIX"):
            pytest.fail(f"{name} is required here (install mrtrix3) but is not on PATH")
        pytest.skip(f"{name} not installed (apt-get install mrtrix3)")
    return path


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
