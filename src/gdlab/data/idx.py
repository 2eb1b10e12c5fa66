"""The IDX format of the MNIST files (plain or gzip-compressed).

Layout: two zero bytes, a dtype code, the number of dimensions ``ndim``, then
``ndim`` big-endian uint32 sizes, then the values in C order, big-endian.
"""

from __future__ import annotations

import gzip
import os
import zlib

import numpy as np

from ..errors import DataError, ParameterError

_CODES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_GZIP_MAGIC = b"\x1f\x8b"


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
    """Read an IDX file (``.gz`` or plain, detected by content) into a native-endian array."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DataError("file not found", file=str(path))
    try:
        with _open(path) as f:
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
            n_bytes = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
            data = _read_exact(f, n_bytes, path, "data")
            if f.read(1):
                raise DataError(f"invalid IDX file: extra bytes after the {n_bytes} bytes of "
                                f"data for dimensions {dims}", file=path)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise DataError(f"corrupt or truncated gzip data ({exc})", file=path) from None
    return np.frombuffer(data, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


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
    return X, y
