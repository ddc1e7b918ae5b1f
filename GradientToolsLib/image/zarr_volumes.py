"""Volumes in zarr stores: OME-Zarr images (level 0 of a multiscale) and plain zarr arrays.

:func:`open_zarr_volume` reads the metadata only and returns a :class:`ZarrVolume`, whose
``array`` (:class:`ZarrVolumeArray`) is a K,J,I view that reads only the chunks an index touches:
numpy basic indexing and integer-array (advanced) indexing, orthogonal ``numpy.ix_`` indices
included. Geometry: OME-Zarr axes of type ``space`` (z, y, x) with the scale and translation of
level 0 (the multiscale's own transformations applied after the dataset's, as the OME-NGFF
specification orders them), converted to mm from the axes' unit; OME-Zarr has no orientation,
so the direction is the identity (LPS). A plain zarr array has no geometry: the spacing must be
given. Non-spatial axes (t, c) must have one element.

:func:`zarr_volume_output` writes an OME-Zarr (one level, float32, the chunks given) into a
temporary store beside the target and moves it into place at the end. OME-NGFF 0.4 (zarr format
2) unless the input was 0.5 (zarr format 3). zarr is imported when called (extra ``big``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Iterator, Optional, Sequence, Tuple

import numpy

from .._shared.files import check_output_folder
from .._shared.validate import check_spacing
from ..errors import GradientToolsError
from .dask_gradient import require

#: OME-Zarr space units (UDUNITS-2 names, and common spellings) in millimetres
UNIT_MM = {"angstrom": 1e-7, "nanometer": 1e-6, "micrometer": 1e-3, "micron": 1e-3, "um": 1e-3,
           "\u00b5m": 1e-3, "millimeter": 1.0, "mm": 1.0, "centimeter": 10.0, "decimeter": 100.0,
           "meter": 1000.0, "m": 1000.0}


def is_zarr_path(path: str) -> bool:
    """True for a path ending in .zarr (a store folder, existing or to be written) or a folder that
    is a zarr store (e.g. ``image.zarr/0``, a multiscale's level)."""
    path = os.fspath(path).rstrip("/\\")
    return path.lower().endswith(".zarr") or _is_zarr_store(path)


class ZarrVolumeArray:
    """The K,J,I voxels of a zarr array, read on indexing (only the chunks an index touches).

    ``fixed`` holds the index of each non-spatial axis (all of length 1); ``spatial`` the
    positions of the z, y, x axes in the zarr array. ``numpy.asarray`` reads everything.
    Picklable (a zarr array pickles as its store's address), so dask tasks on a cluster read
    their own chunks.
    """

    def __init__(self, array, spatial: Sequence[int] = (0, 1, 2), fixed: Optional[dict] = None) -> None:
        self.zarr_array = array
        self.spatial = tuple(spatial)
        self.fixed = dict(fixed or {})
        self.shape = tuple(int(array.shape[a]) for a in self.spatial)
        self.dtype = numpy.dtype(array.dtype)
        self.chunks = tuple(int(array.chunks[a]) for a in self.spatial)
        self.ndim = 3
        self.size = int(numpy.prod(self.shape, dtype=numpy.int64))

    def _full(self, index: tuple) -> tuple:
        full = [slice(None)] * self.zarr_array.ndim
        for axis, value in self.fixed.items():
            full[axis] = value
        for axis, value in zip(self.spatial, index):
            full[axis] = value
        return tuple(full)

    def __getitem__(self, index):
        if not isinstance(index, tuple):
            index = (index,)
        if any(i is Ellipsis for i in index):
            at = index.index(Ellipsis)
            index = index[:at] + (slice(None),) * (3 - len(index) + 1) + index[at + 1:]
        index = index + (slice(None),) * (3 - len(index))
        arrays = [numpy.asarray(i) for i in index if not isinstance(i, (slice, int, numpy.integer))]
        if not arrays:
            return numpy.asarray(self.zarr_array[self._full(index)])
        if len(arrays) == 3 and _orthogonal(arrays):
            # numpy.ix_ vectors: an orthogonal selection reads only the chunks it crosses
            vectors = tuple(a.reshape(-1) for a in arrays)
            return numpy.asarray(self.zarr_array.oindex[self._full(vectors)])
        if all(isinstance(i, (slice, int, numpy.integer)) or numpy.ndim(i) <= 1 for i in index) and \
                len(arrays) == 1:
            return numpy.asarray(self.zarr_array.oindex[self._full(index)])
        return numpy.asarray(self.zarr_array.vindex[self._full(tuple(numpy.broadcast_arrays(*index)))])

    def __array__(self, dtype=None, copy=None):
        data = self[:, :, :]
        return data if dtype is None else data.astype(dtype)

    def __len__(self) -> int:
        return self.shape[0]


def _orthogonal(arrays) -> bool:
    """True for integer arrays shaped as numpy.ix_ makes them (axis a varies along axis a only)."""
    for axis, a in enumerate(arrays):
        if a.dtype.kind not in "iu" or a.ndim != 3:
            return False
        if any(n != 1 for d, n in enumerate(a.shape) if d != axis):
            return False
    return True


@dataclass
class ZarrVolume:
    """A zarr-stored volume: lazy voxels and geometry.

    ``spacing`` I,J,K in mm; ``origin`` (LPS, mm) from the translation; ``direction`` identity;
    ``value_range`` from OME's omero window (min, max) when present; ``ome`` the OME-NGFF
    version or None for a plain array; ``axes``/``scale``/``translation``: level 0's spatial
    metadata as stored (z, y, x order, file units), kept for the output.
    """

    path: str
    array: ZarrVolumeArray
    spacing: Tuple[float, float, float]
    origin: numpy.ndarray = field(default_factory=lambda: numpy.zeros(3))
    direction: numpy.ndarray = field(default_factory=lambda: numpy.eye(3))
    value_range: Optional[Tuple[float, float]] = None
    ome: Optional[str] = None
    zarr_format: int = 2
    axes: Optional[list] = None
    scale: Optional[list] = None
    translation: Optional[list] = None


def _open(path: str):
    zarr = require("zarr")
    if not os.path.isdir(path):
        raise GradientToolsError(f"zarr store not found: {path}")
    try:
        return zarr.open(store=path, mode="r")
    except Exception as exc:  # zarr raises its own types for a folder that is no store
        raise GradientToolsError(f"{path} is not a zarr store: {str(exc).splitlines()[0][:160]}") from None


def _attributes(node) -> dict:
    attrs = dict(node.attrs.asdict()) if hasattr(node.attrs, "asdict") else dict(node.attrs)
    if "ome" in attrs and isinstance(attrs["ome"], dict):       # OME-NGFF 0.5 (zarr format 3)
        inner = dict(attrs["ome"])
        inner.setdefault("_version", inner.get("version"))
        return inner
    return attrs


def open_zarr_volume(path, *, spacing: Optional[Sequence[float]] = None,
                     require_spacing: bool = True) -> ZarrVolume:
    """Open a zarr store's volume without reading its voxels.

    Parameters
    ----------
    path : str
        An OME-Zarr image (group with ``multiscales``; level 0 is used) or a zarr array (3-D, or
        with extra axes of length 1 in front).
    spacing : three floats (I, J, K, mm), optional
        Required for a plain zarr array (unless ``require_spacing`` is false: then 1 mm, for
        work in voxel steps); for an OME-Zarr it must agree with the store's.

    Raises
    ------
    GradientToolsError
        for a store without spacing, metadata that does not match the array, a non-spatial axis
        longer than 1, an unknown unit.
    """
    path = os.fspath(path).rstrip("/\\")
    node = _open(path)
    fmt = int(getattr(getattr(node, "metadata", None), "zarr_format", 2) or 2)
    attrs = _attributes(node)
    if hasattr(node, "shape"):                                     # a plain array
        if spacing is None and not require_spacing:
            spacing = (1.0, 1.0, 1.0)
        if spacing is None:
            raise GradientToolsError(
                f"{path} is a zarr array without geometry: give the voxel spacing (--spacing I J K, mm)")
        return _plain(path, node, check_spacing(spacing), fmt)
    if "multiscales" not in attrs:
        raise GradientToolsError(f"{path} is a zarr group without OME-Zarr 'multiscales' metadata")
    volume = _ome(path, node, attrs, fmt)
    if spacing is not None:
        given = check_spacing(spacing)
        if not numpy.allclose(given, volume.spacing, rtol=1e-6, atol=0):
            raise GradientToolsError(
                f"--spacing {given} disagrees with the spacing {volume.spacing} (mm) stored in {path}")
    return volume


def _plain(path: str, array, spacing, fmt: int) -> ZarrVolume:
    if array.ndim < 2 or any(n != 1 for n in array.shape[:-3]):
        raise GradientToolsError(f"{path}: a zarr array of shape {array.shape} is not one 2-D or 3-D volume")
    if array.ndim == 2:
        raise GradientToolsError(f"{path}: a 2-D zarr array; store it with a slice axis of 1")
    n = array.ndim
    view = ZarrVolumeArray(array, spatial=(n - 3, n - 2, n - 1), fixed={a: 0 for a in range(n - 3)})
    return ZarrVolume(path, view, spacing, zarr_format=fmt)


def _ome(path: str, group, attrs: dict, fmt: int) -> ZarrVolume:
    multiscale = attrs["multiscales"][0]
    version = str(multiscale.get("version", attrs.get("_version", "")))
    axes = multiscale.get("axes")
    datasets = multiscale.get("datasets") or []
    if not datasets or "path" not in datasets[0]:
        raise GradientToolsError(f"{path}: OME-Zarr multiscales list no dataset path")
    try:
        array = group[datasets[0]["path"]]
    except KeyError:
        raise GradientToolsError(f"{path}: level 0 ({datasets[0]['path']!r}) is missing") from None
    if not axes or not isinstance(axes[0], dict):
        raise GradientToolsError(
            f"{path}: OME-Zarr {version or '< 0.4'} without typed axes and coordinate transformations "
            "has no spacing: give --spacing I J K (mm) with the level-0 array (PATH/0)")
    if len(axes) != array.ndim:
        raise GradientToolsError(f"{path}: {len(axes)} axes in the metadata but level 0 has {array.ndim}")
    scale, translation = _transformations(path, datasets[0], multiscale, array.ndim)
    spatial = [a for a, axis in enumerate(axes) if axis.get("type") == "space"]
    if len(spatial) != 3:
        raise GradientToolsError(f"{path}: {len(spatial)} space axes; a 3-D volume (z, y, x) is needed")
    others = [a for a in range(array.ndim) if a not in spatial]
    long_ones = [f"{axes[a].get('name')}={array.shape[a]}" for a in others if array.shape[a] != 1]
    if long_ones:
        raise GradientToolsError(
            f"{path} holds several volumes ({', '.join(long_ones)}); one 3-D volume is needed")
    mm = [_unit_mm(path, axes[a].get("unit")) for a in spatial]
    zyx_mm = [scale[a] * f for a, f in zip(spatial, mm)]
    origin_zyx = [translation[a] * f for a, f in zip(spatial, mm)]
    value_range = None
    window = ((attrs.get("omero") or {}).get("channels") or [{}])[0].get("window") or {}
    if "min" in window and "max" in window and float(window["min"]) <= float(window["max"]):
        value_range = (float(window["min"]), float(window["max"]))
    view = ZarrVolumeArray(array, spatial=spatial, fixed={a: 0 for a in others})
    return ZarrVolume(path, view, check_spacing(zyx_mm[::-1], "OME-Zarr scale"),
                      origin=numpy.array(origin_zyx[::-1], dtype=numpy.float64), value_range=value_range,
                      ome=version or "0.4", zarr_format=fmt, axes=[axes[a] for a in spatial],
                      scale=[scale[a] for a in spatial], translation=[translation[a] for a in spatial])


def _transformations(path: str, dataset: dict, multiscale: dict, ndim: int):
    """Level 0's total scale and translation per axis: the dataset's, then the multiscale's."""
    scale, translation = numpy.ones(ndim), numpy.zeros(ndim)
    for transforms in (dataset.get("coordinateTransformations") or [],
                       multiscale.get("coordinateTransformations") or []):
        for t in transforms:
            values = t.get(t.get("type"))
            if t.get("type") not in ("scale", "translation") or values is None:
                continue
            values = numpy.asarray(values, dtype=numpy.float64)
            if values.shape != (ndim,):
                raise GradientToolsError(f"{path}: a {t['type']} of {values.size} values for {ndim} axes")
            if t["type"] == "scale":
                scale, translation = scale * values, translation * values
            else:
                translation = translation + values
    if not any(t.get("type") == "scale" for t in dataset.get("coordinateTransformations") or []):
        raise GradientToolsError(f"{path}: level 0 has no scale transformation, so no spacing")
    return scale.tolist(), translation.tolist()


def _unit_mm(path: str, unit: Optional[str]) -> float:
    if unit is None:
        return 1.0                      # no unit: the numbers are taken as mm
    factor = UNIT_MM.get(str(unit).strip().lower())
    if factor is None:
        raise GradientToolsError(f"{path}: unknown space unit {unit!r} (known: {', '.join(sorted(UNIT_MM))})")
    return factor


# --------------------------------------------------------------------------------------- output

def check_block_alignment(array, chunks: Sequence[int], what: str = "the output store") -> None:
    """An error unless every block of the dask ``array`` covers whole chunks of ``chunks``
    (blocks written in parallel into shared chunks would overwrite each other's voxels)."""
    for axis, (blocks, chunk) in enumerate(zip(array.chunks, chunks)):
        edges = numpy.cumsum(blocks)[:-1]
        if numpy.any(edges % int(chunk)):
            raise GradientToolsError(
                f"mismatched chunking: blocks {tuple(blocks)} along axis {axis} do not line up with "
                f"{what}'s chunks of {chunk}; rechunk the array to {tuple(chunks)}")


def store_dask_volume(array, target, *, scheduler: Optional[str] = None, progress=None,
                      message: str = "computing") -> float:
    """Compute a dask array into a zarr array, block by block (on the workers with a cluster);
    returns the largest value."""
    from .dask_gradient import BlockWriter, compute_blocks

    check_block_alignment(array, target.chunks)
    return compute_blocks(array, BlockWriter(target), scheduler=scheduler, write_on_workers=True,
                   progress=progress, message=message)


def _ome_metadata(version: str, axes: list, scale: list, translation: list, name: str) -> dict:
    multiscale = {"axes": axes, "name": name,
                  "datasets": [{"path": "0", "coordinateTransformations": [
                      {"type": "scale", "scale": [float(s) for s in scale]},
                      {"type": "translation", "translation": [float(t) for t in translation]}]}]}
    if version.startswith("0.5"):
        return {"ome": {"version": "0.5", "multiscales": [multiscale]}}
    multiscale["version"] = "0.4"
    return {"multiscales": [multiscale]}


def geometry_metadata(like: Optional[ZarrVolume], spacing, origin) -> Tuple[str, int, list, list, list]:
    """(OME version, zarr format, axes, scale, translation) for an output: the input store's own
    when it is OME-Zarr, else z, y, x in millimetres from an I,J,K spacing and an LPS origin."""
    if like is not None and like.axes is not None:
        return like.ome, like.zarr_format, like.axes, like.scale, like.translation
    axes = [{"name": n, "type": "space", "unit": "millimeter"} for n in "zyx"]
    return "0.4", 2, axes, list(spacing)[::-1], list(numpy.asarray(origin, dtype=float))[::-1]


@contextlib.contextmanager
def zarr_volume_output(path: str, shape: Sequence[int], chunks: Sequence[int], *, spacing, origin,
                       like: Optional[ZarrVolume] = None) -> Iterator:
    """Create a float32 OME-Zarr image (level 0 only) and yield its zarr array.

    The store is written into a temporary folder beside ``path`` and moved into place when the
    block succeeds; an existing zarr store at ``path`` is replaced then (anything else there is
    refused). Geometry as :func:`geometry_metadata`.
    """
    zarr = require("zarr")
    path = os.fspath(path).rstrip("/\\")
    folder = check_output_folder(path)
    if os.path.exists(path) and not _is_zarr_store(path):
        raise GradientToolsError(f"output {path} exists and is not a zarr store; not replacing it")
    version, fmt, axes, scale, translation = geometry_metadata(like, spacing, origin)
    tmp = tempfile.mkdtemp(prefix=".tmp-" + os.path.basename(path).split(".")[0] + "-", suffix=".zarr",
                           dir=folder)
    try:
        group = _create_group(zarr, tmp, fmt)
        group.attrs.update(_ome_metadata(version, axes, scale, translation, "gradient magnitude"))
        array = _create_array(zarr, group, tuple(int(n) for n in shape), tuple(int(c) for c in chunks),
                              [a.get("name") for a in axes], fmt)
        yield array
        _replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _is_zarr_store(path: str) -> bool:
    return os.path.isdir(path) and any(os.path.exists(os.path.join(path, name))
                                       for name in (".zgroup", ".zarray", "zarr.json"))


def _create_group(zarr, path: str, fmt: int):
    if int(zarr.__version__.split(".")[0]) >= 3:
        return zarr.open_group(store=path, mode="w", zarr_format=fmt)
    if fmt != 2:
        raise GradientToolsError("writing OME-Zarr 0.5 (zarr format 3) needs zarr >= 3")
    return zarr.open_group(path, mode="w")


def _create_array(zarr, group, shape, chunks, names, fmt: int):
    if int(zarr.__version__.split(".")[0]) >= 3:
        # OME-NGFF 0.5 asks zarr format 3 arrays to name their dimensions as the axes
        extra = {"dimension_names": names} if fmt == 3 else {}
        return group.create_array("0", shape=shape, chunks=chunks, dtype="float32", fill_value=0.0, **extra)
    return group.create_dataset("0", shape=shape, chunks=chunks, dtype="float32", fill_value=0.0)


def _replace(tmp: str, path: str) -> None:
    """Move the finished store onto ``path``; an old store there is removed after the move."""
    old = None
    if os.path.exists(path):
        old = tempfile.mkdtemp(prefix=".old-", dir=os.path.dirname(os.path.abspath(path)))
        os.rmdir(old)
        os.replace(path, old)
    os.replace(tmp, path)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
