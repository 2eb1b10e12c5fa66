"""Parquet files streamed row group by row group with pyarrow."""

from __future__ import annotations

import os

import numpy as np

from ..errors import DataError
from . import _order
from ._cache import check_cache_args
from ._files import (
                     LabelCodes,
                     check_column_count,
                     check_dtype,
                     check_path,
                     is_text_type,
                     select_columns,
)
from .standardize import RunningStats
from .stream import ScannedStream


class ParquetStream(ScannedStream):
    """Batches from a Parquet file; selected feature columns must be integer, float or
    boolean, the target too or text (class labels, see ``labels`` of
    :class:`~gdlab.data.CSVStream`; a text column always holds labels here).

    ``scan()`` (run by default at construction) reads each row group once, one
    column at a time, to refuse nulls and NaN/inf (naming row and column) and to
    compute column statistics.

    ``cache`` and ``cache_dir``: as for :class:`~gdlab.data.CSVStream`, the scan keeps
    the decoded rows in an unnamed temporary file that the epochs read (no decoding,
    decompression or type conversion after the scan). ``chunk_rows`` then defaults to
    about 2 MiB of values, as for CSV. Without the cache it defaults to the rows of the
    first row group, so with uniformly sized row groups every chunk is one row group
    (other sizes work too: a chunk reads the row groups it overlaps).
    Memory: ``buffer_chunks`` chunks plus one column of a row group.
    ``test_fraction`` and ``moments``: see :class:`~gdlab.data.stream.ScannedStream`.
    A damaged file (bytes that do not decode) is refused with the row group it is in.
    """

    def __init__(self, path, target: str | None = None, features: list[str] | None = None,
                 batch_size: int | None = None, shuffle: bool = True, seed: int = 0,
                 chunk_rows: int | None = None, buffer_chunks: int = 4, dtype=np.float64, *,
                 standardizer=None, scan: bool = True, cache: bool = True,
                 cache_dir: str | None = None, test_fraction: float | None = None,
                 moments: bool = False):
        import pyarrow as pa
        import pyarrow.parquet as pq
        self.path = check_path(path)
        self.dtype = check_dtype(dtype)
        self._init_order(batch_size, shuffle, seed, buffer_chunks, standardizer)
        self._init_options(test_fraction, moments)
        try:
            pf = pq.ParquetFile(self.path)
            schema = pf.schema_arrow
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"not a readable Parquet file ({exc})", file=self.path) from None
        check_column_count(len(schema.names), self.path)
        self.columns = list(schema.names)
        self.feature_names, self.target_name, positions, target_pos = select_columns(
            self.columns, target, features, self.path)
        self._positions = positions + [target_pos]
        self.n_features = len(self.feature_names)
        for name in self.feature_names + [self.target_name]:
            t = schema.field(name).type
            if name == self.target_name and is_text_type(t):
                self._labels = LabelCodes(self.path, name)
            elif not (pa.types.is_integer(t) or pa.types.is_floating(t)
                      or pa.types.is_boolean(t)):
                raise DataError(f"column has type {t}, which is not numeric (integer, float or "
                                f"boolean columns only)", file=self.path, column=name)
        md = pf.metadata
        self.n_samples = int(md.num_rows)
        if self.n_samples == 0:
            raise DataError("no data rows", file=self.path)
        rg_rows = [md.row_group(i).num_rows for i in range(md.num_row_groups)]
        self._rg_starts = np.concatenate(([0], np.cumsum(rg_rows))).astype(np.int64)
        self.cache, self.cache_dir = check_cache_args(cache, cache_dir)
        if chunk_rows is None:
            chunk_rows = (_order.default_chunk_rows(self.n_features + 1) if self.cache
                          else max(rg_rows[0], 1))
        self.chunk_rows = _order.check_int(chunk_rows, "chunk_rows", 1)
        self._bounds_cache = _order.chunk_starts(self.n_samples, self.chunk_rows)
        self._pf = pf
        self._feature_stats: RunningStats | None = None
        self._target_stats: RunningStats | None = None
        st = os.stat(self.path)
        self._stamp = (st.st_size, st.st_mtime_ns)
        self._scanned = False
        if scan:
            self.scan()

    def close(self):
        """Delete the row cache and close the file."""
        super().close()
        self._pf.close()

    # -- reading -----------------------------------------------------------------
    def _columns_into(self, a: int, b: int, X: np.ndarray, y: np.ndarray,
                      check: bool = False) -> bool:
        """Rows a..b-1 into ``X`` and ``y``, decoded one column of one row group at a time
        (so at most one column's table is held besides the result). With ``check``, stops
        and returns False at the first column holding a null."""
        names = self.feature_names + [self.target_name]
        g0 = int(np.searchsorted(self._rg_starts, a, side="right")) - 1
        g1 = int(np.searchsorted(self._rg_starts, b, side="left"))
        for g in range(g0, g1):
            ga, gb = int(self._rg_starts[g]), int(self._rg_starts[g + 1])
            lo, hi = max(a, ga), min(b, gb)
            for j, name in enumerate(names):
                col = self._read_group(g, [name]).column(0)
                if lo > ga or hi < gb:
                    col = col.slice(lo - ga, hi - lo)
                if check and col.null_count:
                    return False
                if j < self.n_features:
                    X[lo - a:hi - a, j] = col.to_numpy()
                elif self._labels is not None:
                    y[lo - a:hi - a] = self._labels.encode(col)
                else:
                    y[lo - a:hi - a] = col.to_numpy()
        return True

    def _read_group(self, g: int | list[int], columns: list[str]):
        """Columns of row group ``g`` (or of a list of them) as a Table; a damaged file is a
        DataError that names the rows."""
        import pyarrow as pa
        groups = [g] if isinstance(g, int) else g
        try:
            if isinstance(g, int):
                return self._pf.read_row_group(g, columns=columns)
            return self._pf.read_row_groups(g, columns=columns)
        except (pa.ArrowException, OSError) as exc:
            a, b = int(self._rg_starts[groups[0]]), int(self._rg_starts[groups[-1] + 1])
            raise DataError(f"the file is damaged: row group {groups[0] + 1} (rows {a + 1} to "
                            f"{b}) cannot be decoded ({' '.join(str(exc).split())})",
                            file=self.path) from None

    def _table_rows(self, a: int, b: int):
        """Rows a..b-1 of the selected columns as a pyarrow Table (to name a bad cell)."""
        g0 = int(np.searchsorted(self._rg_starts, a, side="right")) - 1
        g1 = int(np.searchsorted(self._rg_starts, b, side="left"))
        table = self._read_group(list(range(g0, g1)), self.feature_names + [self.target_name])
        off = a - int(self._rg_starts[g0])
        if off or table.num_rows != b - a:
            table = table.slice(off, b - a)
        return table

    def _to_numpy(self, table, dtype):
        m = table.num_rows
        X = np.empty((m, self.n_features), dtype=dtype)
        for j, name in enumerate(self.feature_names):
            X[:, j] = table.column(name).to_numpy()
        if self._labels is not None:
            y = self._labels.encode(table.column(self.target_name)).astype(dtype)
        else:
            y = np.asarray(table.column(self.target_name).to_numpy(), dtype=dtype)
        return X, y

    def scan(self) -> "ParquetStream":
        """Validate every value and compute column statistics, one row group at a time."""
        parts = self._scan_parts()
        cells = list(zip(self._positions, self.feature_names + [self.target_name]))
        folder = self._folder(parts)
        try:
            for g in range(len(self._rg_starts) - 1):
                a, b = int(self._rg_starts[g]), int(self._rg_starts[g + 1])
                if a == b:
                    continue
                X = np.empty((b - a, self.n_features))
                y = np.empty(b - a)
                clean = self._columns_into(a, b, X, y, check=True)
                with np.errstate(over="ignore", invalid="ignore"):
                    clean = clean and np.isfinite(X.sum() + y.sum())
                if not clean:  # name the first bad cell (or accept finite values whose sum
                    # overflowed)
                    X, y = self._validated(self._table_rows(a, b), a, cells,
                                           "missing value (null)")
                folder.add(X, y)
        except BaseException:
            folder.abandon()
            raise
        self._row_cache = folder.finish()
        self._finish_parts(parts)
        self._scanned = True
        return self

    # -- BatchStream hooks ----------------------------------------------------------
    def _check_ready(self):
        st = os.stat(self.path)
        if (st.st_size, st.st_mtime_ns) != self._stamp:
            raise DataError("the file changed since it was opened; open the stream again",
                            file=self.path)
        if not self._scanned:
            self.scan()

    def _bounds(self):
        return self._bounds_cache

    def _read_file_chunk(self, k: int):
        a, b = int(self._bounds_cache[k]), int(self._bounds_cache[k + 1])
        X = np.empty((b - a, self.n_features), dtype=self.dtype)
        y = np.empty(b - a, dtype=self.dtype)
        self._columns_into(a, b, X, y)
        return X, y

