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

from .._shared.files import atomic_output
from ..errors import GradientToolsError
from .raw_headers import (
    META_ENDINGS,
    NRRD_ENDINGS,
    RawHeader,
    is_raw_header_path,
    meta_header_text,
    nrrd_header_text,
    read_header,
)

#: output endings written by :func:`raw_volume_output` (.nhdr and .mhd with a detached .raw)
RAW_OUTPUT_ENDINGS = NRRD_ENDINGS + META_ENDINGS


def _check_complete(header: RawHeader) -> None:
    size = os.path.getsize(header.data_path)
    if header.offset < 0 or header.offset + header.nbytes > size:
        raise GradientToolsError(
            f"{header.path} is truncated: its header describes {header.nbytes} bytes of voxels from "
            f"byte {header.offset} of {os.path.basename(header.data_path)}, which has {size} bytes")


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
    _check_complete(header)
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


def same_file(a: str, b: str) -> bool:
    """True when two paths name the same existing file (hard links and symbolic links included)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def input_files(path: str) -> list:
    """The files an input volume consists of: the header and, for .nhdr/.mhd, its data file."""
    files = [os.fspath(path)]
    if is_raw_header_path(path) and os.path.isfile(path):
        with contextlib.suppress(GradientToolsError, OSError, ValueError):
            data = read_header(path).data_path
            if data is not None and not same_file(data, path):
                files.append(data)
    return files


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


def refuse_overwriting_inputs(outputs: Sequence[str], inputs: Sequence[str]) -> None:
    """An error when an output would be one of the inputs' files (header or data file), or a folder
    (a zarr store) holding an input."""
    protected = [f for path in inputs for f in input_files(path)]
    for out in (f for path in outputs for f in output_files(path)):
        for existing in protected:
            if os.path.exists(out) and same_file(out, existing) or \
                    os.path.abspath(out) == os.path.abspath(existing):
                raise GradientToolsError(f"output {out} would overwrite the input file {existing}")
            if os.path.realpath(existing).startswith(os.path.realpath(out).rstrip(os.sep) + os.sep):
                raise GradientToolsError(
                    f"output {out} would replace the folder holding the input {existing}")


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


def available_memory() -> Optional[int]:
    """Bytes of memory the system can give without swapping (Linux MemAvailable), or None."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/meminfo") as stream:
            for line in stream:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    with contextlib.suppress(AttributeError, ValueError, OSError):
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    return None


def format_bytes(nbytes: float) -> str:
    """``"1.52 GB"``, ``"480 kB"``: a size for messages."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if nbytes >= size:
            return f"{nbytes / size:.3g} {unit}"
    return f"{int(nbytes)} bytes"
