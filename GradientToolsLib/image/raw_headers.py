"""Headers of raw NRRD (.nrrd, .nhdr) and MetaImage (.mha, .mhd) files: read and write.

Only what locating and interpreting the voxels needs: the data layout (file, byte offset, type,
byte order, encoding) and the geometry (ITK's: spacing I,J,K in mm, origin and direction cosines
in LPS). Formats as specified by teem's NRRD format page (NRRD0001-NRRD0005) and MetaIO's
MetaImage documentation; geometry interpreted as ITK does (a ``right-anterior-superior`` or
``left-anterior-superior`` NRRD is turned into LPS; any other named space is taken as it is).
A header this module cannot interpret (axis mins without a space, a multi-file data list) is
marked so that the caller reads the file through SimpleITK instead. Voxel axes of zero length, or
two axes pointing the same way, are refused naming the file (ITK's message is "Refusing to change
spacing"). This is the one parser of these headers: :mod:`.volume_files` checks the data against
what it finds.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

import numpy

from ..errors import GradientToolsError

#: header files this module reads
NRRD_ENDINGS = (".nrrd", ".nhdr")
META_ENDINGS = (".mha", ".mhd")
#: the most header bytes read before giving up on finding the header's end
MAX_HEADER_BYTES = 1 << 20


class NotThisFormat(GradientToolsError):
    """The file does not start like a NRRD or MetaImage header (another reader may know it)."""

_NRRD_TYPES = {
    "int8": ("signed char", "int8", "int8_t"),
    "uint8": ("uchar", "unsigned char", "uint8", "uint8_t"),
    "int16": ("short", "short int", "signed short", "signed short int", "int16", "int16_t"),
    "uint16": ("ushort", "unsigned short", "unsigned short int", "uint16", "uint16_t"),
    "int32": ("int", "signed int", "int32", "int32_t"),
    "uint32": ("uint", "unsigned int", "uint32", "uint32_t"),
    "int64": ("longlong", "long long", "long long int", "signed long long", "signed long long int",
              "int64", "int64_t"),
    "uint64": ("ulonglong", "unsigned long long", "unsigned long long int", "uint64", "uint64_t"),
    "float32": ("float",),
    "float64": ("double",),
}
_NRRD_TYPE = {alias: numpy.dtype(name) for name, aliases in _NRRD_TYPES.items() for alias in aliases}
_NRRD_NAME = {numpy.dtype(name): aliases[-1] if name.startswith(("int", "uint")) else aliases[0]
              for name, aliases in _NRRD_TYPES.items()}
_NRRD_ENCODINGS = {"raw": "raw", "gz": "gzip", "gzip": "gzip", "bz2": "bzip2", "bzip2": "bzip2",
                   "txt": "text", "text": "text", "ascii": "text", "hex": "hex", "zrl": "zrl"}
# NRRD spaces ITK converts to LPS: sign of the x and y world axes
_NRRD_SPACE_SIGNS = {"left-posterior-superior": (1, 1), "lps": (1, 1),
                     "right-anterior-superior": (-1, -1), "ras": (-1, -1),
                     "left-anterior-superior": (1, -1), "las": (1, -1)}

# MetaIO element types (metaTypes.h: MET_LONG is 4 bytes, MET_LONG_LONG 8)
_META_TYPES = {"MET_CHAR": "int8", "MET_UCHAR": "uint8", "MET_SHORT": "int16", "MET_USHORT": "uint16",
               "MET_INT": "int32", "MET_UINT": "uint32", "MET_LONG": "int32", "MET_ULONG": "uint32",
               "MET_LONG_LONG": "int64", "MET_ULONG_LONG": "uint64", "MET_FLOAT": "float32",
               "MET_DOUBLE": "float64"}
_META_NAME = {numpy.dtype(v): k for k, v in reversed(list(_META_TYPES.items()))}


@dataclass
class RawHeader:
    """Where a header's voxels are and what they mean.

    Attributes
    ----------
    path : str
        The header file.
    data_path : str or None
        The file holding the voxels (``path`` itself for .nrrd/.mha with attached data); None
        for a multi-file list.
    offset : int
        Byte offset of the first voxel in ``data_path`` (for raw encoding; -1: unknown).
    shape : tuple of int
        Voxel array shape in K,J,I order (a 2-D image gets K = 1).
    dtype : numpy.dtype
        Voxel type with its byte order.
    encoding : str
        "raw" (streamable), "gzip", "bzip2", "zlib" (MetaImage CompressedData), "text", "hex", ...
    spacing, origin, direction
        Geometry as ITK reads it: I,J,K spacing in mm, LPS origin, LPS direction cosines
        (column c = world direction of index axis c).
    geometry_known : bool
        False when the header's geometry needs SimpleITK's interpretation (e.g. NRRD axis mins).
    value_range : (min, max) or None
        The header's stated range of voxel values (NRRD ``min``/``max``, MetaImage
        ``ElementMin``/``ElementMax``), when present.
    components : int
        Values per voxel (1 for a scalar volume).
    data_files : tuple of str
        Every detached data file (a list or a format string names several); () for attached data.
    data_bytes : int
        Bytes of every stored value once decoded (all axes, components included): what the data
        must hold.
    compressed_bytes : int or None
        The compressed size a MetaImage header states (CompressedDataSize), when it does.
    problem : str or None
        Why the file cannot be memory-mapped although the encoding is raw (multi-file data, a
        non-scalar axis, more than 3 dimensions); the caller then reads it through SimpleITK.
    """

    path: str
    data_path: Optional[str]
    offset: int
    shape: Tuple[int, int, int]
    dtype: numpy.dtype
    encoding: str
    spacing: Tuple[float, float, float] = (1.0, 1.0, 1.0)
    origin: numpy.ndarray = field(default_factory=lambda: numpy.zeros(3))
    direction: numpy.ndarray = field(default_factory=lambda: numpy.eye(3))
    geometry_known: bool = True
    value_range: Optional[Tuple[float, float]] = None
    components: int = 1
    problem: Optional[str] = None
    data_files: Tuple[str, ...] = ()
    data_bytes: int = 0
    compressed_bytes: Optional[int] = None

    @property
    def voxels(self) -> int:
        return int(numpy.prod(self.shape, dtype=numpy.int64))

    @property
    def nbytes(self) -> int:
        """Bytes of the voxels once decoded (what reading them into memory costs)."""
        return self.voxels * self.dtype.itemsize * self.components

    @property
    def streamable(self) -> bool:
        """True when the voxels can be memory-mapped: raw encoding, one data file, scalar."""
        return self.encoding == "raw" and self.problem is None and self.data_path is not None


def is_raw_header_path(path: str) -> bool:
    return path.lower().endswith(NRRD_ENDINGS + META_ENDINGS)


def read_header(path: str) -> RawHeader:
    """Parse a NRRD or MetaImage header (the data are not read).

    Raises
    ------
    GradientToolsError
        naming the file when it is missing, not such a header, or inconsistent.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise GradientToolsError(f"input file not found: {path}")
    with open(path, "rb") as stream:
        head = stream.read(MAX_HEADER_BYTES)
    if path.lower().endswith(NRRD_ENDINGS):
        return _parse_nrrd(path, head)
    return _parse_meta(path, head)


