"""Parquet files streamed row group by row group with pyarrow."""

from __future__ import annotations

import os

import numpy as np

from ..errors import DataError
from . import _order
from ._files import check_dtype, check_path, select_columns
from .standardize import RunningStats
from .stream import ScannedStream


class ParquetStream(ScannedStream):
    """Batches from a Parquet file; selected columns must be integer, float or boolean.

    ``chunk_rows`` defaults to the number of rows of the first row group, so
    with uniformly sized row groups (the usual ``row_group_size=...`` when
    writing) every chunk is one row group and is read with one random access.
    Other chunk sizes work too: a chunk then reads the row groups it overlaps.
    ``scan()`` (run by default at construction) reads each row group once to
    refuse nulls and NaN/inf (naming row and column) and to compute column
    statistics.  Memory: ``buffer_chunks`` chunks plus one row group.
    """

    def __init__(self, path, target: str | None = None, features: list[str] | None = None,
                 batch_size: int | None = None, shuffle: bool = True, seed: int = 0,
                 chunk_rows: int | None = None, buffer_chunks: int = 4, dtype=np.float64, *,
                 standardizer=None, scan: bool = True):
        import pyarrow as pa
        import pyarrow.parquet as pq
        self.path = check_path(path)
        self.dtype = check_dtype(dtype)
        self._init_order(batch_size, shuffle, seed, buffer_chunks, standardizer)
        try:
            pf = pq.ParquetFile(self.path)
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"not a readable Parquet file ({exc})", file=self.path) from None
        schema = pf.schema_arrow
        self.columns = list(schema.names)
        self.feature_names, self.target_name = select_columns(
            self.columns, target, features, self.path)
        self.n_features = len(self.feature_names)
        for name in self.feature_names + [self.target_name]:
            t = schema.field(name).type
            if not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)):
                raise DataError(f"column has type {t}, which is not numeric (integer, float or "
                                f"boolean columns only)", file=self.path, column=name)
        md = pf.metadata
        self.n_samples = int(md.num_rows)
        if self.n_samples == 0:
            raise DataError("no data rows", file=self.path)
        rg_rows = [md.row_group(i).num_rows for i in range(md.num_row_groups)]
        self._rg_starts = np.concatenate(([0], np.cumsum(rg_rows))).astype(np.int64)
        if chunk_rows is None:
            chunk_rows = max(rg_rows[0], 1)
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
        self._pf.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- reading -----------------------------------------------------------------
    def _table_rows(self, a: int, b: int):
        """Rows a..b-1 of the selected columns as a pyarrow Table."""
        g0 = int(np.searchsorted(self._rg_starts, a, side="right")) - 1
        g1 = int(np.searchsorted(self._rg_starts, b, side="left"))
        table = self._pf.read_row_groups(list(range(g0, g1)),
                                         columns=self.feature_names + [self.target_name])
        off = a - int(self._rg_starts[g0])
        if off or table.num_rows != b - a:
            table = table.slice(off, b - a)
        return table

    def _to_numpy(self, table, dtype):
        m = table.num_rows
        X = np.empty((m, self.n_features), dtype=dtype)
        for j, name in enumerate(self.feature_names):
            X[:, j] = table.column(name).to_numpy()
        y = np.asarray(table.column(self.target_name).to_numpy(), dtype=dtype)
        return X, y

    def scan(self) -> "ParquetStream":
        """Validate every value and compute column statistics, one row group at a time."""
        fstats = RunningStats(self.n_features)
        tstats = RunningStats(1)
        cells = [(self.columns.index(n), n) for n in self.feature_names + [self.target_name]]
        for g in range(len(self._rg_starts) - 1):
            a, b = int(self._rg_starts[g]), int(self._rg_starts[g + 1])
            if a == b:
                continue
            X, y = self._validated(self._table_rows(a, b), a, cells, "missing value (null)")
            fstats.update(X)
            tstats.update(y[:, None])
        self._feature_stats, self._target_stats = fstats, tstats
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

    def _read_chunk(self, k: int):
        a, b = int(self._bounds_cache[k]), int(self._bounds_cache[k + 1])
        return self._to_numpy(self._table_rows(a, b), self.dtype)

