"""Shared pytest fixtures of the GradientTools suite (helpers that are not fixtures: support.py)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def offscreen():
    """One scene with Slicer's logics and an offscreen 3D view for the whole session (slicer-core)."""
    pytest.importorskip("trame_slicer", reason="needs the 'slicer' extra")
    from support import make_offscreen

    view = make_offscreen()
    yield view
    view.close()


@pytest.fixture
def scene(offscreen):
    """The session's scene, emptied of what the test added (singletons and defaults stay)."""
    yield offscreen.scene
    for class_name in ("vtkMRMLVolumeNode", "vtkMRMLMarkupsNode", "vtkMRMLPlotChartNode",
                       "vtkMRMLPlotSeriesNode", "vtkMRMLTableNode", "vtkMRMLTransformNode"):
        nodes = [offscreen.scene.GetNthNodeByClass(i, class_name)
                 for i in range(offscreen.scene.GetNumberOfNodesByClass(class_name))]
        for node in nodes:
            offscreen.scene.RemoveNode(node)


@pytest.fixture(scope="session")
def dask_cluster():
    """Address of a dask.distributed LocalCluster on 127.0.0.1: two worker processes, one thread each."""
    distributed = pytest.importorskip("distributed", reason="needs the 'big' extra (dask, distributed, zarr)")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", processes=True,
                                  dashboard_address=None) as local:
        yield local.scheduler_address