# ----------------------------------------------------------------------------------------- NRRD

def _header_lines(path: str, head: bytes, attached: bool, end_of_header) -> Tuple[list, int]:
    """Text lines of a header and the byte position just after it."""
    lines, position = [], 0
    while position < len(head):
        end = head.find(b"\n", position)
        if end < 0:
            if attached and len(head) >= MAX_HEADER_BYTES:
                raise GradientToolsError(f"{path}: no end of header in the first {MAX_HEADER_BYTES} bytes")
            end = len(head)
        line = head[position:end].rstrip(b"\r").decode("latin-1")
        position = end + 1
        lines.append(line)
        if end_of_header(line):
            return lines, min(position, len(head))
    return lines, len(head)


def _floats(text: str, path: str, what: str) -> list:
    try:
        return [float(x) for x in text.replace(",", " ").replace("(", " ").replace(")", " ").split()]
    except ValueError:
        raise GradientToolsError(f"{path}: cannot read {what}: {text!r}") from None


def _parse_nrrd(path: str, head: bytes) -> RawHeader:
    if not re.match(rb"NRRD000[1-5]\r?\n", head[:10]):
        raise NotThisFormat(f"{path} is not a NRRD file (no NRRD000N magic line)")
    lines, end = _header_lines(path, head, True, lambda line: line == "")
    fields: Dict[str, str] = {}
    listed: list = []
    for number, line in enumerate(lines[1:], start=1):
        if not line or line.startswith("#") or ":=" in line.split(": ", 1)[0]:
            continue                                   # comments and key:=value pairs
        if ": " not in line:
            raise GradientToolsError(f"{path}: malformed NRRD header line {line!r}")
        key, value = line.split(": ", 1)
        fields[key.strip().lower()] = value.strip()
        if key.strip().lower() in ("data file", "datafile") and value.strip().upper().startswith("LIST"):
            listed = [name.strip() for name in lines[number + 1:] if name.strip()]
            break                                      # the data file names end the header
    try:
        dimension = int(fields["dimension"])
        sizes = [int(s) for s in fields["sizes"].split()]
        dtype = _NRRD_TYPE[fields["type"].lower()]
        encoding = _NRRD_ENCODINGS[fields.get("encoding", "").lower()]
    except KeyError as exc:
        raise GradientToolsError(f"{path}: NRRD header lacks, or does not support, {exc.args[0]!r}") from None
    except ValueError:
        raise GradientToolsError(f"{path}: NRRD dimension or sizes are not integers") from None
    if len(sizes) != dimension or min(sizes) < 1:
        raise GradientToolsError(f"{path}: NRRD sizes {sizes} do not match dimension {dimension}")
    if dtype.itemsize > 1 and encoding not in ("text",):
        endian = fields.get("endian", "").lower()
        if endian not in ("little", "big"):
            raise GradientToolsError(f"{path}: NRRD header needs 'endian: little' or 'endian: big'")
        dtype = dtype.newbyteorder("<" if endian == "little" else ">")
    header = RawHeader(path, None, -1, (1, 1, 1), dtype, encoding)
    header.data_bytes = int(numpy.prod(sizes, dtype=numpy.int64)) * dtype.itemsize
    _nrrd_axes(header, fields, sizes)
    _nrrd_geometry(header, fields, sizes)
    _nrrd_data_file(header, fields, end, listed,
                    attached="data file" not in fields and "datafile" not in fields)
    if "min" in fields and "max" in fields:
        lo, hi = _floats(fields["min"], path, "min")[0], _floats(fields["max"], path, "max")[0]
        if numpy.isfinite(lo) and numpy.isfinite(hi) and lo <= hi:
            header.value_range = (lo, hi)
    return header


