"""The scan's row cache: validated rows of a file stream as binary values on disk.

A file stream's scan parses every row once to validate it; with the cache it also appends
the rows, in the stream's dtype, to two unnamed temporary files (features and target), and
epochs read their chunks back with one positioned read each instead of parsing the file
again (the idea of Vowpal Wabbit's cache file). The files have no name from the start, so
the operating system removes them when they are closed or the process ends, even by a
kill. Any write error (a full disk) drops the cache and the stream reads the file again.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

from ..errors import DataError, ParameterError


def check_cache_args(cache, cache_dir) -> tuple[bool, str | None]:
    if not isinstance(cache, (bool, np.bool_)):
        raise ParameterError(f"cache must be True or False, got {cache!r}")
    if cache_dir is not None:
        cache_dir = os.fspath(cache_dir)
        if not os.path.isdir(cache_dir):
            raise ParameterError(f"cache_dir must be an existing folder, got {cache_dir!r}")
    return bool(cache), cache_dir


class RowCache:
    """Append-only rows ``(X, y)`` in unnamed temporary files; ``read_into`` by row index."""

    def __init__(self, n_features: int, dtype: np.dtype, folder: str | None):
        self.n_features = n_features
        self.dtype = np.dtype(dtype)
        self.rows = 0
        self._files = tuple(tempfile.TemporaryFile(dir=folder, prefix="gdlab-cache-",
                                                   buffering=0) for _ in range(2))

    @classmethod
    def open(cls, n_features: int, dtype, folder: str | None) -> "RowCache | None":
        try:
            return cls(n_features, dtype, folder)
        except OSError:
            return None

    def append(self, X: np.ndarray, y: np.ndarray) -> bool:
        """Add rows; ``False`` (and the cache closed) if they could not be written."""
        try:
            _write_all(self._files[0], np.ascontiguousarray(X, dtype=self.dtype))
            _write_all(self._files[1], np.ascontiguousarray(y, dtype=self.dtype))
        except OSError:
            self.close()
            return False
        self.rows += len(y)
        return True

    def read_into(self, start: int, X: np.ndarray, y: np.ndarray, source: str) -> None:
        """Rows ``start .. start + len(y) - 1`` into the C-contiguous ``X`` and ``y``."""
        for fh, out, width in ((self._files[0], X, self.n_features), (self._files[1], y, 1)):
            view = out.data.cast("B")
            if os.preadv(fh.fileno(), [view], start * width * out.itemsize) != view.nbytes:
                raise DataError("the cache file of the scan is incomplete; open the stream "
                                "again", file=source)

    def close(self) -> None:
        for fh in self._files:
            try:
                fh.close()
            except OSError:
                pass  # unwritten bytes of a full disk: the file is gone anyway


def _write_all(fh, a: np.ndarray) -> None:
    """Write the bytes of ``a``; an error (e.g. a full disk) raises OSError at once
    (``ndarray.tofile`` can lose the error of a buffered tail)."""
    view = a.data.cast("B")
    while len(view):
        n = fh.write(view)
        if not n:
            raise OSError("no bytes written")
        view = view[n:]
