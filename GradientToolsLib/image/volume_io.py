"""Reading and writing scalar volumes (NRRD, NIfTI, MetaImage) with their geometry, via SimpleITK.

A :class:`Volume` holds the voxel array in Slicer's K,J,I order and the geometry as SimpleITK (ITK)
gives it: spacing in I,J,K order (mm), origin and direction cosines in ITK's LPS convention.
:meth:`Volume.ijk_to_ras` gives the 4x4 matrix Slicer's volume nodes use.

SimpleITK is imported only when a file is read or written, so the rest of the library does not need it.
Geometry round-trips through NRRD and MHA to double precision (NRRD stores direction times spacing, so
an oblique volume's spacing and direction may move by an ulp); NIfTI stores it in single precision,
so expect changes of about 1e-7 relative there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy

from .._shared.files import atomic_output, check_output_folder
from .._shared.validate import check_spacing
from ..errors import GradientToolsError
from .volume_files import check_complete

#: file endings :func:`write_volume` accepts (single-file formats, so writes can be atomic)
WRITE_EXTENSIONS = (".nrrd", ".nii", ".nii.gz", ".mha")

# LPS (ITK) <-> RAS (Slicer): flip the first two world axes
_LPS_TO_RAS = numpy.diag([-1.0, -1.0, 1.0])


def _identity() -> numpy.ndarray:
    return numpy.eye(3)


@dataclass
class Volume:
    """A scalar volume and its geometry.

    Attributes
    ----------
    array : numpy.ndarray
        Voxel values, shape (K, J, I) (slices, rows, columns), any real numeric type.
    spacing : tuple of 3 floats
        Voxel size in I,J,K order, mm.
    origin : numpy.ndarray, shape (3,)
        World position of voxel (0, 0, 0) in LPS millimetres (ITK convention).
    direction : numpy.ndarray, shape (3, 3)
        Direction cosines in LPS; column c is the world direction of index axis c (I, J, K).
    """

    array: numpy.ndarray
    spacing: Tuple[float, float, float] = (1.0, 1.0, 1.0)
    origin: numpy.ndarray = field(default_factory=lambda: numpy.zeros(3))
    direction: numpy.ndarray = field(default_factory=_identity)

    def __post_init__(self) -> None:
        self.spacing = check_spacing(self.spacing, "Volume spacing")
        self.origin = numpy.array(_geometry_triple("Volume origin", self.origin, False))
        direction = numpy.asarray(self.direction, dtype=numpy.float64)
        if direction.shape != (3, 3) or not numpy.all(numpy.isfinite(direction)):
            raise GradientToolsError(
                f"Volume direction must be a finite 3x3 matrix, got shape {direction.shape}")
        if abs(numpy.linalg.det(direction)) < 1e-6:
            raise GradientToolsError("Volume direction matrix is singular")
        self.direction = direction.copy()

    def ijk_to_lps(self) -> numpy.ndarray:
        """4x4 matrix from voxel index (I, J, K, 1) to LPS world millimetres."""
        m = numpy.eye(4)
        m[:3, :3] = self.direction @ numpy.diag(self.spacing)
        m[:3, 3] = self.origin
        return m

    def ijk_to_ras(self) -> numpy.ndarray:
        """4x4 matrix from voxel index (I, J, K, 1) to RAS millimetres, as Slicer's IJKToRAS."""
        m = self.ijk_to_lps()
        m[:3, :] = _LPS_TO_RAS @ m[:3, :]
        return m

    def with_array(self, array: numpy.ndarray) -> Volume:
        """A new Volume with the same geometry and another array of the same shape."""
        if tuple(array.shape) != tuple(self.array.shape):
            raise GradientToolsError(
                f"array shape {array.shape} differs from the volume's {self.array.shape}")
        return Volume(array, self.spacing, self.origin.copy(), self.direction.copy())


def _sitk():
    try:
        import SimpleITK
    except ImportError:  # pragma: no cover - SimpleITK is a dependency
        raise GradientToolsError(
            "reading and writing image files needs SimpleITK (pip install SimpleITK)") from None
    return SimpleITK


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    # ITK messages start with a file/line location; the last line usually says what went wrong
    for line in reversed(lines):
        if line and not line.startswith("itk::") and "Description:" not in line[:12]:
            return line[:200]
    return lines[-1][:200] if lines else type(exc).__name__


def _header_reader(path: str):
    """A SimpleITK reader of ``path`` with the header read; errors name the file."""
    if not os.path.exists(path):
        raise GradientToolsError(f"input file not found: {path}")
    if os.path.isdir(path):
        raise GradientToolsError(f"input is a folder, not an image file: {path}")
    check_complete(path)
    reader = _sitk().ImageFileReader()
    reader.SetFileName(path)
    try:
        reader.ReadImageInformation()
    except RuntimeError as exc:
        raise GradientToolsError(f"cannot read image file {path}: {_first_line(exc)}") from None
    return reader