def _nrrd_axes(header: RawHeader, fields: Dict[str, str], sizes: list) -> None:
    """Shape (K,J,I) of a scalar 2-D/3-D NRRD; anything else is marked as a problem."""
    kinds = fields.get("kinds", "").split()
    domain = [k.lower() in ("domain", "space", "time", "none", "???") for k in kinds] or [True] * len(sizes)
    range_axes = [n for n, is_domain in zip(sizes, domain) if not is_domain]
    header.components = int(numpy.prod(range_axes)) if range_axes else 1
    spatial = [n for n, is_domain in zip(sizes, domain) if is_domain]
    if header.components != 1:
        header.problem = f"{header.components} components per voxel (kinds {' '.join(kinds)})"
    if len(spatial) == 2:
        spatial.append(1)
    if len(spatial) != 3:
        header.problem = header.problem or f"{len(spatial)}-D image"
        spatial = (spatial + [1, 1, 1])[:3]
    header.shape = (spatial[2], spatial[1], spatial[0])


def _nrrd_geometry(header: RawHeader, fields: Dict[str, str], sizes: list) -> None:
    path = header.path
    space = fields.get("space", "").lower()
    if "space directions" in fields:
        vectors = re.findall(r"\(([^)]*)\)|none", fields["space directions"])
        columns = [_floats(v, path, "space directions") for v in vectors if v]
        if len(columns) != min(3, len(sizes)) or any(len(c) != len(columns[0]) for c in columns):
            header.problem = header.problem or "space directions that are not one vector per spatial axis"
            return
        _check_axes(path, columns, "space directions")
        matrix = numpy.array(columns, dtype=numpy.float64).T            # column c: axis c
        spacing = numpy.linalg.norm(matrix, axis=0)
        if matrix.shape[0] == 2:                                         # 2-D space: embed in 3-D
            matrix = numpy.vstack([matrix, numpy.zeros((1, matrix.shape[1]))])
        if matrix.shape[1] == 2:
            matrix = numpy.hstack([matrix, numpy.array([[0.0], [0.0], [1.0]])])
            spacing = numpy.append(spacing, 1.0)
        if matrix.shape != (3, 3) or not numpy.all(spacing > 0):
            header.problem = header.problem or "a space of other than 2 or 3 dimensions"
            return
        sign = numpy.array(_NRRD_SPACE_SIGNS.get(space, (1, 1)) + (1,), dtype=numpy.float64)
        header.direction = (sign[:, None] * matrix) / spacing
        header.spacing = tuple(float(s) for s in spacing)
        if "space origin" in fields:
            origin = _floats(fields["space origin"], path, "space origin")
            origin = numpy.array((origin + [0.0, 0.0, 0.0])[:3])
            if numpy.all(numpy.isfinite(origin)):
                header.origin = sign * origin
    elif "spacings" in fields:
        values = _floats(fields["spacings"].replace("nan", "1").replace("NaN", "1"), path, "spacings")
        if any(h == 0 for h in values):
            raise GradientToolsError(f"{path}: its spacings give a voxel axis zero length")
        header.spacing = tuple((values + [1.0, 1.0, 1.0])[:3])
    if "axis mins" in fields and "space directions" not in fields:
        header.geometry_known = False                    # ITK derives the origin with cell centering


