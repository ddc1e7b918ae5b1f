"""Volumes larger than memory in raw NRRD and MetaImage files: memory-mapped input and output.

:func:`open_raw_volume` maps the voxels of an uncompressed ``.nrrd``/``.nhdr``/``.mha``/``.mhd``
read-only (``numpy.memmap``, K,J,I order): indexing it reads only the pages it touches, and those
pages belong to the page cache, which the kernel reclaims under pressure, so a computation over
it needs memory for its working buffers only. :func:`raw_volume_output` creates an output the same
way: the header and a float32 voxel area in temporary files beside the target, filled through a
writable map, moved into place only when the block succeeds (nothing is left behind otherwise).

:class:`RawFileArray` is the same voxels as a small picklable object (path, offset, type, shape)
for dask: each task maps the file itself, so a cluster's workers read their chunks straight from
a shared file system instead of receiving them through the scheduler.
"""

from __future__ import annotations

import contextlib
import mmap
import os
from dataclasses import dataclass
from typing import Iterator, Optional, Sequence, Tuple

import numpy

from .._shared.files import atomic_output, refuse_overwriting_inputs
from ..errors import GradientToolsError
from .raw_headers import (
    META_ENDINGS,
    NRRD_ENDINGS,
    RawHeader,
    meta_header_text,
    nrrd_header_text,
    read_header,
)
from .volume_files import check_data, data_files

#: output endings written by :func:`raw_volume_output` (.nhdr and .mhd with a detached .raw)
RAW_OUTPUT_ENDINGS = NRRD_ENDINGS + META_ENDINGS


def open_raw_volume(header_or_path, *, random_access: bool = False) -> numpy.memmap:
    """Map a raw NRRD/MetaImage volume's voxels read-only, as a (K, J, I) ``numpy.memmap``.

    Parameters
    ----------
    header_or_path : RawHeader or str
        A header from :func:`.raw_headers.read_header`, or the header file's path.
    random_access : bool
        Tell the kernel the map is read at scattered places (``MADV_RANDOM``): a page fault then
        reads its own page only, instead of the 128 kB or more around it, so that a block sample
        reads the blocks and not the whole file. Default: sequential use (read ahead).

    Raises
    ------
    GradientToolsError
        when the file is compressed, text, split over several files, not scalar, or truncated.
    """
    header = header_or_path if isinstance(header_or_path, RawHeader) else read_header(header_or_path)
    if not header.streamable:
        why = header.problem or f"{header.encoding} encoding"
        raise GradientToolsError(f"{header.path} cannot be memory-mapped: {why}")
    check_data(header)
    mapped = numpy.memmap(header.data_path, dtype=header.dtype, mode="r", offset=header.offset,
                          shape=header.shape, order="C")
    advice = getattr(mmap, "MADV_RANDOM", None)          # Linux and macOS; not on Windows
    if random_access and advice is not None and getattr(mapped, "_mmap", None) is not None:
        mapped._mmap.madvise(advice)
    return mapped


@dataclass(frozen=True)
class RawFileArray:
    """Lazily read raw voxels: indexing maps the file and copies out only the indexed voxels.

    Picklable (it holds the path, not the data), so that dask tasks on other processes or
    machines read their own chunks. Supports what numpy indexing supports (it indexes a fresh
    read-only map).
    """

    data_path: str
    offset: int
    shape: Tuple[int, int, int]
    dtype: numpy.dtype

    @classmethod
    def from_header(cls, header: RawHeader) -> RawFileArray:
        open_raw_volume(header)                # checks streamable and complete
        return cls(os.path.abspath(header.data_path), header.offset, tuple(header.shape), header.dtype)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(numpy.prod(self.shape, dtype=numpy.int64))

    def __getitem__(self, index):
        mapped = numpy.memmap(self.data_path, dtype=self.dtype, mode="r", offset=self.offset,
                              shape=self.shape, order="C")
        return numpy.array(mapped[index])


def detached_data_name(path: str) -> Optional[str]:
    """The data file a .nhdr/.mhd output gets beside its header (same stem, ``.raw``); None for
    single-file outputs."""
    lower = path.lower()
    if lower.endswith((".nhdr", ".mhd")):
        return os.path.splitext(path)[0] + ".raw"
    return None


def output_files(path: str) -> list:
    """Every file writing ``path`` creates (a .nhdr/.mhd also writes a ``.raw`` beside it)."""
    data = detached_data_name(path)
    return [path] + ([data] if data else [])


def refuse_overwriting_volume_inputs(outputs: Sequence[str], inputs: Sequence[str]) -> None:
    """An error when writing the volumes ``outputs`` would replace a file of the volumes ``inputs``
    (header or detached data file, through links), or a folder (a zarr store) holding one."""
    refuse_overwriting_inputs([f for path in outputs for f in output_files(path)],
                              [f for path in inputs for f in data_files(path)])


@contextlib.contextmanager
def raw_volume_output(path: str, shape: Sequence[int], spacing, origin, direction,
                      dtype=numpy.float32) -> Iterator[numpy.memmap]:
    """Create a raw little-endian NRRD/MetaImage volume and yield its voxels as a writable map.

    ``.nrrd``/``.mha`` hold header and voxels in one file; ``.nhdr``/``.mhd`` write the voxels to
    ``STEM.raw`` beside the header. Everything goes to temporary files in the target's folder and
    is moved into place when the block ends without an exception (the kernel writes the mapped
    pages back, as after any ``write``; nothing forces them to disk). Geometry: I,J,K spacing (mm),
    LPS origin and direction cosines.
    """
    path = os.fspath(path)
    lower = path.lower()
    if not lower.endswith(RAW_OUTPUT_ENDINGS):
        raise GradientToolsError(f"raw volume output must end in {', '.join(RAW_OUTPUT_ENDINGS)}: {path}")
    shape = tuple(int(n) for n in shape)
    dtype = numpy.dtype(dtype).newbyteorder("<")
    header_text = nrrd_header_text if lower.endswith(NRRD_ENDINGS) else meta_header_text
    data_name = detached_data_name(path)
    nbytes = int(numpy.prod(shape, dtype=numpy.int64)) * dtype.itemsize
    with contextlib.ExitStack() as stack:
        if data_name is None:
            tmp = stack.enter_context(atomic_output(path))
            header = header_text(shape, dtype, spacing, origin, direction).encode("latin-1")
            data_tmp, offset = tmp, len(header)
        else:
            data_tmp = stack.enter_context(atomic_output(data_name))
            tmp = stack.enter_context(atomic_output(path))
            header = header_text(shape, dtype, spacing, origin, direction,
                                 data_file=os.path.basename(data_name)).encode("latin-1")
            offset = 0
            with open(tmp, "wb") as stream:
                stream.write(header)
        with open(data_tmp, "r+b") as stream:
            if data_name is None:
                stream.write(header)
            stream.truncate(offset + nbytes)       # sparse until written
        voxels = numpy.memmap(data_tmp, dtype=dtype, mode="r+", offset=offset, shape=shape, order="C")
        # the map stays valid across the move (same file); it is unmapped with its last view
        yield voxels
        del voxels