def read_volume(path: Union[str, os.PathLike]) -> Volume:
    """Read a scalar volume from NRRD, NIfTI, MetaImage (or any file SimpleITK reads).

    A 2-D image becomes a one-slice volume (shape (1, J, I), slice spacing 1 mm).

    Raises
    ------
    GradientToolsError
        naming the file, when it is missing, unreadable, not an image, has more than one component
        per voxel (vector, RGB, DWI), more than three dimensions, or complex values.
    """
    path = os.fspath(path)
    reader = _header_reader(path)
    sitk = _sitk()
    components = reader.GetNumberOfComponents()
    dimension = reader.GetDimension()
    if components != 1:
        raise GradientToolsError(
            f"{path} has {components} components per voxel (a vector, colour or diffusion image); "
            "a scalar volume is needed")
    if dimension not in (2, 3):
        raise GradientToolsError(f"{path} is a {dimension}-D image; a 2-D or 3-D scalar volume is needed")
    try:
        image = reader.Execute()
    except RuntimeError as exc:
        raise GradientToolsError(f"cannot read image file {path}: {_first_line(exc)}") from None
    array = sitk.GetArrayFromImage(image)
    if array.dtype.kind == "c":
        raise GradientToolsError(f"{path} holds complex values; a real scalar volume is needed")
    spacing = list(image.GetSpacing())
    origin = list(image.GetOrigin())
    direction = numpy.array(image.GetDirection(), dtype=numpy.float64).reshape(dimension, dimension)
    if dimension == 2:
        array = array[numpy.newaxis]
        spacing.append(1.0)
        origin.append(0.0)
        direction3 = numpy.eye(3)
        direction3[:2, :2] = direction
        direction = direction3
    return Volume(array, tuple(spacing), numpy.array(origin), direction)


def _geometry_triple(name: str, values, positive: bool) -> Tuple[float, float, float]:
    try:
        items = tuple(float(v) for v in numpy.asarray(values, dtype=numpy.float64).reshape(-1))
    except (TypeError, ValueError):
        raise GradientToolsError(f"{name} must be three numbers, got {values!r}") from None
    if len(items) != 3 or not all(numpy.isfinite(items)):
        raise GradientToolsError(f"{name} must be three finite numbers, got {values!r}")
    if positive and min(items) <= 0:
        raise GradientToolsError(f"{name} must be positive, got {values!r}")
    return items


def _output_extension(path: str, extensions: Sequence[str] = WRITE_EXTENSIONS) -> str:
    lower = path.lower()
    for ext in extensions:
        if lower.endswith(ext):
            return ext
    raise GradientToolsError(
        f"unsupported output format: {os.path.basename(path)} (use {', '.join(extensions)})")


def check_same_grid(volume: Volume, other: Volume, what: str = "mask") -> None:
    """Refuse ``other`` (a mask, a label map) unless it lies on ``volume``'s voxel grid: same shape,
    spacing, origin and direction (to 1e-4 of a voxel or of a direction cosine). A same-shaped mask
    on another grid would select the wrong voxels without a word."""
    if other.array.shape != volume.array.shape:
        raise GradientToolsError(f"{what} shape {other.array.shape} differs from the volume's "
                                 f"{volume.array.shape} (K, J, I)")
    spacing, other_spacing = numpy.asarray(volume.spacing), numpy.asarray(other.spacing)
    if not numpy.allclose(other_spacing, spacing, rtol=1e-4, atol=0):
        raise GradientToolsError(f"{what} spacing {tuple(other.spacing)} differs from the volume's "
                                 f"{tuple(volume.spacing)} mm: resample it onto the volume")
    if numpy.any(numpy.abs(other.origin - volume.origin) > 1e-4 * spacing.min()):
        raise GradientToolsError(f"{what} origin {tuple(other.origin.tolist())} differs from the volume's "
                                 f"{tuple(volume.origin.tolist())} (LPS mm): resample it onto the volume")
    if not numpy.allclose(other.direction, volume.direction, rtol=0, atol=1e-4):
        raise GradientToolsError(f"{what} direction cosines differ from the volume's: resample it onto "
                                 "the volume")


def check_output_path(path: Union[str, os.PathLike], extensions: Sequence[str] = WRITE_EXTENSIONS) -> str:
    """Fail early (before long work) when :func:`write_volume` could not write ``path``.

    Checks that the path names a file in an existing, writable folder and that its ending is one
    of ``extensions`` (a writer other than :func:`write_volume` passes its own); returns the ending.
    """
    path = os.fspath(path)
    folder = check_output_folder(path)
    ext = _output_extension(path, extensions)
    if not os.access(folder, os.W_OK):
        raise GradientToolsError(f"output folder is not writable: {folder}")
    if os.path.isdir(path):
        raise GradientToolsError(f"output is a folder: {path}")
    return ext