def _check_axes(path: str, vectors, field: str) -> None:
    """The voxel axes a header declares (one vector each) must span their space: none of zero
    length, no two pointing the same way."""
    matrix = numpy.array(vectors, dtype=numpy.float64)
    if not numpy.all(numpy.isfinite(matrix)):
        raise GradientToolsError(f"{path}: its {field} holds a value that is not a finite number")
    lengths = numpy.linalg.norm(matrix, axis=1)
    if numpy.any(lengths == 0):
        axis = int(numpy.flatnonzero(lengths == 0)[0])
        raise GradientToolsError(f"{path}: voxel axis {axis} has zero length in its {field} (a voxel "
                                 "cannot have size 0)")
    if matrix.shape[0] == matrix.shape[1] and abs(numpy.linalg.det(matrix / lengths[:, None])) < 1e-6:
        raise GradientToolsError(f"{path}: its {field} are not independent (two voxel axes point the "
                                 "same way), so the voxels have no volume")


def _listed_files(folder: str, spec: str, listed) -> Tuple[str, ...]:
    """The data files of a multi-file header: ``LIST`` (the names that follow) or a format string
    ``fmt min max step [subdim]``; () when the specification cannot be read (the reader says why)."""
    parts = spec.split()
    names = list(listed) if spec.upper().startswith("LIST") else []
    if not names and len(parts) >= 4 and "%" in parts[0]:
        try:
            first, last, step = int(parts[1]), int(parts[2]), int(parts[3])
            names = [parts[0] % i for i in range(first, last + (1 if step > 0 else -1), step)]
        except (ValueError, TypeError, ZeroDivisionError):
            names = []
    return tuple(name if os.path.isabs(name) else os.path.join(folder, name) for name in names)


def _nrrd_data_file(header: RawHeader, fields: Dict[str, str], end: int, listed, attached: bool) -> None:
    path = header.path
    try:
        line_skip = int(fields.get("line skip", fields.get("lineskip", "0")))
        byte_skip = int(fields.get("byte skip", fields.get("byteskip", "0")))
    except ValueError:
        raise GradientToolsError(f"{path}: NRRD line skip or byte skip is not an integer") from None
    if attached:
        if path.lower().endswith(".nhdr"):
            raise GradientToolsError(f"{path}: a .nhdr header needs a 'data file' field")
        header.data_path, start = path, end
    else:
        name = fields.get("data file", fields.get("datafile", ""))
        folder = os.path.dirname(os.path.abspath(path))
        if name.upper().startswith("LIST") or "%" in name or len(name.split()) > 1:
            header.problem = header.problem or "data split over several files"
            header.data_files = _listed_files(folder, name, listed)
            return
        header.data_path = os.path.join(folder, name)
        header.data_files = (header.data_path,)
        start = 0
    if header.encoding != "raw":
        header.offset = start
        return
    header.offset = _data_offset(header, start, line_skip, byte_skip)


