"""What a volume file consists of and whether it holds all the data its header declares.

SimpleITK reads a NIfTI file that was cut short without complaint (the missing voxels come back as
zeros), and a truncated MetaImage fails with "No such file or directory" and lines printed by the C++
library. So before reading, the header is parsed here (NIfTI-1/2, NRRD, MetaImage) and the data
checked against it:

* :func:`data_files` lists every file a volume consists of (a .nhdr's or .mhd's detached data
  files), so that a command can refuse to overwrite any of them;
* :func:`check_complete` raises :class:`GradientToolsError` naming the file when its data is shorter
  than the header says (raw data by size; gzip data by the gzip trailer, then by decompressing when
  the trailer does not match).

Formats or encodings not handled here are left to the reader (it checks them itself).
"""

from __future__ import annotations

import contextlib
import gzip
import os
import re
import struct
import zlib
from typing import Dict, List, Optional, Tuple

import numpy as np

from ..errors import GradientToolsError

_NIFTI_BYTES = {2: 1, 4: 2, 8: 4, 16: 4, 32: 8, 64: 8, 128: 3, 256: 1, 512: 2, 768: 4, 1024: 8,
                1280: 8, 1536: 16, 1792: 16, 2048: 32, 2304: 4}
_NRRD_TYPES = {
    1: ("signed char", "int8", "int8_t", "uchar", "unsigned char", "uint8", "uint8_t"),
    2: ("short", "short int", "signed short", "signed short int", "int16", "int16_t", "ushort",
        "unsigned short", "unsigned short int", "uint16", "uint16_t"),
    4: ("int", "signed int", "int32", "int32_t", "uint", "unsigned int", "uint32", "uint32_t",
        "float"),
    8: ("longlong", "long long", "long long int", "signed long long", "signed long long int",
        "int64", "int64_t", "ulonglong", "unsigned long long", "unsigned long long int", "uint64",
        "uint64_t", "double"),
}
_META_TYPES = {"MET_CHAR": 1, "MET_UCHAR": 1, "MET_SHORT": 2, "MET_USHORT": 2, "MET_INT": 4,
               "MET_UINT": 4, "MET_LONG": 4, "MET_ULONG": 4, "MET_LONG_LONG": 8,
               "MET_ULONG_LONG": 8, "MET_FLOAT": 4, "MET_DOUBLE": 8}


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


def _check_nifti(path: str, inflate: bool = True) -> None:
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
        if inflate:
            _check_gzip(path, expected, "header and voxel data")
        return
    size = os.path.getsize(path)
    if size < expected:
        raise GradientToolsError(f"{path} is truncated: {size} bytes, but its header declares "
                                 f"{expected} (header and voxel data)")


# -------------------------------------------------------------------------------------------- NRRD
def _nrrd_header(path: str) -> Tuple[Dict[str, str], int]:
    """The fields of a NRRD header and the byte offset where an attached data section starts."""
    head = _read_head(path, 1 << 20)
    fields: Dict[str, str] = {}
    offset = 0
    lines = head.split(b"\n")
    for number, raw in enumerate(lines):
        offset += len(raw) + 1
        line = raw.rstrip(b"\r").decode("latin-1")
        if number == 0:
            if not line.startswith("NRRD"):
                return {}, 0
            continue
        if line == "":
            break
        if line.startswith("#") or ":=" in line or ":" not in line:
            continue
        key, value = line.split(":", 1)
        fields[key.strip().lower()] = value.strip()
        if key.strip().lower() in ("data file", "datafile") and value.strip().upper().startswith("LIST"):
            rest = [r.rstrip(b"\r").decode("latin-1").strip() for r in lines[number + 1:]]
            fields["data file list"] = "\n".join(r for r in rest if r)
            break
    return fields, offset


def _nrrd_data_files(path: str, fields: Dict[str, str]) -> List[str]:
    spec = fields.get("data file", fields.get("datafile"))
    if not spec:
        return []
    folder = os.path.dirname(os.path.abspath(path))
    if spec.upper().startswith("LIST"):
        names = fields.get("data file list", "").splitlines()
    else:
        parts = spec.split()
        if len(parts) >= 4 and "%" in parts[0]:  # format string: fmt min max step [subdim]
            try:
                first, last, step = int(parts[1]), int(parts[2]), int(parts[3])
                names = [parts[0] % i for i in range(first, last + (1 if step > 0 else -1), step)]
            except (ValueError, TypeError, ZeroDivisionError):
                names = []
        else:
            names = [spec]
    return [name if os.path.isabs(name) else os.path.join(folder, name) for name in names]


