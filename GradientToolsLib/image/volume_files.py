"""What a volume file consists of and whether it holds all the data its header declares.

SimpleITK reads a NIfTI file that was cut short without complaint (the missing voxels come back as
zeros), and a truncated MetaImage fails with "No such file or directory" and lines printed by the C++
library. So before reading, the header is parsed (NIfTI-1/2 here; NRRD and MetaImage by
:mod:`.raw_headers`, their one parser) and the data checked against it:

* :func:`data_files` lists every file a volume consists of (a .nhdr's or .mhd's detached data
  files), so that a command can refuse to overwrite any of them;
* :func:`check_complete` raises :class:`GradientToolsError` naming the file when its data is shorter
  than the header says (raw data by size; gzip data by the gzip trailer, then by decompressing when
  the trailer does not match) or its header is inconsistent.

Formats or encodings not handled here are left to the reader (it checks them itself).
"""

from __future__ import annotations

import contextlib
import gzip
import os
import struct
import zlib
from typing import List, Optional, Tuple

from ..errors import GradientToolsError
from .raw_headers import NotThisFormat, RawHeader, is_raw_header_path, read_header

_NIFTI_BYTES = {2: 1, 4: 2, 8: 4, 16: 4, 32: 8, 64: 8, 128: 3, 256: 1, 512: 2, 768: 4, 1024: 8,
                1280: 8, 1536: 16, 1792: 16, 2048: 32, 2304: 4}



def _lower(path: str) -> str:
    return os.path.basename(path).lower()


def _read_head(path: str, limit: int = 1 << 16) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(limit)