def _data_offset(header: RawHeader, start: int, line_skip: int, byte_skip: int) -> int:
    """Offset of raw voxels: ``start``, then ``line_skip`` lines, then ``byte_skip`` bytes
    (-1: the voxels end the file)."""
    if not os.path.isfile(header.data_path):
        raise GradientToolsError(f"{header.path}: data file not found: {header.data_path}")
    size = os.path.getsize(header.data_path)
    if byte_skip == -1:
        return size - header.data_bytes
    offset = start
    if line_skip:
        with open(header.data_path, "rb") as stream:
            stream.seek(start)
            for _ in range(line_skip):
                stream.readline()
            offset = stream.tell()
    return offset + byte_skip


def nrrd_header_text(shape, dtype, spacing, origin, direction, data_file: Optional[str] = None) -> str:
    """Header of a raw little-endian scalar NRRD in LPS (attached data unless ``data_file``)."""
    columns = numpy.asarray(direction, dtype=numpy.float64) * numpy.asarray(spacing, dtype=numpy.float64)
    vectors = " ".join("(" + ",".join(repr(float(x)) for x in columns[:, c]) + ")" for c in range(3))
    lines = ["NRRD0004",
             "# Complete NRRD file format specification at:",
             "# http://teem.sourceforge.net/nrrd/format.html",
             f"type: {_NRRD_NAME[numpy.dtype(dtype).newbyteorder('=')]}",
             "dimension: 3",
             "space: left-posterior-superior",
             f"sizes: {shape[2]} {shape[1]} {shape[0]}",
             f"space directions: {vectors}",
             "kinds: domain domain domain",
             "endian: little",
             "encoding: raw",
             "space origin: (" + ",".join(repr(float(x)) for x in origin) + ")"]
    if data_file is not None:
        lines.append(f"data file: {data_file}")
    return "\n".join(lines) + "\n\n"


# ------------------------------------------------------------------------------------ MetaImage

def _parse_meta(path: str, head: bytes) -> RawHeader:
    lines, end = _header_lines(path, head, False,
                               lambda line: line.split("=")[0].strip().lower() == "elementdatafile")
    fields: Dict[str, str] = {}
    for line in lines:
        if "=" in line:
            key, value = line.split("=", 1)
            fields[key.strip().lower()] = value.strip()
    if fields.get("objecttype", "image").lower() != "image" or "dimsize" not in fields:
        raise NotThisFormat(f"{path} is not a MetaImage file (no ObjectType = Image and DimSize)")
    if "elementdatafile" not in fields:
        raise GradientToolsError(f"{path}: MetaImage header lacks ElementDataFile")
    try:
        sizes = [int(float(s)) for s in fields["dimsize"].split()]
        dims = int(fields.get("ndims", len(sizes)))
        channels = int(fields.get("elementnumberofchannels", "1"))
        compressed = int(fields["compresseddatasize"]) if "compresseddatasize" in fields else None
    except ValueError:
        raise GradientToolsError(f"{path}: MetaImage DimSize, NDims, ElementNumberOfChannels or "
                                 "CompressedDataSize is not an integer") from None
    name = fields.get("elementtype", "").upper()
    if name not in _META_TYPES or len(sizes) != dims or min(sizes) < 1:
        raise GradientToolsError(f"{path}: MetaImage ElementType {name!r} or DimSize {sizes} not supported")
    msb = _true(fields.get("binarydatabyteordermsb", fields.get("elementbyteordermsb", "False")))
    dtype = numpy.dtype(_META_TYPES[name]).newbyteorder(">" if msb else "<")
    if not _true(fields.get("binarydata", "True")):
        encoding = "text"
    elif _true(fields.get("compresseddata", "False")):
        encoding = "zlib"
    else:
        encoding = "raw"
    header = RawHeader(path, None, -1, (1, 1, 1), dtype, encoding)
    header.components = channels
    header.data_bytes = int(numpy.prod(sizes, dtype=numpy.int64)) * channels * dtype.itemsize
    header.compressed_bytes = compressed if compressed is not None and compressed > 0 else None
    if header.components != 1:
        header.problem = f"{header.components} components per voxel"
    if dims not in (2, 3):
        header.problem = header.problem or f"{dims}-D image"
    padded = (sizes + [1, 1, 1])[:3]
    header.shape = (padded[2], padded[1], padded[0])
    _meta_geometry(header, fields, dims)
    _meta_data_file(header, fields, end)
    if "elementmin" in fields and "elementmax" in fields:
        lo, hi = _floats(fields["elementmin"], path, "ElementMin")[0], _floats(
            fields["elementmax"], path, "ElementMax")[0]
        if numpy.isfinite(lo) and numpy.isfinite(hi) and lo <= hi:
            header.value_range = (lo, hi)
    return header