def _check_axes(path: str, vectors: List[List[float]], field: str) -> None:
    """The voxel axes a header declares must span 3-D space: no zero-length axis, no two parallel."""
    if len(vectors) < 2 or any(len(v) != len(vectors[0]) for v in vectors):
        return
    matrix = np.array(vectors, dtype=np.float64)
    if not np.all(np.isfinite(matrix)):
        raise GradientToolsError(f"{path}: its {field} holds a value that is not a finite number")
    lengths = np.linalg.norm(matrix, axis=1)
    if np.any(lengths == 0):
        axis = int(np.flatnonzero(lengths == 0)[0])
        raise GradientToolsError(f"{path}: voxel axis {axis} has zero length in its {field} (a voxel "
                                 "cannot have size 0)")
    unit = matrix / lengths[:, None]
    if matrix.shape[0] == matrix.shape[1] and abs(np.linalg.det(unit)) < 1e-6:
        raise GradientToolsError(f"{path}: its {field} are not independent (two voxel axes point the "
                                 "same way), so the voxels have no volume")


def _numbers(text: str) -> List[float]:
    """The numbers of a header field ([] when one of them is not a number: the reader says why)."""
    try:
        return [float(v) for v in text.split()]
    except ValueError:
        return []


def _nrrd_vectors(text: str) -> List[List[float]]:
    vectors = []
    for group in re.findall(r"\(([^)]*)\)", text):
        with contextlib.suppress(ValueError):
            vectors.append([float(v) for v in group.split(",")])
    return vectors


def _check_nrrd(path: str, inflate: bool = True) -> None:
    fields, offset = _nrrd_header(path)
    if not fields:
        return
    if "space directions" in fields:
        _check_axes(path, _nrrd_vectors(fields["space directions"]), "space directions")
    if any(h == 0 for h in _numbers(fields.get("spacings", ""))):
        raise GradientToolsError(f"{path}: its spacings give a voxel axis zero length")
    encoding = fields.get("encoding", "").lower()
    item = next((size for size, names in _NRRD_TYPES.items() if fields.get("type", "").lower() in names),
                None)
    try:
        sizes = [int(s) for s in fields.get("sizes", "").split()]
    except ValueError:
        return
    if item is None or not sizes or encoding not in ("raw", "gzip", "gz"):
        return
    expected = item
    for n in sizes:
        expected *= n
    files = _nrrd_data_files(path, fields)
    if len(files) > 1:
        return  # several data files: the reader checks each
    data = files[0] if files else path
    if not os.path.isfile(data):
        raise GradientToolsError(f"{path}: its data file {data} does not exist")
    skip = 0 if files else offset
    with contextlib.suppress(ValueError):
        skip += max(0, int(fields.get("byte skip", "0")))
    if encoding == "raw":
        size = os.path.getsize(data) - skip
        if size < expected:
            raise GradientToolsError(f"{data} is truncated: {max(size, 0)} bytes of voxel data, but the "
                                     f"header {path} declares {expected}")
    else:
        if inflate:
            _check_inflated(data, skip, expected, 16 + zlib.MAX_WBITS)


# --------------------------------------------------------------------------------------- MetaImage
def _meta_header(path: str) -> Tuple[Dict[str, str], int]:
    head = _read_head(path, 1 << 20)
    fields: Dict[str, str] = {}
    offset = 0
    for raw in head.split(b"\n"):
        offset += len(raw) + 1
        line = raw.rstrip(b"\r").decode("latin-1")
        if "=" not in line:
            continue
        key, value = (s.strip() for s in line.split("=", 1))
        fields[key.lower()] = value
        if key.lower() == "elementdatafile":
            break
    return fields, offset