def write_volume(path: Union[str, os.PathLike], volume_or_array, like: Optional[Volume] = None, *,
                 spacing: Optional[Sequence[float]] = None, origin: Optional[Sequence[float]] = None,
                 direction=None, compress: bool = False) -> str:
    """Write a volume atomically (no partial file is ever left at ``path``).

    Parameters
    ----------
    path : str or path-like
        Output file; the ending chooses the format: one of :data:`WRITE_EXTENSIONS`.
    volume_or_array : Volume or numpy.ndarray
        What to write. An array (K,J,I; a 2-D array is written as one slice) takes its geometry from
        ``like``, then from the keyword arguments, else unit spacing, zero origin, identity direction.
    like : Volume, optional
        Geometry donor for an array.
    spacing, origin, direction : optional
        Geometry (I,J,K spacing in mm; LPS origin; 3x3 LPS direction cosines); override ``like`` and
        the Volume's own geometry.
    compress : bool
        Ask the writer to compress (gzip for NRRD/MHA); ``.nii.gz`` is always compressed.

    Returns
    -------
    str : the path written.
    """
    path = os.fspath(path)
    ext = _output_extension(path)
    if isinstance(volume_or_array, Volume):
        volume = volume_or_array
    else:
        array = numpy.asarray(volume_or_array)
        if array.ndim == 2:
            array = array[numpy.newaxis]
        geometry = like if like is not None else Volume(numpy.empty((0, 0, 0)))
        volume = Volume(array, geometry.spacing, geometry.origin, geometry.direction)
    array = numpy.asarray(volume.array)
    if array.ndim != 3:
        raise GradientToolsError(f"a volume must be a 3-D array (K, J, I), got shape {array.shape}")
    if array.dtype == numpy.bool_:
        array = array.astype(numpy.uint8)
    elif array.dtype == numpy.float16:
        array = array.astype(numpy.float32)
    elif array.dtype.kind not in "iuf":
        raise GradientToolsError(f"cannot write voxels of type {array.dtype}; a real numeric type is needed")
    spacing = _geometry_triple("spacing", volume.spacing if spacing is None else spacing, True)
    origin = _geometry_triple("origin", volume.origin if origin is None else origin, False)
    direction = numpy.asarray(volume.direction if direction is None else direction, dtype=numpy.float64)
    if direction.shape != (3, 3) or not numpy.all(numpy.isfinite(direction)):
        raise GradientToolsError("direction must be a finite 3x3 matrix")
    if abs(numpy.linalg.det(direction)) < 1e-6:
        raise GradientToolsError("direction matrix is singular")

    sitk = _sitk()
    image = sitk.GetImageFromArray(numpy.ascontiguousarray(array), isVector=False)
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    image.SetDirection(tuple(direction.reshape(-1)))
    with atomic_output(path, suffix=ext) as tmp:
        try:
            sitk.WriteImage(image, tmp, compress or ext == ".nii.gz")
        except RuntimeError as exc:
            raise GradientToolsError(f"cannot write {path}: {_first_line(exc)}") from None
    return path


@dataclass
class ImageGeometry:
    """The geometry of an image file, read from its header only (any dimension, any components).

    Attributes
    ----------
    size : tuple of int
        Voxels along each axis of the file (I, J, K, then e.g. the volumes of a 4-D DWI).
    spacing, origin, direction : as in :class:`Volume`, for the three spatial axes I, J, K (LPS).
    components : int
        Components per voxel (a NRRD DWI stores its volumes as components).
    """

    size: Tuple[int, ...]
    spacing: Tuple[float, float, float]
    origin: numpy.ndarray
    direction: numpy.ndarray
    components: int = 1

    def ijk_to_ras(self) -> numpy.ndarray:
        """4x4 matrix from voxel index (I, J, K, 1) to RAS millimetres (spatial axes only)."""
        return Volume(numpy.empty((0, 0, 0)), self.spacing, self.origin, self.direction).ijk_to_ras()


