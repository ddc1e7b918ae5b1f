"""Independent reference measures shared by the tests and benchmarks (VTK, numpy and scipy only,
never the library):

* :func:`vtk_gradient_magnitude`: vtkImageGradientMagnitude on a float64 copy, the peer that
  ``gradient_magnitude(method="central")`` must equal;
* :func:`renderer_gradient`: the GPU ray caster's gradient (central differences per voxel step, edge
  voxels replicated, as vtkVolumeShaderComposer.h computes it), checked against
  vtkImageGradientMagnitude in the tests;
* :func:`homogeneous_p99`: 99th percentile of that gradient inside every homogeneous region (labels
  eroded by 2 voxels, regions with at least 200 voxels);
* :func:`boundary_medians`: median gradient of the boundary voxels between every pair of regions with
  enough contrast (boundary voxel: a 6-neighbour has the other label; at least 20 of them).
"""

from __future__ import annotations

import numpy as np
import vtk
from scipy import ndimage
from vtk.util import numpy_support


def vtk_gradient_magnitude(array, spacing=(1.0, 1.0, 1.0), dimensionality=3, as_float64=True):
    """vtkImageGradientMagnitude (boundaries handled) on the K,J,I array with I,J,K spacing.

    The array is copied to float64 unless ``as_float64`` is false (to show VTK's own dtype handling).
    """
    data = np.ascontiguousarray(array.astype(np.float64) if as_float64 else array)
    image = vtk.vtkImageData()
    image.SetDimensions(data.shape[2], data.shape[1], data.shape[0])
    image.SetSpacing(*spacing)
    image.GetPointData().SetScalars(numpy_support.numpy_to_vtk(data.reshape(-1), deep=True))
    filt = vtk.vtkImageGradientMagnitude()
    filt.SetDimensionality(dimensionality)
    filt.HandleBoundariesOn()
    filt.SetInputData(image)
    filt.Update()
    return numpy_support.vtk_to_numpy(filt.GetOutput().GetPointData().GetScalars()).reshape(data.shape)


def renderer_gradient(array: np.ndarray) -> np.ndarray:
    f = np.pad(np.asarray(array, dtype=np.float64), 1, mode="edge")
    dk = 0.5 * (f[2:, 1:-1, 1:-1] - f[:-2, 1:-1, 1:-1])
    dj = 0.5 * (f[1:-1, 2:, 1:-1] - f[1:-1, :-2, 1:-1])
    di = 0.5 * (f[1:-1, 1:-1, 2:] - f[1:-1, 1:-1, :-2])
    return np.sqrt(dk * dk + dj * dj + di * di)


def homogeneous_p99(g, labels, erode=2):
    out = {}
    for label in np.unique(labels):
        inside = ndimage.binary_erosion(labels == label, iterations=erode)
        if inside.sum() >= 200:
            out[int(label)] = float(np.percentile(g[inside], 99))
    return out


def boundary_medians(g, labels, values, min_contrast):
    """Median gradient of boundary voxels per (label, other label) pair with enough contrast."""
    padded = np.pad(labels, 1, mode="edge")
    out = {}
    for a in np.unique(labels):
        for b in np.unique(labels):
            if a == b or abs(values[a] - values[b]) < min_contrast:
                continue
            touch = np.zeros(labels.shape, dtype=bool)
            for axis in range(3):
                for shift in (-1, 1):
                    index = [slice(1, -1)] * 3
                    index[axis] = slice(1 + shift, padded.shape[axis] - 1 + shift)
                    touch |= padded[tuple(index)] == b
            touch &= labels == a
            if touch.sum() >= 20:
                out[(int(a), int(b))] = float(np.median(g[touch]))
    return out