# ------------------------------------------------------------------------------------------- NIfTI
def _nifti_expected(header: bytes) -> Optional[Tuple[int, str]]:
    """(bytes the file must hold: header + offset + voxels, endianness) or None if not NIfTI."""
    for endian in ("<", ">"):
        if len(header) >= 348 and struct.unpack(endian + "i", header[:4])[0] == 348:
            dims = struct.unpack(endian + "8h", header[40:56])
            datatype, bitpix = struct.unpack(endian + "2h", header[70:74])
            offset = struct.unpack(endian + "f", header[108:112])[0]
            break
        if len(header) >= 540 and struct.unpack(endian + "i", header[:4])[0] == 540:
            dims = struct.unpack(endian + "8q", header[16:80])
            datatype, bitpix = struct.unpack(endian + "2h", header[12:16])
            offset = struct.unpack(endian + "q", header[168:176])[0]
            break
    else:
        return None
    ndim = int(dims[0])
    if not 1 <= ndim <= 7:
        return None
    voxels = 1
    for n in dims[1:ndim + 1]:
        voxels *= max(int(n), 1)
    item = _NIFTI_BYTES.get(int(datatype), max(int(bitpix), 8) // 8)
    return int(offset) + voxels * item, endian


def _gzip_size(path: str) -> int:
    """Uncompressed size of a gzip file: the trailer's ISIZE first (mod 2**32), else by decompressing
    (which also detects a truncated stream). Raises EOFError or zlib.error on a damaged file."""
    with gzip.open(path, "rb") as handle:
        total = 0
        while True:
            chunk = handle.read(1 << 22)
            if not chunk:
                return total
            total += len(chunk)


def _gzip_trailer_size(path: str) -> Optional[int]:
    with contextlib.suppress(OSError):
        with open(path, "rb") as handle:
            handle.seek(-4, os.SEEK_END)
            return struct.unpack("<I", handle.read(4))[0]
    return None


def _check_gzip(path: str, expected: int, what: str) -> None:
    if _gzip_trailer_size(path) == expected % (1 << 32):
        return
    try:
        size = _gzip_size(path)
    except (EOFError, OSError, zlib.error):
        raise GradientToolsError(f"{path} is truncated or damaged: its compressed {what} ends early") \
            from None
    if size < expected:
        raise GradientToolsError(f"{path} is truncated: it holds {size} bytes of {what} but its header "
                                 f"declares {expected}")


def _check_inflated(path: str, start: int, expected: int, wbits: int) -> None:
    """Decompress the zlib/gzip stream of ``path`` from byte ``start`` and compare with ``expected``."""
    inflater = zlib.decompressobj(wbits)
    size = 0
    with open(path, "rb") as handle:
        handle.seek(start)
        try:
            while size < expected and not inflater.eof:
                chunk = inflater.unconsumed_tail or handle.read(1 << 20)
                if not chunk:
                    break
                size += len(inflater.decompress(chunk, 1 << 24))  # bounded: zeros inflate 1000-fold
        except zlib.error:
            raise GradientToolsError(f"{path}: its compressed voxel data is damaged") from None
    if size < expected:
        raise GradientToolsError(f"{path} is truncated: its compressed data holds {size} bytes of voxels, "
                                 f"but the header declares {expected}")


def _check_nifti(path: str) -> None:
    compressed = _lower(path).endswith(".gz")
    try:
        header = gzip.open(path, "rb").read(540) if compressed else _read_head(path, 540)
    except (EOFError, OSError, zlib.error):
        raise GradientToolsError(f"{path} is truncated or not a gzip file") from None
    found = _nifti_expected(header)
    if found is None:
        return
    expected, _ = found
    if _lower(path).endswith((".hdr", ".hdr.gz")):
        return  # the voxels are in the .img beside it: checked by the reader
    if compressed:
        _check_gzip(path, expected, "header and voxel data")
        return
    size = os.path.getsize(path)
    if size < expected:
        raise GradientToolsError(f"{path} is truncated: {size} bytes, but its header declares "
                                 f"{expected} (header and voxel data)")


# ------------------------------------------------------------------------------ NRRD and MetaImage
def check_data(header: RawHeader) -> None:
    """Raise :class:`GradientToolsError` when the data file of a parsed NRRD/MetaImage header holds
    less than the header declares: raw data by size, gzip/zlib streams by decompressing (a
    MetaImage's stated CompressedDataSize by size). Multi-file data and text encodings are left to
    the reader."""
    data = header.data_path
    if data is None or header.encoding not in ("raw", "gzip", "zlib"):
        return
    if not os.path.isfile(data):
        raise GradientToolsError(f"{header.path}: its data file {data} does not exist")
    expected = header.data_bytes
    size = os.path.getsize(data) - max(header.offset, 0)
    if header.encoding == "raw":
        if header.offset < 0 or size < expected:
            raise GradientToolsError(f"{data} is truncated: {max(size, 0)} bytes of voxel data, but the "
                                     f"header {header.path} declares {expected}")
    elif header.compressed_bytes is not None:
        if size < header.compressed_bytes:
            raise GradientToolsError(f"{data} is truncated: {max(size, 0)} bytes of compressed data, "
                                     f"but the header declares {header.compressed_bytes}")
    elif header.encoding == "gzip":
        # the stream ends the file: its trailer states the length (mod 2**32), which a file cut
        # short matches only by chance; decompress only when it does not
        if _gzip_trailer_size(data) != expected % (1 << 32):
            _check_inflated(data, header.offset, expected, 16 + zlib.MAX_WBITS)
    else:
        _check_inflated(data, header.offset, expected, zlib.MAX_WBITS)


# ------------------------------------------------------------------------------------------- public
def data_files(path: str) -> List[str]:
    """Every file the volume at ``path`` consists of: ``path`` itself, then detached data files."""
    path = os.fspath(path)
    name = _lower(path)
    extra: List[str] = []
    if is_raw_header_path(path):
        with contextlib.suppress(GradientToolsError, OSError):  # unreadable: the reader says why
            extra = list(read_header(path).data_files)
    elif name.endswith((".hdr", ".hdr.gz")):
        stem = path[: -len(".hdr.gz")] if name.endswith(".gz") else path[: -len(".hdr")]
        extra = [stem + ext for ext in (".img", ".img.gz") if os.path.exists(stem + ext)]
    return [path] + extra


def check_complete(path: str) -> None:
    """Raise :class:`GradientToolsError` naming the file when a volume file holds less data than its
    header declares (NIfTI .nii/.nii.gz; NRRD and MetaImage raw or compressed, see
    :func:`check_data`), or when a NRRD/MetaImage header is inconsistent (voxel axes of zero length
    or pointing the same way, see :mod:`.raw_headers`). A file that is not what its ending says is
    left to the reader."""
    path = os.fspath(path)
    name = _lower(path)
    try:
        if name.endswith((".nii", ".nii.gz", ".hdr", ".hdr.gz")):
            _check_nifti(path)
        elif is_raw_header_path(path):
            check_data(read_header(path))
    except NotThisFormat:
        return
    except OSError as exc:
        raise GradientToolsError(f"cannot read {path}: {exc.strerror or exc}") from None