def _true(text: str) -> bool:
    return text.strip().lower() in ("true", "1", "yes")


def _meta_geometry(header: RawHeader, fields: Dict[str, str], dims: int) -> None:
    path = header.path
    n = min(dims, 3)
    spacing = fields.get("elementspacing", fields.get("elementsize"))
    if spacing is not None:
        values = _floats(spacing, path, "ElementSpacing")[:n]
        if any(h == 0 for h in values):
            raise GradientToolsError(f"{path}: its ElementSpacing gives a voxel axis zero length")
        header.spacing = tuple((values + [1.0, 1.0, 1.0])[:3])
    for key in ("offset", "position", "origin"):
        if key in fields:
            values = _floats(fields[key], path, "Offset")[:n]
            header.origin = numpy.array((values + [0.0, 0.0, 0.0])[:3])
            break
    for key in ("transformmatrix", "rotation", "orientation"):
        if key in fields:
            values = _floats(fields[key], path, "TransformMatrix")
            if len(values) != dims * dims:
                raise GradientToolsError(f"{path}: TransformMatrix needs {dims * dims} numbers")
            # MetaIO stores axis c's direction as the c-th group of numbers (ITK's MetaImageIO)
            _check_axes(path, numpy.array(values).reshape(dims, dims), "TransformMatrix")
            rows = numpy.array(values).reshape(dims, dims)[:n, :n]
            direction = numpy.eye(3)
            direction[:n, :n] = rows.T
            if n == 2:
                direction[:, 2] = numpy.cross(direction[:, 0], direction[:, 1])
            header.direction = direction
            break


def _meta_data_file(header: RawHeader, fields: Dict[str, str], end: int) -> None:
    name = fields["elementdatafile"]
    try:
        header_size = int(fields.get("headersize", "0"))
    except ValueError:
        raise GradientToolsError(f"{header.path}: HeaderSize is not an integer") from None
    if name.upper() == "LOCAL":
        header.data_path, start = header.path, end
    elif name.upper().startswith("LIST") or "%" in name or len(name.split()) > 1:
        header.problem = header.problem or "data split over several files"
        # a LIST's names follow the header line: rare, left to the reader
        header.data_files = _listed_files(os.path.dirname(os.path.abspath(header.path)), name, ())
        return
    else:
        header.data_path = os.path.join(os.path.dirname(os.path.abspath(header.path)), name)
        header.data_files = (header.data_path,)
        start = 0
    if header.encoding != "raw":
        header.offset = start
        return
    header.offset = _data_offset(header, start, 0, header_size)


def meta_header_text(shape, dtype, spacing, origin, direction, data_file: Optional[str] = None) -> str:
    """Header of a raw little-endian scalar MetaImage (attached data unless ``data_file``)."""
    direction = numpy.asarray(direction, dtype=numpy.float64)
    # the letter names where each axis comes from, as ITK's writer: LPS +x comes from R, +y from A, +z from I
    letters = []
    for c in range(3):
        axis = int(numpy.argmax(numpy.abs(direction[:, c])))
        letters.append(("RL", "AP", "IS")[axis][0 if direction[axis, c] > 0 else 1])
    numbers = lambda values: " ".join(repr(float(x)) for x in values)  # noqa: E731
    lines = ["ObjectType = Image",
             "NDims = 3",
             "BinaryData = True",
             "BinaryDataByteOrderMSB = False",
             "CompressedData = False",
             f"TransformMatrix = {numbers(direction.T.reshape(-1))}",
             f"Offset = {numbers(origin)}",
             "CenterOfRotation = 0 0 0",
             f"AnatomicalOrientation = {''.join(letters)}",
             f"ElementSpacing = {numbers(spacing)}",
             f"DimSize = {shape[2]} {shape[1]} {shape[0]}",
             f"ElementType = {_META_NAME[numpy.dtype(dtype).newbyteorder('=')]}",
             f"ElementDataFile = {data_file or 'LOCAL'}"]
    return "\n".join(lines) + "\n"
