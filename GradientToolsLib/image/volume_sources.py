"""Where a volume's voxels come from, decided from its header: memory-mapped, zarr chunks or memory.

:func:`describe_volume` reads only the header (or zarr metadata) of an input and returns a
:class:`VolumeSource`: its shape, type, geometry and how its voxels can be reached:

``memory-mapped``
    uncompressed (raw) NRRD/NHDR or MetaImage: :func:`.raw_volumes.open_raw_volume`;
``zarr``
    an OME-Zarr image or a zarr array: :class:`.zarr_volumes.ZarrVolumeArray` (chunks read on
    indexing);
``in memory``
    anything else (gzip/bzip2 NRRD, compressed MetaImage, NIfTI, ...): read whole by SimpleITK;
    ``reason`` says why it cannot stream and ``nbytes`` what the voxels take in memory.

:func:`open_volume` gives a :class:`.volume_io.Volume` whose ``array`` is the memory map, the zarr
view or the loaded array; :func:`value_range` the range of its values (header fields when the
file states them, else one pass over the voxels, slab by slab).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Optional, Sequence, Tuple

import numpy

from ..errors import GradientToolsError
from . import raw_headers, raw_volumes
from .volume_io import Volume

MEMORY_MAPPED, ZARR, IN_MEMORY = "memory-mapped", "zarr", "in memory"
_ENCODING_NAMES = {"gzip": "gzip-compressed", "bzip2": "bzip2-compressed", "zlib": "compressed",
                   "text": "stored as text", "hex": "stored as hex text", "zrl": "run-length encoded"}


@dataclass
class VolumeSource:
    """An input volume described from its header (see the module documentation).

    ``shape`` K,J,I; ``spacing`` I,J,K mm; ``origin``/``direction`` LPS; ``value_range`` the
    header's stated (min, max) or None; ``reason`` why an ``in memory`` source cannot stream.
    """

    path: str
    kind: str
    shape: Tuple[int, int, int]
    dtype: numpy.dtype
    spacing: Tuple[float, float, float]
    origin: numpy.ndarray = field(default_factory=lambda: numpy.zeros(3))
    direction: numpy.ndarray = field(default_factory=lambda: numpy.eye(3))
    value_range: Optional[Tuple[float, float]] = None
    reason: Optional[str] = None
    header: Optional[raw_headers.RawHeader] = None
    zarr: Optional[object] = None

    @property
    def nbytes(self) -> int:
        """Bytes of the voxels in memory."""
        return int(numpy.prod(self.shape, dtype=numpy.int64)) * self.dtype.itemsize

    @property
    def chunks(self) -> Optional[Tuple[int, int, int]]:
        return self.zarr.array.chunks if self.zarr is not None else None

    def load(self, *, random_access: bool = False):
        """The voxels (K, J, I): a read-only memory map, a lazy zarr view, or an array in memory.
        ``random_access``: the map will be read at scattered places (a block sample), see
        :func:`.raw_volumes.open_raw_volume`."""
        if self.kind == MEMORY_MAPPED:
            return raw_volumes.open_raw_volume(self.header, random_access=random_access)
        if self.kind == ZARR:
            return self.zarr.array
        from .volume_io import read_volume

        return read_volume(self.path).array

    def dask_array(self, chunks=None):
        """The voxels as a dask array read lazily (each task reads its own block from the file or
        store, so that cluster workers on a shared file system read without the scheduler).
        ``chunks``: the blocks (default: the zarr store's chunks, else 64 x 256 x 256)."""
        from .dask_gradient import require

        da = require("dask.array")
        if chunks is None:
            chunks = self.chunks or (64, 256, 256)
        if self.kind == ZARR:
            return da.from_array(self.zarr.array, chunks=chunks)
        if self.kind == MEMORY_MAPPED:
            return da.from_array(raw_volumes.RawFileArray.from_header(self.header), chunks=chunks)
        return da.from_array(self.load(), chunks=chunks)


def describe_volume(path, *, spacing: Optional[Sequence[float]] = None,
                    require_spacing: bool = True) -> VolumeSource:
    """Describe an input volume from its header alone (see :class:`VolumeSource`).

    ``spacing`` (I,J,K mm) is needed for a plain zarr array (unless ``require_spacing`` is false:
    then 1 mm) and must agree with an OME-Zarr's.
    """
    path = os.fspath(path)
    from .zarr_volumes import is_zarr_path

    if is_zarr_path(path):
        from .zarr_volumes import open_zarr_volume

        z = open_zarr_volume(path, spacing=spacing, require_spacing=require_spacing)
        return VolumeSource(path, ZARR, z.array.shape, z.array.dtype, z.spacing, z.origin, z.direction,
                            z.value_range, zarr=z)
    if spacing is not None:
        raise GradientToolsError("--spacing applies only to zarr stores (files carry their own spacing)")
    if raw_headers.is_raw_header_path(path):
        header = raw_headers.read_header(path)
        if header.streamable:
            source = VolumeSource(path, MEMORY_MAPPED, header.shape, header.dtype, header.spacing,
                                  header.origin, header.direction, header.value_range, header=header)
            if not header.geometry_known:
                _geometry_from_simpleitk(source)
            return source
        if header.problem:
            return _simpleitk_source(path)      # multi-file data, or a volume SimpleITK must judge
        reason = _ENCODING_NAMES.get(header.encoding, f"{header.encoding} encoded")
        source = VolumeSource(path, IN_MEMORY, header.shape, header.dtype, header.spacing, header.origin,
                              header.direction, header.value_range, reason=reason, header=header)
        if not header.geometry_known:
            _geometry_from_simpleitk(source)
        return source
    return _simpleitk_source(path)


def _geometry_from_simpleitk(source: VolumeSource) -> None:
    from .volume_io import read_image_geometry

    geometry = read_image_geometry(source.path)
    source.spacing, source.origin, source.direction = geometry.spacing, geometry.origin, geometry.direction


def _simpleitk_source(path: str) -> VolumeSource:
    from .volume_io import _header_reader, _sitk

    reader = _header_reader(path)
    sitk = _sitk()
    size = tuple(int(s) for s in reader.GetSize())
    if reader.GetNumberOfComponents() != 1:
        raise GradientToolsError(f"{path} has {reader.GetNumberOfComponents()} components per voxel; "
                                 "a scalar volume is needed")
    if len(size) not in (2, 3):
        raise GradientToolsError(f"{path} is a {len(size)}-D image; a 2-D or 3-D scalar volume is needed")
    dtype = sitk.GetArrayViewFromImage(sitk.Image([1] * len(size), reader.GetPixelID())).dtype
    size = size + (1,) * (3 - len(size))
    lower = path.lower()
    if lower.endswith(".gz"):
        reason = "gzip-compressed"
    elif raw_headers.is_raw_header_path(path):
        reason = "its voxels are split over several files"
    else:
        reason = "not a raw NRRD or MetaImage file"
    # the geometry read_volume gives (SimpleITK's interpretation of the header)
    n = reader.GetDimension()
    direction = numpy.eye(3)
    direction[:n, :n] = numpy.reshape(reader.GetDirection(), (n, n))
    spacing = (tuple(reader.GetSpacing()) + (1.0,))[:3]
    origin = numpy.array((tuple(reader.GetOrigin()) + (0.0,))[:3])
    return VolumeSource(path, IN_MEMORY, size[::-1], numpy.dtype(dtype), spacing, origin, direction,
                        reason=reason)


def open_volume(path, *, spacing: Optional[Sequence[float]] = None, require_spacing: bool = True,
                random_access: bool = False) -> Volume:
    """A :class:`.volume_io.Volume` whose array reads as little as it can: a read-only memory map
    for raw NRRD/MetaImage, a lazy chunked view for zarr, else the voxels loaded by SimpleITK.
    ``spacing``/``require_spacing``: as :func:`describe_volume`; ``random_access``: as
    :meth:`VolumeSource.load`."""
    source = describe_volume(path, spacing=spacing, require_spacing=require_spacing)
    return Volume(source.load(random_access=random_access), source.spacing, source.origin, source.direction)


def value_range(source: VolumeSource, *, use_header: bool = True,
                progress=None) -> Tuple[Tuple[float, float], str]:
    """(min, max) of the voxel values and where it came from: ``"header"`` (NRRD ``min``/``max``,
    MetaImage ``ElementMin``/``ElementMax``, OME-Zarr omero window; only if ``use_header``) costs
    nothing; ``"voxels"`` is one pass over every voxel, slab by slab (memory: one slab), on a map
    that reads ahead."""
    from ._slabs import value_range as slab_value_range

    if use_header and source.value_range is not None:
        return source.value_range, "header"
    lo, hi = slab_value_range(source.load(), progress=progress)
    return (lo, hi), "voxels"
