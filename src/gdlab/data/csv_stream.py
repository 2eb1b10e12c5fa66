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

The delimiter is found by sniffing (``,``, tab, ``;`` or ``|``: the one that splits the
header into two or more fields and the first data lines into as many) unless given.

Limits: line breaks inside quoted fields are refused, as are lone carriage
returns (old Mac line endings); empty lines are skipped (they are not rows); at most
:data:`~gdlab.data._files.MAX_COLUMNS` columns and fields of at most 131,072 characters
in the header. Row numbers in errors count data rows from 1, the header excluded.
"""

from __future__ import annotations

import csv as _pycsv
import os

import numpy as np

from ..errors import DataError, ParameterError
from . import _order
from ._cache import check_cache_args
from ._files import LabelCodes, check_column_count, check_dtype, check_path, select_columns
from ._names import shown
from .standardize import RunningStats
from .stream import ScannedStream

# bytes read per scan step: 2 MiB (pyarrow parses 1.2x slower at 1 MiB, no faster at 4)
_SCAN_BLOCK = 1 << 21
#: ... or room for this many rows of a wide file (each block costs work per column), up to
_BLOCK_ROWS, _MAX_BLOCK = 256, 64 << 20
#: what pyarrow reads as a float (for the detection of text class labels)
_NUMBER = r"^[-+]?(\d+\.?\d*([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?|[iI]nf(inity)?|[nN]a[nN])$"
_MAX_LINE = 64 << 20           # refuse lines longer than this (bytes)
_NL, _CR, _QUOTE = 10, 13, 34
#: delimiters the sniffer tries, in order of preference
DELIMITERS = (",", "\t", ";", "|")
_SNIFF_BYTES = 1 << 16         # data read after the header to sniff the delimiter
_SNIFF_LINES = 20
#: Python's csv module refuses longer fields (``csv.field_size_limit()``)
_MAX_FIELD = 131_072


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
    delimiter : str, optional
        One character; ``None`` (default) sniffs it from the header and the first lines
        (``,``, tab, ``;`` or ``|``).
    labels : bool, optional
        Whether the target column holds text class labels (``"cat"``, ``"dog"``), handed out
        as ``0 .. K-1`` in sorted order with the labels in :attr:`classes`. ``None``
        (default) decides from the first block of rows: text labels when fewer than half of
        its target values are numbers.
    test_fraction : float, optional
        Hold out about this fraction of the rows by a hash of the row index and ``seed``;
        :meth:`split` gives the two parts as streams (see :class:`ScannedStream`).
    moments : bool
        Accumulate the cross-moments for least squares in the scan (see
        :class:`ScannedStream`).
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
                 delimiter: str | None = None, standardizer=None, scan: bool = True,
                 cache: bool = True, cache_dir: str | None = None, labels: bool | None = None,
                 test_fraction: float | None = None, moments: bool = False):
        self.path = check_path(path)
        if self.path.lower().endswith((".gz", ".bz2", ".xz", ".zst", ".zip")):
            raise ParameterError(f"{self.path}: compressed CSV cannot be read by byte offset; "
                                 "decompress it first")
        if delimiter is not None and not (isinstance(delimiter, str) and len(delimiter) == 1
                                          and delimiter not in "\r\n\""):
            raise ParameterError(f"the delimiter must be one character (not a quote or line "
                                 f"break), got {delimiter!r}")
        if labels not in (None, True, False):
            raise ParameterError(f"labels must be None, True or False, got {labels!r}")
        self.dtype = check_dtype(dtype)
        self._init_order(batch_size, shuffle, seed, buffer_chunks, standardizer)
        self._init_options(test_fraction, moments)
        self.columns, self._data_offset, self.delimiter = self._read_header(delimiter)
        self.feature_names, self.target_name, positions, target_pos = select_columns(
            self.columns, target, features, self.path)
        self.n_features = len(self.feature_names)
        if chunk_rows is None:
            chunk_rows = _order.default_chunk_rows(self.n_features + 1)
        self.chunk_rows = _order.check_int(chunk_rows, "chunk_rows", 1)
        # pyarrow gets positional column names, so odd or duplicate header names are harmless
        self._arrow_names = [f"c{j}" for j in range(len(self.columns))]
        self._feature_cols = [f"c{j}" for j in positions]
        self._target_col = f"c{target_pos}"
        self._labels_option = labels
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
    def _read_header(self, delimiter: str | None) -> tuple[list[str], int, str]:
        """The column names, the byte offset of the first data row and the delimiter (the
        given one, or sniffed from the header and the first lines)."""
        line, data_offset, sample = self._head_bytes()
        row_bytes = max(len(line), sample.find(b"\n") + 1)
        self._block = int(min(max(_SCAN_BLOCK, _BLOCK_ROWS * row_bytes), _MAX_BLOCK))
        # pyarrow's own blocks: its default (1 MiB, parsed in parallel) for narrow rows; one
        # block per scan step for wide ones (each block costs work per column)
        self._arrow_block = 1 << 20 if self._block == _SCAN_BLOCK else self._block
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
        if delimiter is None:
            widest = max(DELIMITERS, key=text.count)
            check_column_count(text.count(widest) + 1, self.path, f" (split at {widest!r})")
            delimiter = sniff_delimiter(text, _sample_lines(sample), self.path)
        else:
            check_column_count(text.count(delimiter) + 1, self.path)
        names = [n.strip() for n in _fields(text, delimiter, self.path, "the header line")]
        return names, data_offset, delimiter

    def _head_bytes(self) -> tuple[bytes, int, bytes]:
        """The first line (without its line break), the offset of the line after it, and up
        to :data:`_SNIFF_BYTES` bytes of the lines that follow. Reads blocks into one growing
        buffer and searches only the new block for the line break: linear in the length of
        the line."""
        head = bytearray()
        with open(self.path, "rb") as f:
            while True:
                block = f.read(1 << 16)
                if not block:
                    nl = -1
                    break
                nl = block.find(b"\n")
                if nl >= 0:
                    nl += len(head)
                    head += block
                    break
                head += block
                if len(head) > _MAX_LINE:
                    raise DataError(f"header line longer than {_MAX_LINE} bytes", file=self.path)
            if nl >= 0 and len(head) - nl - 1 < _SNIFF_BYTES:
                head += f.read(_SNIFF_BYTES - (len(head) - nl - 1))
        if not head.strip():
            raise DataError("file is empty: no header line and no rows", file=self.path)
        if nl < 0:
            return bytes(head), len(head), b""
        return bytes(head[:nl]), nl + 1, bytes(head[nl + 1:nl + 1 + _SNIFF_BYTES])

    # -- pyarrow parsing --------------------------------------------------------
    def _parse(self, data: bytes | memoryview, selected: list[str] | None = None,
               text_target: bool | None = None):
        """The selected columns of whole lines as a pyarrow Table: floats, and text for the
        target when it holds class labels (or when ``text_target`` says so)."""
        import pyarrow as pa
        import pyarrow.csv as pacsv
        if selected is None:
            selected = self._feature_cols + [self._target_col]
        if text_target is None:
            text_target = self._labels is not None
        types = {c: pa.float64() for c in selected}
        if text_target and self._target_col in types:
            types[self._target_col] = pa.string()
        return pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(column_names=self._arrow_names,
                                           block_size=self._arrow_block),
            parse_options=pacsv.ParseOptions(delimiter=self.delimiter),
            convert_options=pacsv.ConvertOptions(
                column_types=types, include_columns=selected, null_values=[""],
                strings_can_be_null=True, quoted_strings_can_be_null=True))

    def _to_numpy(self, table, dtype) -> tuple[np.ndarray, np.ndarray]:
        m = table.num_rows
        X = np.empty((m, self.n_features), dtype=dtype)
        for j, c in enumerate(self._feature_cols):
            _fill(X[:, j], table.column(c))
        y = np.empty(m, dtype=dtype)
        if self._labels is not None:
            y[...] = self._labels.encode(table.column(self._target_col))
        else:
            _fill(y, table.column(self._target_col))
        return X, y

    def _detect_labels(self) -> LabelCodes | None:
        """Text class labels in the target column? Decided from the first block of rows:
        yes when fewer than half of its non-empty target values are numbers."""
        if self._labels_option is not None:
            return LabelCodes(self.path, self.target_name) if self._labels_option else None
        import pyarrow as pa
        import pyarrow.compute as pc
        with open(self.path, "rb") as f:
            f.seek(self._data_offset)
            block = f.read(self._block)
        cut = block.rfind(b"\n") + 1 if len(block) == self._block else len(block)
        if not block[:cut].strip():
            return None
        try:
            col = self._parse(block[:cut], [self._target_col], text_target=True).column(0)
        except pa.ArrowInvalid:
            return None  # a structural error: the scan names it
        col = pc.drop_null(pc.utf8_trim_whitespace(col))
        if not len(col):
            return None
        numeric = pc.sum(pc.match_substring_regex(col, _NUMBER)).as_py() or 0
        return LabelCodes(self.path, self.target_name) if numeric < len(col) / 2 else None

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
        self._labels = self._detect_labels()
        parts = self._scan_parts()
        rows = 0
        folder = self._folder(parts)
        buf = bytearray(self._block)
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
        self._finish_parts(parts)
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
                if len(buf) - have < self._block // 2:  # a long line: room for more of it
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
        fields = _split_quiet(text, self.delimiter) if len(text) <= _MAX_LINE else []
        if fields and len(fields) != len(self.columns):
            raise DataError(f"expected {len(self.columns)} fields as in the header, found "
                            f"{len(fields)} (ragged row)", file=self.path, row=row)
        line_nl = piece(lo, lo + 1)
        positions = sorted(int(c[1:]) for c in self._feature_cols + [self._target_col])
        # values Python cannot read as numbers first: one parse for the bad cell, not one
        # per column of a wide file
        suspects = [p for p in positions if fields and not _looks_numeric(fields[p])]
        for pos in suspects + positions:
            if self._parse_fails(line_nl, [f"c{pos}"]):
                value = fields[pos] if fields else "?"
                raise DataError(f"not a number: {shown(value)}{_number_hint(value)}",
                                file=self.path, row=row, column=self.columns[pos])
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


def _fields(text: str, delimiter: str, file: str, where: str) -> list[str]:
    """The fields of one line of text, as Python's csv module reads them; a field longer
    than it allows is refused with a clear message (no quotes: a plain split, no limit)."""
    if '"' not in text:
        fields = text.split(delimiter)
    else:
        try:
            fields = next(_pycsv.reader([text], delimiter=delimiter))
        except _pycsv.Error as exc:
            raise DataError(f"{where} cannot be read as CSV ({exc})", file=file) from None
    longest = max(len(f) for f in fields) if fields else 0
    if longest > _MAX_FIELD:
        raise DataError(f"{where} has a field of {longest:,} characters (at most {_MAX_FIELD:,}"
                        f"): not a header line of column names", file=file)
    return fields


def _sample_lines(sample: bytes) -> list[str]:
    """Up to :data:`_SNIFF_LINES` complete, non-empty lines at the start of ``sample``."""
    lines = sample.split(b"\n")[:-1] if not sample.endswith(b"\n") else sample.split(b"\n")
    out = []
    for raw in lines:
        text = raw.rstrip(b"\r").decode("utf-8", errors="replace")
        if text.strip():
            out.append(text)
            if len(out) == _SNIFF_LINES:
                break
    return out


def sniff_delimiter(header: str, lines: list[str], file: str = "") -> str:
    """The delimiter of a CSV file from its header line and first data lines.

    Of ``,``, tab, ``;`` and ``|``, those that split the header into two or more fields are
    candidates; the one whose field count the largest share of the data lines has (at least
    half) wins, the earlier in that order on a tie; ``","`` when none does.

    >>> sniff_delimiter("x1;x2;y", ["1,5;2;3", "2;3;5"])
    ';'
    >>> sniff_delimiter("a,b,y", ["1,2,3"])
    ','
    """
    best, best_share = ",", -1.0
    for d in DELIMITERS:
        if d not in header:
            continue
        n = len(_fields(header, d, file, "the header line"))
        if n < 2:
            continue
        agree = sum(len(_split_quiet(line, d)) == n for line in lines)
        share = agree / len(lines) if lines else 1.0
        if share >= 0.5 and share > best_share:
            best, best_share = d, share
    return best


def _split_quiet(line: str, delimiter: str) -> list[str]:
    if '"' not in line:
        return line.split(delimiter)
    try:
        return next(_pycsv.reader([line], delimiter=delimiter))
    except _pycsv.Error:
        return []


def _looks_numeric(value: str) -> bool:
    """Whether Python reads ``value`` as a number (or it is empty, a missing value)."""
    v = value.strip()
    if not v:
        return True
    if "_" in v:
        return False
    try:
        float(v)
    except ValueError:
        return False
    return True


def _number_hint(value: str) -> str:
    """A hint for a value that is almost a number: a decimal comma."""
    v = value.strip()
    if "," in v and v.replace(",", ".", 1).replace(".", "", 1).lstrip("+-").isdigit():
        return " (a decimal comma? gdlab reads numbers with a decimal point)"
    return ""
