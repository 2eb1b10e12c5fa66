"""CSV files streamed in bounded memory with pyarrow.

``scan()`` reads the file once, in blocks of whole lines: it counts the data
rows, records the byte offset of the first row of every chunk, validates every
selected value (numeric, not empty, finite; every row with the header's number
of fields) and accumulates per-column mean/std.  An epoch holds at most
``buffer_chunks`` chunks in memory.

With ``cache=True`` (the default) the scan also writes the parsed values, in the
stream's dtype, to an unnamed temporary file (:mod:`gdlab.data._cache`), and epochs
read their chunks from it as binary rows: the text is parsed once. It takes
``rows × (features + 1) × itemsize`` bytes of disk (about 40 % of a CSV of float64
values written in full precision); a full disk drops it. Without the cache a chunk
is read by seeking to its byte offset and parsing just its bytes.

Limits: line breaks inside quoted fields are refused, as are lone carriage
returns (old Mac line endings); empty lines are skipped (they are not rows).
Row numbers in errors count data rows from 1, the header excluded.
"""

from __future__ import annotations

import csv as _pycsv
import os

import numpy as np

from ..errors import DataError, ParameterError
from . import _order
from ._cache import check_cache_args
from ._files import check_dtype, check_path, select_columns
from .standardize import RunningStats
from .stream import ScannedStream

# bytes read per scan step: 2 MiB (pyarrow parses 1.2x slower at 1 MiB, no faster at 4)
_SCAN_BLOCK = 1 << 21
_MAX_LINE = 64 << 20           # refuse lines longer than this (bytes)
_NL, _CR, _QUOTE = 10, 13, 34