def _meta_data_files(path: str, fields: Dict[str, str]) -> List[str]:
    spec = fields.get("elementdatafile", "")
    if not spec or spec.upper() == "LOCAL":
        return []
    folder = os.path.dirname(os.path.abspath(path))
    parts = spec.split()
    if spec.upper().startswith("LIST"):
        return []  # names follow the header line; rare, left to the reader
    if len(parts) >= 4 and "%" in parts[0]:
        try:
            names = [parts[0] % i for i in range(int(parts[1]), int(parts[2]) + 1, int(parts[3]))]
        except (ValueError, TypeError, ZeroDivisionError):
            names = []
    else:
        names = [spec]
    return [n if os.path.isabs(n) else os.path.join(folder, n) for n in names]


def _check_meta(path: str, inflate: bool = True) -> None:
    fields, offset = _meta_header(path)
    if any(h == 0 for h in _numbers(fields.get("elementspacing", ""))):
        raise GradientToolsError(f"{path}: its ElementSpacing gives a voxel axis zero length")
    matrix = _numbers(fields.get("transformmatrix", ""))
    n = int(round(len(matrix) ** 0.5))
    if matrix and n * n == len(matrix):
        _check_axes(path, [matrix[i * n:(i + 1) * n] for i in range(n)], "TransformMatrix")
    if "dimsize" not in fields or "elementtype" not in fields:
        return
    try:
        sizes = [int(s) for s in fields["dimsize"].split()]
        channels = int(fields.get("elementnumberofchannels", "1"))
    except ValueError:
        return
    item = _META_TYPES.get(fields["elementtype"].upper())
    if item is None:
        return
    expected = item * channels
    for n in sizes:
        expected *= n
    files = _meta_data_files(path, fields)
    if len(files) > 1:
        return
    data = files[0] if files else path
    if not os.path.isfile(data):
        raise GradientToolsError(f"{path}: its data file {data} does not exist")
    start = 0 if files else offset
    with contextlib.suppress(ValueError):
        header_size = int(fields.get("headersize", "0"))
        if header_size > 0:
            start += header_size
    size = os.path.getsize(data) - start
    if fields.get("compresseddata", "false").lower() == "true":
        declared = -1
        with contextlib.suppress(ValueError):
            declared = int(fields.get("compresseddatasize", "-1"))
        if declared > 0 and size < declared:
            raise GradientToolsError(f"{data} is truncated: {max(size, 0)} bytes of compressed data, "
                                     f"but the header declares {declared}")
        if declared <= 0:
            if inflate:
                _check_inflated(data, start, expected, zlib.MAX_WBITS)
        return
    if size < expected:
        raise GradientToolsError(f"{data} is truncated: {max(size, 0)} bytes of voxel data, but the "
                                 f"header {path} declares {expected}")


# ------------------------------------------------------------------------------------------- public
def data_files(path: str) -> List[str]:
    """Every file the volume at ``path`` consists of: ``path`` itself, then detached data files."""
    path = os.fspath(path)
    name = _lower(path)
    extra: List[str] = []
    with contextlib.suppress(OSError, UnicodeDecodeError):
        if name.endswith((".nhdr", ".nrrd")):
            fields, _ = _nrrd_header(path)
            extra = _nrrd_data_files(path, fields)
        elif name.endswith((".mhd", ".mha")):
            fields, _ = _meta_header(path)
            extra = _meta_data_files(path, fields)
        elif name.endswith((".hdr", ".hdr.gz")):
            stem = path[: -len(".hdr.gz")] if name.endswith(".gz") else path[: -len(".hdr")]
            extra = [stem + ext for ext in (".img", ".img.gz") if os.path.exists(stem + ext)]
    return [path] + extra


def check_complete(path: str, *, inflate: bool = True) -> None:
    """Raise :class:`GradientToolsError` naming the file when a volume file holds less data than its
    header declares (NIfTI .nii/.nii.gz, NRRD raw, MetaImage raw or with a declared compressed size),
    or declares voxel axes of zero length or two parallel axes.

    ``inflate=False`` leaves out what needs decompressing a whole stream (a compressed volume's
    length): header-only checks, cheap enough before deciding how to read the volume."""
    path = os.fspath(path)
    name = _lower(path)
    try:
        if name.endswith((".nii", ".nii.gz", ".hdr", ".hdr.gz")):
            _check_nifti(path, inflate)
        elif name.endswith((".nrrd", ".nhdr")):
            _check_nrrd(path, inflate)
        elif name.endswith((".mha", ".mhd")):
            _check_meta(path, inflate)
    except OSError as exc:
        raise GradientToolsError(f"cannot read {path}: {exc.strerror or exc}") from None
