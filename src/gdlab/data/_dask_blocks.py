"""What Dask workers run on the row blocks of a :class:`~gdlab.data.DaskStream`.

Every function here runs *on a worker*, on numpy data only: it imports nothing of dask, so
a worker needs gdlab and numpy and nothing else to run it. A block is a pair ``(X, y)`` of
numpy arrays: ``X`` is 2-D, C-contiguous, float64 or float32; ``y`` is 1-D (or 2-D for
several targets) in ``X``'s dtype, or raw class labels until they are encoded.

* making blocks: :func:`make_block` (a piece of a dask array or dataframe: converted and
  validated), :func:`read_parquet_rows` and :func:`read_csv_file` (files read with gdlab's
  own file streams, so a bad cell is named by file, row and column as on one machine);
* :func:`run_group`: the one task a worker gets per pass: a function applied to each of
  its blocks in block order, each result kept apart (the client sums them in block order,
  so results do not depend on how blocks are spread over workers);
* the per-block passes: column statistics, the Gram matrix of :func:`data_step`, the
  cross-moments of least squares, class labels, scaling, label encoding, the test split.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ..errors import DataError
from .moments import CrossMoments, gram_block
from .standardize import RunningStats, Standardizer

Block = tuple[np.ndarray, np.ndarray]


class BlockChanged(DataError):
    """A block recomputed after a lost worker differs in size from the one first read:
    its source changed during the fit."""


def run_group(blocks: Sequence[Block], index: Sequence[int], sizes: Sequence[int],
              scaler: Standardizer | None, fn: Callable[..., Any], args: tuple) -> list:
    """``[fn(X, y, i, *args) for each block i]``, with ``X`` scaled by ``scaler`` first
    when given; refuses a block whose row count is not the one recorded when the stream
    was made (``sizes``: the source changed while a lost block was read again)."""
    out = []
    for (X, y), i, m in zip(blocks, index, sizes):
        if len(X) != m:
            raise BlockChanged(f"block {i} has {len(X):,} rows after it was computed again "
                               f"(a Dask worker was lost), {m:,} before: its source "
                               f"changed during the fit; start the fit again")
        if scaler is not None:
            X = scaler.transform(X)
        out.append(fn(X, y, i, *args))
    return out


# --- making blocks ---------------------------------------------------------------------------

def _as_float(a: Any, dtype: np.dtype | None, what: str, k: int) -> np.ndarray:
    """``a`` (a numpy array or a pandas object) as a C-contiguous float array."""
    if hasattr(a, "to_numpy"):
        a = a.to_numpy()
    arr = np.asarray(a)
    if arr.dtype.kind not in "biuf":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise DataError(f"{what} must hold numbers; block {k} has dtype {arr.dtype}") \
                from None
    if dtype is None:
        dtype = np.dtype(np.float32) if arr.dtype == np.float32 else np.dtype(np.float64)
    return np.ascontiguousarray(arr, dtype=dtype)


def _first_bad(a: np.ndarray) -> tuple[int, int]:
    """(row, column) of the first non-finite value of a 2-D array."""
    bad = ~np.isfinite(a)
    i = int(np.argmax(bad.any(axis=1)))
    return i, int(np.argmax(bad[i]))


def _check_finite(X: np.ndarray, k: int, start: int | None, names: Sequence[str]) -> None:
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(X.sum()):
            return
    if np.all(np.isfinite(X)):
        return  # finite values whose sum overflowed
    i, j = _first_bad(X)
    where = f"row {start + i + 1}" if start is not None else f"row {i + 1} of block {k}"
    column = names[j] if j < len(names) else f"x{j + 1}"
    raise DataError(f"X holds NaN or infinity at {where}, column {column!r}; remove or "
                    f"impute the missing values first")


def make_block(X: Any, y: Any, k: int, start: int | None, dtype: np.dtype | None,
               names: Sequence[str], labels: bool) -> Block:
    """Block ``k`` from a piece of a dask collection: ``X`` as a float array (float32 stays
    float32, other types become float64 unless ``dtype`` says), validated as scikit-learn
    validates (2-D, numeric, finite); ``y`` in X's dtype, or as it is for class ``labels``.
    ``start`` is the block's first row in the data when known (for messages)."""
    Xa = _as_float(X, dtype, "X", k)
    if Xa.ndim == 1:
        Xa = Xa.reshape(-1, 1) if len(names) == 1 else Xa.reshape(1, -1)
    if Xa.ndim != 2:
        raise DataError(f"X must be 2-D (n_samples, n_features); block {k} has shape "
                        f"{Xa.shape}")
    _check_finite(Xa, k, start, names)
    ya = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
    if ya.ndim == 2 and ya.shape[1] == 1:
        ya = ya[:, 0]
    if len(ya) != len(Xa):
        raise DataError(f"X and y differ in length in block {k}: {len(Xa):,} rows of X, "
                        f"{len(ya):,} values of y; give y the row blocks (partitions) of X")
    if not labels:
        ya = _as_float(ya, Xa.dtype, "y", k)
        if not np.all(np.isfinite(ya)):
            raise DataError(f"y holds NaN or infinity in block {k}")
    return Xa, ya


