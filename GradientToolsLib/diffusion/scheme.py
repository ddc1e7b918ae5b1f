"""The diffusion gradient scheme: b-values and unit directions in acquisition order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional

import numpy as np

from ..errors import GradientToolsError

#: b-values at or below this (s/mm^2) count as b=0 volumes unless told otherwise
DEFAULT_B0_THRESHOLD = 50.0
#: b-values closer than this (s/mm^2) to their neighbour in sorted order belong to one shell
DEFAULT_SHELL_TOLERANCE = 100.0
#: how far |v| may be from 1 and still count as a unit vector (renormalised): converters write
#: vectors with a few digits, and real tables are off by up to about 1 %
UNIT_TOLERANCE = 1e-2
#: how far |v| may be from 0 and still count as the zero vector of a b=0 volume
ZERO_TOLERANCE = 1e-3
#: the largest b-value a scheme may have (s/mm^2): beyond it the numbers are not b-values (a table in
#: s/m^2, an overflow) and would overflow the computations that follow
MAX_B_VALUE = 1e6
#: the most volumes a scheme may have (tables, headers): beyond it it is not an acquisition
MAX_VOLUMES = 100_000

#: the largest vector component a table may hold: beyond it the square overflows, and no gradient
#: table holds such a number
MAX_COMPONENT = 1e6


def vector_norms(vectors: np.ndarray, what: str = "gradient vector") -> np.ndarray:
    """Lengths of the rows of ``vectors`` (N, 3); a component beyond :data:`MAX_COMPONENT` is
    refused as "``what`` i (...) is not a direction"."""
    huge = np.any(np.abs(vectors) > MAX_COMPONENT, axis=1)
    if np.any(huge):
        i = int(np.flatnonzero(huge)[0])
        raise GradientToolsError(f"{what} {i} ({vectors[i].tolist()}) is not a direction")
    return np.linalg.norm(vectors, axis=1)


#: the coordinate frames a scheme's vectors can be in (see :mod:`.frames` for the conversions)
#:
#: * ``"scanner"``: world (patient) coordinates in RAS (x to the patient's right, y anterior,
#:   z superior), MRtrix3's "scanner" frame and the frame of a ``.b`` file, of Slicer's RAS and of a
#:   DWI node's gradients once its measurement frame is applied. Designed schemes are in this frame.
#: * ``"device"``: the scanner's gradient-coil axes, Siemens' ``CoordinateSystem = xyz``; for a
#:   head-first supine patient x = left, y = anterior, z = inferior (Siemens' LAI device coordinate
#:   system), so it converts to and from ``"scanner"`` without further information.
#: * ``"image"``: the voxel axes i, j, k of one particular image, with the FSL convention (x negated
#:   when the image's voxel-to-world rotation has a positive determinant): an FSL ``.bvec`` file.
#:   Only meaningful together with that image.
#: * ``"logical"``: the read (frequency), phase and slice axes of the prescription, which turn with
#:   the slice angulation: GE ``tensor.dat`` and Philips ``dti_vectors_input`` files.
FRAMES = ("scanner", "device", "image", "logical")


@dataclass
class GradientScheme:
    """A diffusion-weighting scheme in acquisition order.

    Attributes
    ----------
    bvals : ndarray, shape (M,), float64
        b-value of each volume in s/mm^2, non-negative.
    bvecs : ndarray, shape (M, 3), float64
        unit gradient direction of each volume (x, y, z) in ``frame``, or (0, 0, 0) for a b=0 volume.
    frame : {"scanner", "device", "image", "logical"}
        The coordinate frame of ``bvecs`` (see :data:`FRAMES`); default ``"scanner"``. Readers set
        it from the file format; :func:`GradientToolsLib.diffusion.frames.convert_frame` changes it.

    Construction copies and validates the arrays (shapes, finite values, b in [0, MAX_B_VALUE], unit
    or zero vectors) and the frame, and raises :class:`GradientToolsError` naming the problem. Vectors
    within ``UNIT_TOLERANCE`` of unit length are renormalised exactly; the NaN vector a converter
    writes for a b=0 volume becomes (0, 0, 0), and ``nan_b0`` lists those volumes.
    """

    bvals: np.ndarray
    bvecs: np.ndarray
    frame: str = "scanner"

    def __post_init__(self) -> None:
        if self.frame not in FRAMES:
            raise GradientToolsError(f"unknown frame {self.frame!r}; choose one of {', '.join(FRAMES)}")
        try:
            bvals = np.array(self.bvals, dtype=np.float64)
            bvecs = np.array(self.bvecs, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise GradientToolsError(f"scheme arrays are not numeric: {exc}") from None
        if bvals.ndim != 1:
            raise GradientToolsError(f"bvals must be one-dimensional, got shape {bvals.shape}")
        if bvecs.ndim != 2 or bvecs.shape[1] != 3:
            raise GradientToolsError(f"bvecs must have shape (M, 3), got {bvecs.shape}")
        if bvecs.shape[0] != bvals.shape[0]:
            raise GradientToolsError(
                f"{bvals.shape[0]} b-values but {bvecs.shape[0]} gradient vectors")
        if bvals.size == 0:
            raise GradientToolsError("the scheme has no volumes")
        if bvals.size > MAX_VOLUMES:
            raise GradientToolsError(f"{bvals.size} volumes: more than {MAX_VOLUMES} is not an acquisition")
        if not np.all(np.isfinite(bvals)):
            i = int(np.flatnonzero(~np.isfinite(bvals))[0])
            raise GradientToolsError(f"the b-value of volume {i} is not a number ({bvals[i]})")
        if np.any(bvals < 0):
            i = int(np.flatnonzero(bvals < 0)[0])
            raise GradientToolsError(f"negative b-value {bvals[i]:g} at volume {i}")
        if np.any(bvals > MAX_B_VALUE):
            i = int(np.flatnonzero(bvals > MAX_B_VALUE)[0])
            raise GradientToolsError(f"b-value {bvals[i]:g} at volume {i} is above {MAX_B_VALUE:g} s/mm^2: "
                                     "not a b-value in s/mm^2")
        # converters write the vector of a b=0 volume as "nan nan nan": it is a b=0 volume
        missing = ~np.all(np.isfinite(bvecs), axis=1)
        nan_b0 = missing & (bvals <= DEFAULT_B0_THRESHOLD)
        if np.any(missing & ~nan_b0):
            i = int(np.flatnonzero(missing & ~nan_b0)[0])
            raise GradientToolsError(f"volume {i} has b={bvals[i]:g} but its gradient vector is not a number")
        bvecs[nan_b0] = 0.0
        norms = vector_norms(bvecs)
        zero = norms <= ZERO_TOLERANCE
        bad = ~zero & (np.abs(norms - 1.0) > UNIT_TOLERANCE)
        if np.any(bad):
            i = int(np.flatnonzero(bad)[0])
            raise GradientToolsError(
                f"gradient vector {i} has length {norms[i]:.6g}, expected a unit vector (or 0 0 0 for b=0)")
        weighted_zero = zero & (bvals > DEFAULT_B0_THRESHOLD)
        if np.any(weighted_zero):
            i = int(np.flatnonzero(weighted_zero)[0])
            raise GradientToolsError(f"volume {i} has b={bvals[i]:g} but a zero gradient vector")
        bvecs[zero] = 0.0
        bvecs[~zero] /= norms[~zero, None]
        self.bvals = bvals
        self.bvecs = bvecs
        #: volumes whose vector was given as NaN and read as b=0 (converters write b=0 that way)
        self.nan_b0 = tuple(int(i) for i in np.flatnonzero(nan_b0))

    @property
    def n(self) -> int:
        """Number of volumes M."""
        return int(self.bvals.shape[0])

    def __len__(self) -> int:
        return self.n

    @property
    def b_max(self) -> float:
        """Largest b-value in s/mm^2."""
        return float(self.bvals.max())

    def b0_indices(self, b0_threshold: float = DEFAULT_B0_THRESHOLD) -> np.ndarray:
        """Indices (int64, acquisition order) of volumes with b <= ``b0_threshold`` or a zero vector."""
        zero = np.linalg.norm(self.bvecs, axis=1) == 0.0
        return np.flatnonzero((self.bvals <= b0_threshold) | zero)

    def shell_indices(self, b0_threshold: float = DEFAULT_B0_THRESHOLD,
                      tolerance: Optional[float] = None) -> Dict[int, np.ndarray]:
        """Group the diffusion-weighted volumes into shells.

        Parameters
        ----------
        b0_threshold : float
            b-values (s/mm^2) at or below this are b=0 volumes and belong to no shell.
        tolerance : float, optional
            b-values closer than this (s/mm^2) to the next one in sorted order join its shell
            (single-linkage clustering). Default ``DEFAULT_SHELL_TOLERANCE`` (100).

        Returns
        -------
        dict
            ``{nominal_b: indices}`` in increasing nominal b, where nominal b is the cluster's median
            b-value rounded to an integer and indices are int64 arrays in acquisition order.
        """
        tol = DEFAULT_SHELL_TOLERANCE if tolerance is None else float(tolerance)
        b0 = np.zeros(self.n, dtype=bool)
        b0[self.b0_indices(b0_threshold)] = True
        weighted = np.flatnonzero(~b0)
        if weighted.size == 0:
            return {}
        order = weighted[np.argsort(self.bvals[weighted], kind="stable")]
        sorted_b = self.bvals[order]
        breaks = np.flatnonzero(np.diff(sorted_b) > tol) + 1
        shells: Dict[int, np.ndarray] = {}
        for group in np.split(order, breaks):
            nominal = int(round(float(np.median(self.bvals[group]))))
            idx = np.sort(group)
            if nominal in shells:  # two clusters rounding to the same value: merge
                idx = np.sort(np.concatenate([shells[nominal], idx]))
            shells[nominal] = idx
        return dict(sorted(shells.items()))

    def shell_directions(self, b0_threshold: float = DEFAULT_B0_THRESHOLD,
                         tolerance: Optional[float] = None) -> Dict[int, np.ndarray]:
        """``{nominal_b: (K, 3) unit directions}`` for each shell, in acquisition order."""
        return {b: self.bvecs[idx] for b, idx in self.shell_indices(b0_threshold, tolerance).items()}

    def copy(self) -> GradientScheme:
        return GradientScheme(self.bvals.copy(), self.bvecs.copy(), self.frame)

    def subset(self, indices) -> GradientScheme:
        """The volumes at ``indices`` (in that order), same frame."""
        idx = np.asarray(indices, dtype=np.int64)
        return GradientScheme(self.bvals[idx], self.bvecs[idx], self.frame)

    def with_frame(self, frame: str) -> GradientScheme:
        """The same numbers declared to be in ``frame`` (no conversion).

        For a new design, whose directions have no orientation until they are written, this chooses
        the frame it is made in; for measured directions use :func:`.frames.convert_frame` instead.
        """
        return GradientScheme(self.bvals.copy(), self.bvecs.copy(), frame)
