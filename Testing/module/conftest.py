"""Fixtures of the module tests: GradientTools.py on slicer-core, as Slicer 5.8.1 and 5.10.0 run it."""

from __future__ import annotations

import pytest
from parameter_node_stand_in import VERSIONS


@pytest.fixture(scope="module", params=VERSIONS)
def harness(request):
    """The module loaded with the stand-ins of one Slicer version, on its own offscreen scene."""
    pytest.importorskip("trame_slicer", reason="needs the 'slicer' extra")
    from module_harness import Harness
    from support import make_offscreen

    offscreen = make_offscreen(64, 64, background=None)
    loaded = Harness(request.param, offscreen)
    try:
        yield loaded
    finally:
        loaded.close()
        offscreen.close()


@pytest.fixture
def panel(harness):
    """The panel entered on an empty scene, with the records of what the user saw emptied."""
    harness.offscreen.scene.Clear(0)
    harness.select_module("Data")
    harness.select_module("GradientTools")
    import qt_stand_ins

    for record in (harness.errors, harness.status, harness.dialogs, harness.on_events,
                   qt_stand_ins.QFileDialog.answers):
        record.clear()
    yield harness
    harness.on_events.clear()