def read_image_geometry(path: Union[str, os.PathLike]) -> ImageGeometry:
    """Read the spatial geometry of an image (NIfTI, NRRD, MetaImage, ...; 2-D to 4-D) without its voxels.

    For a 4-D image (a DWI series) the first three axes are the spatial ones; a 2-D image gets a
    third axis of 1 mm along its normal. For NIfTI, the sform is used whenever its code is set (as
    FSL and MRtrix3 do), else the qform.
    """
    reader = _header_reader(os.fspath(path))
    dimension = reader.GetDimension()
    full = numpy.array(reader.GetDirection(), dtype=numpy.float64).reshape(dimension, dimension)
    direction = numpy.eye(3)
    spatial = min(dimension, 3)
    direction[:spatial, :spatial] = full[:spatial, :spatial]
    if spatial == 2:
        direction[:, 2] = numpy.cross(direction[:, 0], direction[:, 1])
    spacing = (tuple(reader.GetSpacing()) + (1.0, 1.0))[:3]
    origin = numpy.array((tuple(reader.GetOrigin()) + (0.0, 0.0))[:3])
    sform = _nifti_sform(reader)
    if sform is not None:  # FSL and MRtrix3 take the sform whenever its code is set; ITK may take the qform
        spacing = tuple(float(x) for x in numpy.linalg.norm(sform[:, :3], axis=0))
        direction = _LPS_TO_RAS @ sform[:, :3] / numpy.array(spacing)
        origin = _LPS_TO_RAS @ sform[:, 3]
    return ImageGeometry(tuple(int(s) for s in reader.GetSize()), spacing, origin, direction,
                         int(reader.GetNumberOfComponents()))


def _nifti_sform(reader) -> Optional[numpy.ndarray]:
    """A NIfTI header's sform (3x4, RAS) when its code is set, else None."""
    names = ("srow_x", "srow_y", "srow_z")
    if not set(names + ("sform_code",)) <= set(reader.GetMetaDataKeys()):
        return None
    if reader.GetMetaData("sform_code").strip() in ("", "0"):
        return None
    try:
        rows = numpy.array([[float(x) for x in reader.GetMetaData(k).split()] for k in names])
    except ValueError:
        return None
    if rows.shape != (3, 4) or not numpy.all(numpy.isfinite(rows)):
        return None
    return rows if abs(numpy.linalg.det(rows[:, :3])) > 1e-12 else None


# --- diffusion-weighted (4-D) images ------------------------------------------------------------


@dataclass
class DwiVolume(Volume):
    """A diffusion-weighted image: N volumes on one grid.

    Attributes
    ----------
    array : numpy.ndarray
        Shape (K, J, I, N), as ``slicer.util.arrayFromVolume`` gives for a DWI node.
    spacing, origin, direction
        The grid's geometry, as :class:`Volume` (LPS).
    header : dict
        For NRRD files, the header's fields (``"space"``, ``"measurement frame"``, ...) and key/value
        pairs (``"DWMRI_gradient_0000"``, ...) as text; empty for other formats.
    """

    header: Dict[str, str] = field(default_factory=dict)


def read_nrrd_header(path: str) -> Dict[str, str]:
    """Fields (``name: value``, names lower-cased) and key/values (``key:=value``) of a NRRD header."""
    with open(path, "rb") as f:
        raw = f.read(1 << 20)
    if not raw.startswith(b"NRRD"):
        return {}
    fields: Dict[str, str] = {}
    for line in raw.decode("latin-1").splitlines()[1:]:
        if not line.strip():
            break
        if line.startswith("#"):
            continue
        if ":=" in line:
            key, value = line.split(":=", 1)
            fields[key.strip()] = value.strip()
        elif ":" in line:
            key, value = line.split(":", 1)
            fields[key.strip().lower()] = value.strip()
    return fields


def read_dwi(path: Union[str, os.PathLike]) -> DwiVolume:
    """Read a 4-D diffusion-weighted image: a NIfTI 4-D series or a DWI NRRD (one list axis).

    Raises
    ------
    GradientToolsError
        naming the file, when it is missing, unreadable, or not 4-D (a single volume, or more than
        one non-spatial axis).
    """
    path = os.fspath(path)
    reader = _header_reader(path)
    components, dimension = reader.GetNumberOfComponents(), reader.GetDimension()
    if not ((dimension == 4 and components == 1) or (dimension == 3 and components > 1)):
        raise GradientToolsError(
            f"{path} is a {dimension}-D image with {components} component(s) per voxel; a "
            "diffusion-weighted series (4-D, or 3-D with one component per volume) is needed")
    try:
        voxels = _sitk().GetArrayFromImage(reader.Execute())
    except RuntimeError as exc:
        raise GradientToolsError(f"cannot read DWI file {path}: {_first_line(exc)}") from None
    if voxels.dtype.kind not in "biuf":
        raise GradientToolsError(f"{path} holds {voxels.dtype} values; real values are needed")
    if dimension == 4:
        voxels = numpy.moveaxis(voxels, 0, -1)  # (N, K, J, I) -> (K, J, I, N)
    direction = numpy.array(reader.GetDirection(), dtype=numpy.float64).reshape(dimension, dimension)
    header = read_nrrd_header(path) if path.lower().endswith((".nrrd", ".nhdr")) else {}
    return DwiVolume(numpy.ascontiguousarray(voxels), tuple(reader.GetSpacing()[:3]),
                     numpy.array(reader.GetOrigin()[:3]), direction[:3, :3], header)