class CSVStream(ScannedStream):
    """Batches from a CSV file with a header line; every selected column must be numeric.

    Parameters
    ----------
    path : str or path-like
    target : str
        Name of the target column.
    features : list of str, optional
        Feature columns in the order wanted; default: all columns but the target,
        in file order.  Other columns are never converted (they may hold text).
    batch_size, shuffle, seed, chunk_rows, buffer_chunks, standardizer
        See :class:`BatchStream`. ``chunk_rows`` defaults to about 2 MiB of values
        (a multiple of 1,024 rows, at least 1,024): 12,288 rows for 21 columns.
    dtype : numpy.float64 or numpy.float32
        dtype of the batches (values are parsed as float64).
    delimiter : str
        One character; ``","`` by default.
    scan : bool
        Scan now (default) or at the first use.
    cache : bool
        Keep the scan's parsed values in a temporary binary file for the epochs
        (default; see the module docstring) or parse the text again every epoch.
    cache_dir : str, optional
        Folder of the temporary file (default: the system's temporary folder).
    """

    def __init__(self, path, target: str | None = None, features: list[str] | None = None,
                 batch_size: int | None = None, shuffle: bool = True, seed: int = 0,
                 chunk_rows: int | None = None, buffer_chunks: int = 4, dtype=np.float64, *,
                 delimiter: str = ",", standardizer=None, scan: bool = True,
                 cache: bool = True, cache_dir: str | None = None):
        self.path = check_path(path)
        if self.path.lower().endswith((".gz", ".bz2", ".xz", ".zst", ".zip")):
            raise ParameterError(f"{self.path}: compressed CSV cannot be read by byte offset; "
                                 "decompress it first")
        if not (isinstance(delimiter, str) and len(delimiter) == 1 and delimiter not in "\r\n\""):
            raise ParameterError(f"delimiter must be one character (not a quote or line "
                                 f"break), got {delimiter!r}")
        self.delimiter = delimiter
        self.dtype = check_dtype(dtype)
        self._init_order(batch_size, shuffle, seed, buffer_chunks, standardizer)
        self.columns, self._data_offset = self._read_header()
        self.feature_names, self.target_name = select_columns(
            self.columns, target, features, self.path)
        self.n_features = len(self.feature_names)
        if chunk_rows is None:
            chunk_rows = _order.default_chunk_rows(self.n_features + 1)
        self.chunk_rows = _order.check_int(chunk_rows, "chunk_rows", 1)
        # pyarrow gets positional column names, so odd or duplicate header names are harmless
        self._arrow_names = [f"c{j}" for j in range(len(self.columns))]
        self._feature_cols = [f"c{self.columns.index(c)}" for c in self.feature_names]
        self._target_col = f"c{self.columns.index(self.target_name)}"
        self.n_samples: int | None = None
        self._offsets: np.ndarray | None = None
        self._bounds_cache: np.ndarray | None = None
        self._feature_stats: RunningStats | None = None
        self._target_stats: RunningStats | None = None
        self._stamp: tuple[int, int] | None = None
        self.cache, self.cache_dir = check_cache_args(cache, cache_dir)
        if scan:
            self.scan()

    # -- header ---------------------------------------------------------------
    def _read_header(self) -> tuple[list[str], int]:
        head = b""
        with open(self.path, "rb") as f:
            while b"\n" not in head:
                block = f.read(1 << 16)
                if not block:
                    break
                head += block
                if len(head) > _MAX_LINE:
                    raise DataError(f"header line longer than {_MAX_LINE} bytes", file=self.path)
        if not head.strip():
            raise DataError("file is empty: no header line and no rows", file=self.path)
        nl = head.find(b"\n")
        line = head[:nl] if nl >= 0 else head
        data_offset = nl + 1 if nl >= 0 else len(head)
        if line.startswith(b"\xef\xbb\xbf"):
            line = line[3:]
        line = line.rstrip(b"\r")
        if not line.strip():
            raise DataError("the first line is empty; expected a header line with column names",
                            file=self.path)
        if b"\r" in line:
            raise DataError("lone carriage return (\\r) in the header line: convert the file "
                            "to \\n or \\r\\n line endings", file=self.path)
        if line.count(b'"') % 2:
            raise DataError("unbalanced quote in the header line (line breaks inside quoted "
                            "fields are not supported)", file=self.path)
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(f"header line is not valid UTF-8 ({exc})", file=self.path) from None
        names = [n.strip() for n in next(_pycsv.reader([text], delimiter=self.delimiter))]
        return names, data_offset

    # -- pyarrow parsing --------------------------------------------------------
    def _parse(self, data: bytes | memoryview, selected: list[str] | None = None):
        import pyarrow as pa
        import pyarrow.csv as pacsv
        if selected is None:
            selected = self._feature_cols + [self._target_col]
        return pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(column_names=self._arrow_names),
            parse_options=pacsv.ParseOptions(delimiter=self.delimiter),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.float64() for c in selected}, include_columns=selected,
                null_values=[""], strings_can_be_null=False, quoted_strings_can_be_null=True))

    def _to_numpy(self, table, dtype) -> tuple[np.ndarray, np.ndarray]:
        m = table.num_rows
        X = np.empty((m, self.n_features), dtype=dtype)
        for j, c in enumerate(self._feature_cols):
            _fill(X[:, j], table.column(c))
        y = np.empty(m, dtype=dtype)
        _fill(y, table.column(self._target_col))
        return X, y

    def _parse_fails(self, data: bytes, selected: list[str] | None = None) -> bool:
        import pyarrow as pa
        try:
            self._parse(data, selected)
        except pa.ArrowInvalid:
            return True
        return False

    # -- scan -------------------------------------------------------------------
    def scan(self) -> "CSVStream":
        """Validate the whole file, count rows, index chunk offsets, compute column stats
        (and fill the cache)."""
        st = os.stat(self.path)
        offsets: list[int] = []
        fstats = RunningStats(self.n_features)
        tstats = RunningStats(1)
        rows = 0
        folder = self._folder(fstats, tstats)
        buf = bytearray(_SCAN_BLOCK)
        try:
            rows = self._scan_file(buf, offsets, folder)
        except BaseException:
            folder.abandon()
            raise
        cache = folder.finish()
        if rows == 0:
            if cache is not None:
                cache.close()
            raise DataError("no data rows: the file has only a header line", file=self.path)
        self.n_samples = rows
        self._offsets = np.array(offsets + [st.st_size], dtype=np.int64)
        self._bounds_cache = _order.chunk_starts(rows, self.chunk_rows)
        self._feature_stats, self._target_stats = fstats, tstats
        self._stamp = (st.st_size, st.st_mtime_ns)
        self._row_cache = cache
        return self

    def _scan_file(self, buf: bytearray, offsets: list, folder) -> int:
        """Read the file in blocks of whole lines and scan each; returns the row count."""
        rows = 0
        with open(self.path, "rb") as f:
            f.seek(self._data_offset)
            seg_offset = self._data_offset
            have = 0  # bytes at the front of buf: the unfinished line of the last block
            while True:
                if len(buf) - have < _SCAN_BLOCK // 2:  # a long line: room for more of it
                    if have > _MAX_LINE:
                        raise DataError(f"a line longer than {_MAX_LINE} bytes",
                                        file=self.path, row=rows + 1)
                    buf = buf + bytes(len(buf))  # a new object: pyarrow may still hold the old
                got = f.readinto(memoryview(buf)[have:])
                end = have + got
                cut = end if not got else buf.rfind(b"\n", 0, end) + 1
                if cut:
                    rows += self._scan_segment(buf, cut, seg_offset, rows, offsets, folder)
                    seg_offset += cut
                    buf[:end - cut] = buf[cut:end]
                have = end - cut
                if not got:
                    break
        return rows

    def _scan_segment(self, buf: bytearray, cut: int, base: int, rows_before: int,
                      offsets: list, folder) -> int:
        """Scan the whole lines ``buf[:cut]`` (their values go to ``folder``); returns the
        number of rows."""
        starts, ends = self._line_bounds(buf, cut, rows_before)
        m = len(starts)
        if m == 0:
            return 0
        first = (-rows_before) % self.chunk_rows  # lines that start a chunk: first, +chunk_rows...
        offsets.extend((base + starts[first::self.chunk_rows]).tolist())
        import pyarrow as pa
        try:
            table = self._parse(memoryview(buf)[:cut])
        except pa.ArrowInvalid as exc:
            self._locate_error(bytes(buf[:cut]), starts, ends, rows_before, exc)
            raise  # _locate_error always raises; keep linters calm
        if table.num_rows != m:
            raise DataError(f"pyarrow found {table.num_rows} rows where gdlab counted {m} lines "
                            f"(rows {rows_before + 1}..{rows_before + m}); quoted line breaks "
                            f"are not supported", file=self.path)
        X, y = self._validated(table, rows_before,
                               [(int(c[1:]), c) for c in self._feature_cols + [self._target_col]],
                               "empty cell (missing value)")
        del table
        folder.add(X, y)
        return m

    def _line_bounds(self, buf, cut: int, rows_before: int) -> tuple[np.ndarray, np.ndarray]:
        """Start/end (exclusive, before any \\r\\n) of the non-empty lines of ``buf[:cut]``."""
        arr = np.frombuffer(buf, dtype=np.uint8, count=cut)
        nl = np.flatnonzero(arr == _NL)
        starts = np.concatenate(([0], nl + 1))
        ends = np.concatenate((nl, [cut]))
        has_cr = buf.find(b"\r", 0, cut) >= 0
        if has_cr:
            last = np.maximum(ends - 1, 0)
            ends = ends - ((ends > starts) & (arr[last] == _CR))
        keep = ends > starts
        starts, ends = starts[keep], ends[keep]
        if has_cr:
            cr = np.flatnonzero(arr == _CR)
            lone = cr[(cr + 1 < len(arr)) & (arr[np.minimum(cr + 1, len(arr) - 1)] != _NL)]
            if len(lone):
                i = int(np.searchsorted(starts, lone[0], side="right")) - 1
                raise DataError("lone carriage return (\\r) inside a line: convert the file to "
                                "\\n or \\r\\n line endings", file=self.path,
                                row=rows_before + i + 1)
        if buf.find(b'"', 0, cut) >= 0:
            q = np.flatnonzero(arr == _QUOTE)
            counts = np.searchsorted(q, ends) - np.searchsorted(q, starts)
            odd = np.flatnonzero(counts % 2)
            if len(odd):
                raise DataError("unbalanced quote: a quoted field spans a line break, which "
                                "gdlab's CSV reader does not support",
                                file=self.path, row=rows_before + int(odd[0]) + 1)
        return starts, ends

    def _locate_error(self, seg: bytes, starts, ends, rows_before: int, exc):
        """Bisect to the first line pyarrow refuses, then name its row and column."""
        m = len(starts)

        def piece(a, b):  # lines a..b-1
            return seg[starts[a]:(starts[b] if b < m else len(seg))]

        lo, hi = 0, m
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self._parse_fails(piece(lo, mid)):
                hi = mid
            else:
                lo = mid
        row = rows_before + lo + 1
        line = seg[starts[lo]:ends[lo]]
        text = line.decode("utf-8", errors="replace")
        try:
            fields = next(_pycsv.reader([text], delimiter=self.delimiter))
        except _pycsv.Error:
            fields = None
        if fields is not None and len(fields) != len(self.columns):
            raise DataError(f"expected {len(self.columns)} fields as in the header, found "
                            f"{len(fields)} (ragged row)", file=self.path, row=row)
        line_nl = piece(lo, lo + 1)
        for pos in sorted(int(c[1:]) for c in self._feature_cols + [self._target_col]):
            if self._parse_fails(line_nl, [f"c{pos}"]):
                value = fields[pos] if fields is not None else "?"
                raise DataError(f"not a number: {value!r}", file=self.path, row=row,
                                column=self.columns[pos])
        raise DataError(f"could not parse the row: {exc}", file=self.path, row=row)

    # -- BatchStream hooks --------------------------------------------------------
    def _check_ready(self):
        if self._offsets is None:
            self.scan()
            return
        st = os.stat(self.path)
        if (st.st_size, st.st_mtime_ns) != self._stamp:
            raise DataError("the file changed since it was scanned; open the stream again",
                            file=self.path)

    def _bounds(self):
        if self._bounds_cache is None:
            self.scan()
        return self._bounds_cache

    def _read_file_chunk(self, k: int):
        assert self._offsets is not None and self._bounds_cache is not None  # set by the scan
        a, b = int(self._offsets[k]), int(self._offsets[k + 1])
        with open(self.path, "rb") as f:
            f.seek(a)
            data = f.read(b - a)
        expected = int(self._bounds_cache[k + 1] - self._bounds_cache[k])
        import pyarrow as pa
        try:
            table = self._parse(data)
        except pa.ArrowInvalid as exc:
            raise DataError(f"the file changed since it was scanned ({exc}); open the stream "
                            f"again", file=self.path) from None
        if table.num_rows != expected:
            raise DataError("the file changed since it was scanned; open the stream again",
                            file=self.path)
        return self._to_numpy(table, self.dtype)


def _fill(out: np.ndarray, column) -> None:
    """Copy a pyarrow ChunkedArray (float64, no nulls) into the 1-D view ``out``."""
    i = 0
    for chunk in column.chunks:
        n = len(chunk)
        out[i:i + n] = chunk.to_numpy(zero_copy_only=False)
        i += n