def n_rows(block: Block) -> int:
    return int(len(block[0]))


def read_parquet_rows(path: str, target: str, features: list[str], a: int, b: int,
                      dtype: str, stamp: tuple[int, int]) -> Block:
    """Rows ``a .. b-1`` of a Parquet file, validated (a null, NaN or infinity is a
    DataError naming file, row and column, as gdlab's own Parquet stream names it)."""
    from .parquet_stream import ParquetStream
    s = ParquetStream(path, target, features, scan=False, cache=False)
    try:
        if s._stamp != tuple(stamp):
            raise DataError("the file changed since the fit started; start it again",
                            file=path)
        X = np.empty((b - a, s.n_features))
        y = np.empty(b - a)
        clean = s._columns_into(a, b, X, y, check=True)
        with np.errstate(over="ignore", invalid="ignore"):
            clean = clean and bool(np.isfinite(X.sum() + y.sum()))
        if not clean:
            cells = list(zip(s._positions, s.feature_names + [s.target_name]))
            X, y = s._validated(s._table_rows(a, b), a, cells, "missing value (null)")
        return (np.ascontiguousarray(X, dtype=np.dtype(dtype)),
                np.ascontiguousarray(y, dtype=np.dtype(dtype)))
    finally:
        s.close()


def parquet_layout(path: str, target: str, features: list[str] | None
                   ) -> tuple[list[str], str, list[int], tuple[int, int]]:
    """``(feature names, target, rows of each row group, (size, mtime))`` of a Parquet file,
    from its footer (no data is read)."""
    from .parquet_stream import ParquetStream
    s = ParquetStream(path, target, features, scan=False, cache=False)
    try:
        _refuse_text_labels(s, path)
        st = s._stamp
        return (list(s.feature_names), s.target_name, np.diff(s._rg_starts).tolist(),
                (int(st[0]), int(st[1])))
    finally:
        s.close()


def csv_layout(path: str, target: str, features: list[str] | None, delimiter: str | None
               ) -> tuple[list[str], str, None, tuple[int, int]]:
    """``(feature names, target, None, (size, mtime))`` of a CSV file, from its header."""
    import os

    from .csv_stream import CSVStream
    s = CSVStream(path, target, features, scan=False, delimiter=delimiter, labels=False)
    st = os.stat(path)
    return list(s.feature_names), s.target_name, None, (st.st_size, st.st_mtime_ns)


