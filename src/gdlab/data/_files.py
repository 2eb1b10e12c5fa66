"""Helpers shared by the file streams (CSV, Parquet)."""

from __future__ import annotations

import os

import numpy as np

from ..errors import DataError, ParameterError
from ._names import did_you_mean, listing, option, shown


def check_path(path) -> str:
    try:
        p = os.fspath(path)
    except TypeError:
        raise ParameterError(f"expected a file path, got {type(path).__name__}") from None
    if not os.path.exists(p):
        raise DataError("file not found", file=str(p))
    if os.path.isdir(p):
        raise DataError("is a directory, not a file", file=str(p))
    return str(p)


def check_dtype(dtype) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise ParameterError(f"dtype must be numpy.float64 or numpy.float32, got {dtype!r}")
    return dt


#: files with more columns than this are refused (their header alone would fill memory
#: with names, and each column costs work in every block of every epoch)
MAX_COLUMNS = 100_000


def check_column_count(n: int, file: str, how: str = "") -> None:
    """Refuse a header of more than :data:`MAX_COLUMNS` columns."""
    if n > MAX_COLUMNS:
        raise DataError(f"the header has {n:,} columns{how}; gdlab reads files of at most "
                        f"{MAX_COLUMNS:,} columns", file=file)


def select_columns(columns: list[str], target, features, file: str
                   ) -> tuple[list[str], str, list[int], int]:
    """Validate ``target``/``features`` against the file's columns.

    Returns ``(features, target, feature positions, target position)``, positions in the
    header. Linear in the number of columns (one dictionary of names).
    """
    check_column_count(len(columns), file)
    first: dict[str, int] = {}
    repeated: set[str] = set()
    for j, c in enumerate(columns):
        if c in first:
            repeated.add(c)
        else:
            first[c] = j
    _check_target(columns, first, target, file)
    if features is None:
        features = [c for c in columns if c != target]
        if not features:
            raise DataError(f"no feature columns: the file has only the target column "
                            f"{target!r}", file=file)
    else:
        features = _given_features(columns, first, target, features, file)
    for c in features + [target]:
        if c in repeated:
            raise DataError("the header names this column more than once", file=file, column=c)
    return features, target, [first[c] for c in features], first[target]


def _check_target(columns: list[str], index: dict[str, int], target, file: str) -> None:
    """Refuse a missing target, one that is not a str, or one the file does not hold."""
    if target is None:
        raise ParameterError(f"{file}: give {option('target', 'COLUMN')} (columns: "
                             f"{listing(columns)})")
    if not isinstance(target, str):
        raise ParameterError(f"{option('target')} must be a column name (str), got {target!r}")
    if target not in index:
        raise DataError(f"{option('target', repr(target))} names no column of the file"
                        f"{did_you_mean(target, columns)} (columns: {listing(columns)})",
                        file=file, column=target)


def _given_features(columns: list[str], index: dict[str, int], target: str, features,
                    file: str) -> list[str]:
    """The features the caller named, as a list, each a distinct column other than the target."""
    if isinstance(features, str):
        features = [features]
    features = list(features)
    if not features:
        raise ParameterError(f"{option('features')} must name at least one column")
    for f in features:
        if not isinstance(f, str):
            raise ParameterError(f"{option('features')}: column names must be text, got {f!r}")
        if f not in index:
            raise DataError(f"{option('features')}: {f!r} is no column of the file"
                            f"{did_you_mean(f, columns)} (columns: {listing(columns)})",
                            file=file, column=f)
    seen: set[str] = set()
    for f in features:
        if f in seen:
            raise ParameterError(f"{option('features')} lists the column {f!r} twice")
        seen.add(f)
    if target in features:
        raise ParameterError(f"column {target!r} is both the target and a feature")
    return features


#: a target column with more distinct text values than this is not one of class labels
MAX_LABELS = 10_000


class LabelCodes:
    """Text class labels of a target column as numbers, block by block.

    A scan encodes each block's labels as codes in order of first appearance (so codes never
    change while the file streams); :meth:`freeze` then sorts the labels, and ``rank`` maps
    a code to the label's place in sorted order, which is what the stream hands out (class
    ``k`` is ``classes[k]``, as in ``numpy.unique``).
    """

    def __init__(self, file: str, column: str):
        self.file, self.column = file, column
        self.labels: list[str] = []
        self._code: dict[str, int] = {}
        self.frozen = False
        self.classes = np.empty(0, dtype=object)
        self.rank = np.empty(0, dtype=np.float64)

    def encode(self, col) -> np.ndarray:
        """The codes (float64) of a pyarrow array of text labels (no nulls)."""
        import pyarrow as pa
        import pyarrow.compute as pc
        if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
            col = pc.cast(col, pa.string())
        col = pc.utf8_trim_whitespace(col)
        for label in pc.unique(col).to_pylist():
            if label not in self._code:
                self._add(label)
        codes = pc.index_in(col, value_set=pa.array(self.labels, type=pa.string()))
        return np.asarray(codes.to_numpy(zero_copy_only=False), dtype=np.float64)

    def _add(self, label: str) -> None:
        if self.frozen:
            raise DataError(f"the label {shown(label)} was not in the file when it was "
                            f"scanned: the file changed; open it again", file=self.file,
                            column=self.column)
        if len(self.labels) >= MAX_LABELS:
            raise DataError(f"more than {MAX_LABELS:,} different text values: not class "
                            f"labels (give a numeric target, or other labels)",
                            file=self.file, column=self.column)
        self._code[label] = len(self.labels)
        self.labels.append(label)

    def freeze(self) -> None:
        """Sort the labels: ``classes`` (sorted) and ``rank`` (code -> sorted place)."""
        order = sorted(range(len(self.labels)), key=self.labels.__getitem__)
        self.classes = np.asarray([self.labels[i] for i in order], dtype=object)
        self.rank = np.empty(len(order), dtype=np.float64)
        self.rank[order] = np.arange(len(order), dtype=np.float64)
        self.frozen = True


def is_text_type(t) -> bool:
    """A pyarrow type of text (or of dictionary-encoded text)."""
    import pyarrow as pa
    if pa.types.is_dictionary(t):
        t = t.value_type
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t))


def nonfinite_kind(v: float) -> str:
    return "NaN" if np.isnan(v) else ("inf" if v > 0 else "-inf")


def first_bad_cell(columns, null_message: str):
    """The earliest empty or non-finite cell of a table's columns: ``(row index, position,
    message)`` or ``None``. ``columns`` yields ``(position, pyarrow column)``; ties on the row
    go to the lowest position (header order)."""
    worst = None
    for pos, col in columns:
        if col.null_count:
            i = int(np.flatnonzero(col.is_null().to_numpy())[0])
            cand = (i, pos, null_message)
        elif is_text_type(col.type):  # class labels: any text but an empty cell
            continue
        else:
            v = np.asarray(col.to_numpy(), dtype=np.float64)
            with np.errstate(invalid="ignore", over="ignore"):
                if np.isfinite(v.sum()):
                    continue
            bad = np.flatnonzero(~np.isfinite(v))
            if not len(bad):
                continue
            i = int(bad[0])
            cand = (i, pos, f"value is {nonfinite_kind(v[i])}")
        if worst is None or cand[:2] < worst[:2]:
            worst = cand
    return worst
