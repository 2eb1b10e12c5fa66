"""The IDX format of the MNIST files (plain or gzip-compressed).

Layout: two zero bytes, a dtype code, the number of dimensions ``ndim``, then
``ndim`` big-endian uint32 sizes, then the values in C order, big-endian.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib

import numpy as np

from ..errors import DataError, ParameterError
from ._files import nonfinite_kind

_CODES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_GZIP_MAGIC = b"\x1f\x8b"
#: deflate expands data at most about 1032 times: a gzip file declaring more is damaged
_MAX_GZIP_RATIO = 1100
_READ_BLOCK = 16 << 20


def _open(path: str):
    with open(path, "rb") as f:
        magic = f.read(2)
    return gzip.open(path, "rb") if magic == _GZIP_MAGIC else open(path, "rb")


def _read_exact(f, n: int, path: str, what: str) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise DataError(f"truncated IDX file: expected {n} bytes of {what}, found {len(data)}",
                        file=path)
    return data


def read_idx(path) -> np.ndarray:
    """Read an IDX file (``.gz`` or plain, detected by content) into a native-endian array.

    The dimensions in the header are checked against the size of the file before any
    data is read, so a damaged header declaring huge sizes is refused at once.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DataError("file not found", file=str(path))
    try:
        with _open(path) as f:
            dtype, dims = _read_head(f, path)
            n_bytes = math.prod(dims) * dtype.itemsize  # exact: Python integers
            _check_size(path, n_bytes, dims, 4 + 4 * len(dims),
                        compressed=isinstance(f, gzip.GzipFile))
            data = _read_data(f, n_bytes, path)
            if f.read(1):
                raise DataError(f"invalid IDX file: extra bytes after the {n_bytes} bytes of "
                                f"data for dimensions {dims}", file=path)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise DataError(f"corrupt or truncated gzip data ({exc})", file=path) from None
    return np.frombuffer(data, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


def _read_head(f, path: str) -> tuple[np.dtype, tuple[int, ...]]:
    """The dtype and the dimensions of an IDX header."""
    head = _read_exact(f, 4, path, "header")
    if head[0] != 0 or head[1] != 0:
        raise DataError(f"not an IDX file: the magic number must start with two zero "
                        f"bytes, found {head[:2].hex()}", file=path)
    if head[2] not in _CODES:
        raise DataError(f"not an IDX file: unknown dtype code 0x{head[2]:02X} (known: "
                        f"{', '.join(f'0x{c:02X}' for c in _CODES)})", file=path)
    dtype, ndim = _CODES[head[2]], head[3]
    if ndim == 0:
        raise DataError("not an IDX file: 0 dimensions", file=path)
    dims = tuple(int(d) for d in np.frombuffer(
        _read_exact(f, 4 * ndim, path, "dimension sizes"), dtype=">u4"))
    return dtype, dims


def _check_size(path: str, n_bytes: int, dims: tuple[int, ...], header: int,
                compressed: bool) -> None:
    """Refuse dimensions that need more data than the file can hold."""
    size = os.path.getsize(path)
    if compressed:
        if n_bytes > _MAX_GZIP_RATIO * size:
            raise DataError(f"damaged IDX header: dimensions {dims} need {n_bytes:,} bytes "
                            f"of data, more than a {size:,}-byte gzip file can hold",
                            file=path)
    elif n_bytes > size - header:
        raise DataError(f"truncated IDX file: dimensions {dims} need {n_bytes:,} bytes of "
                        f"data, the file has {max(size - header, 0):,}", file=path)


def _read_data(f, n_bytes: int, path: str) -> bytes:
    """``n_bytes`` of data, read in blocks (a gzip stream may end early)."""
    if n_bytes <= _READ_BLOCK:
        return _read_exact(f, n_bytes, path, "data")
    parts, got = [], 0
    while got < n_bytes:
        block = f.read(min(_READ_BLOCK, n_bytes - got))
        if not block:
            raise DataError(f"truncated IDX file: expected {n_bytes} bytes of data, found "
                            f"{got}", file=path)
        parts.append(block)
        got += len(block)
    return b"".join(parts)


def write_idx(path, array) -> None:
    """Write ``array`` as IDX (gzip-compressed when ``path`` ends with ``.gz``)."""
    a = np.asarray(array)
    codes = {v.newbyteorder("=") if v.itemsize > 1 else v: k for k, v in _CODES.items()}
    code = codes.get(a.dtype.newbyteorder("=") if a.dtype.itemsize > 1 else a.dtype)
    if code is None:
        raise ParameterError(f"IDX cannot store dtype {a.dtype} (uint8, int8, int16, int32, "
                             f"float32, float64 only)")
    if a.ndim == 0 or a.ndim > 255:
        raise ParameterError("IDX needs 1 to 255 dimensions")
    header = bytes([0, 0, code, a.ndim]) + np.asarray(a.shape, dtype=">u4").tobytes()
    body = np.ascontiguousarray(a, dtype=_CODES[code]).tobytes()
    opener = gzip.open if os.fspath(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header + body)


def load_idx_pair(images_path, labels_path, dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-style images and labels → ``X`` (n, pixels) and ``y`` (n,).

    Images of shape (n, rows, cols) are flattened to (n, rows*cols); ubyte
    images are scaled to [0, 1].  Labels become int64.
    """
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if labels.ndim != 1:
        raise DataError(f"labels must be 1-D, got shape {labels.shape}", file=str(labels_path))
    if len(images) != len(labels):
        raise DataError(f"{len(images)} images but {len(labels)} labels in "
                        f"{os.fspath(labels_path)}", file=str(images_path))
    X = images.reshape(len(images), -1).astype(dtype)
    if images.dtype == np.uint8:
        X /= 255.0
    y = labels.astype(np.int64) if labels.dtype.kind in "iu" else labels
    _check_finite(X, str(images_path), "image")
    _check_finite(y.reshape(len(y), 1), str(labels_path), "label")
    return X, y


def _check_finite(a: np.ndarray, path: str, what: str) -> None:
    """Refuse NaN and infinities in float images or labels, naming the file and the item."""
    if a.dtype.kind != "f":
        return
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(a.sum()):
            return
    bad = np.argwhere(~np.isfinite(a))
    if not len(bad):
        return
    i, j = (int(v) for v in bad[0])
    where = f"{what} {i + 1}" + (f", value {j + 1}" if a.shape[1] > 1 else "")
    raise DataError(f"{where} is {nonfinite_kind(float(a[i, j]))}", file=path, row=i + 1,
                    column=f"x{j + 1}" if a.shape[1] > 1 else None)