def read_csv_file(path: str, target: str, features: list[str], delimiter: str | None,
                  dtype: str, stamp: tuple[int, int]) -> Block:
    """A whole CSV file as one block, through gdlab's CSV stream: its validating scan names
    a bad cell by file, row and column; the target must hold numbers."""
    import os

    from .csv_stream import CSVStream
    st = os.stat(path)
    if (st.st_size, st.st_mtime_ns) != tuple(stamp):
        raise DataError("the file changed since the fit started; start it again", file=path)
    s = CSVStream(path, target, features, shuffle=False, delimiter=delimiter, labels=False,
                  dtype=np.dtype(dtype))
    try:
        parts = list(s.iter_chunks())
    finally:
        s.close()
    if not parts:
        return (np.empty((0, len(features)), dtype=np.dtype(dtype)),
                np.empty(0, dtype=np.dtype(dtype)))
    return (np.ascontiguousarray(np.concatenate([p[0] for p in parts])),
            np.concatenate([p[1] for p in parts]))


def _refuse_text_labels(s: Any, path: str) -> None:
    if getattr(s, "_labels", None) is not None:
        raise DataError("the target holds text class labels; a Dask fit reads numbers only "
                        "(encode the labels as 0, 1, ... first)", file=path,
                        column=s.target_name)


# --- transforming blocks -----------------------------------------------------------------

def scale_block(block: Block, scaler: Standardizer) -> Block:
    """The block with its features standardized (the full-batch copy, made once)."""
    X, y = block
    return np.ascontiguousarray(scaler.transform(X).astype(X.dtype, copy=False)), y


def encode_block(block: Block, classes: np.ndarray, dtype: str) -> Block:
    """The block with its class labels replaced by their places ``0 .. K-1`` in
    ``classes`` (a label outside them is an error)."""
    X, y = block
    idx = np.searchsorted(classes, y)
    inside = idx < len(classes)
    if not np.all(inside) or np.any(classes[np.minimum(idx, len(classes) - 1)] != y):
        bad = y[~inside | (classes[np.minimum(idx, len(classes) - 1)] != y)]
        raise DataError(f"y holds a label not among the classes: {bad[0]!r}")
    return X, idx.astype(np.dtype(dtype))


def split_block(block: Block, start: int, fraction: float, seed: int, part: str) -> Block:
    """The rows of one part (``"train"`` or ``"test"``) of a block whose first row is row
    ``start`` of the data, by :class:`~gdlab.data.RowSplit`'s hash of the row index."""
    from ._split import RowSplit
    X, y = block
    test = RowSplit(fraction, seed).test_mask(start, len(X))
    keep = test if part == "test" else ~test
    return np.ascontiguousarray(X[keep]), np.ascontiguousarray(y[keep])


# --- per-block passes (run through run_group) --------------------------------------------

def feature_stats(X: np.ndarray, y: np.ndarray, i: int) -> RunningStats:
    return RunningStats(X.shape[1]).update(X)


def target_stats(X: np.ndarray, y: np.ndarray, i: int) -> RunningStats:
    y2 = np.asarray(y).reshape(len(y), -1)
    return RunningStats(y2.shape[1]).update(y2)


def unique_targets(X: np.ndarray, y: np.ndarray, i: int, limit: int) -> tuple[np.ndarray, bool]:
    """The block's sorted distinct targets (at most ``limit + 1``) and whether they are all
    whole numbers."""
    u = np.unique(y)
    whole = bool(np.all(np.mod(u, 1) == 0)) if u.dtype.kind == "f" else u.dtype.kind in "iub"
    return u[:limit + 1], whole


def gram(X: np.ndarray, y: np.ndarray, i: int, with_gram: bool
         ) -> tuple[np.ndarray | None, float, float, int]:
    """``(AᵀA, max ‖aᵢ‖², Σ‖aᵢ‖², n)`` for ``A = [X, 1]`` in float64: one block's share of
    :func:`gdlab.models.estimators.data_step`'s pass, in its arithmetic."""
    return gram_block(X, with_gram)


def moments(X: np.ndarray, y: np.ndarray, i: int) -> CrossMoments:
    return CrossMoments(X.shape[1]).update(X, y)
