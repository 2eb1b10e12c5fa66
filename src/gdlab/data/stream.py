"""Batch streams: the one interface the descent loop reads training data through."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

import numpy as np

from ..errors import DataError, ParameterError
from . import _order
from . import moments as _moments
from ._cache import RowCache
from ._files import LabelCodes, first_bad_cell
from ._split import RowSplit
from .moments import CrossMoments
from .standardize import RunningStats, Standardizer

if TYPE_CHECKING:
    from concurrent.futures import Future


class BatchStream:
    """Base class: rows in chunks, batches in a deterministic order per (seed, epoch).

    Attributes
    ----------
    n_features, feature_names, n_samples, target_name, dtype
    batch_size : int or None
        ``None`` means full batch: :meth:`batches` then yields the data in file
        order, one piece per chunk (a single piece for an in-memory
        :class:`ArrayStream` with the default ``chunk_rows``); a full-batch step
        sums the gradient over all pieces of the epoch.
    shuffle, seed, chunk_rows, buffer_chunks
        The batch order, see :mod:`gdlab.data._order`.  Two streams over the
        same rows with the same values of these (and of batch_size) yield
        bitwise identical batches, whatever their storage.
    standardizer : Standardizer or None
        Applied to X of every batch.
    """

    n_features: int
    feature_names: list[str]
    n_samples: int | None
    target_name: str | None
    dtype: np.dtype
    batch_size: int | None
    shuffle: bool
    seed: int
    chunk_rows: int
    buffer_chunks: int
    standardizer: Standardizer | None

    def _init_order(self, batch_size, shuffle, seed, buffer_chunks, standardizer):
        self.batch_size = _order.check_int(batch_size, "batch_size", 1, allow_none=True)
        if not isinstance(shuffle, (bool, np.bool_)):
            raise ParameterError(f"shuffle must be True or False, got {shuffle!r}")
        self.shuffle = bool(shuffle)
        self.seed = _order.check_int(seed, "seed", 0)
        self.buffer_chunks = _order.check_int(buffer_chunks, "buffer_chunks", 1)
        if standardizer is not None and not isinstance(standardizer, Standardizer):
            raise ParameterError("standardizer must be a gdlab.data.Standardizer or None")
        self.standardizer = standardizer

    # -- to be provided by subclasses ----------------------------------------
    def _bounds(self) -> np.ndarray:
        """Chunk start rows plus n_samples at the end."""
        raise NotImplementedError

    def _read_chunk(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Raw rows of chunk k (no standardization) as (X, y) in ``self.dtype``."""
        raise NotImplementedError

    def _read_chunk_into(self, k: int, X: np.ndarray, y: np.ndarray) -> None:
        """Write chunk k's raw rows into ``X`` and ``y`` (views of a buffer of the right
        size); streams that can read in place override this."""
        Xk, yk = self._read_chunk(k)
        X[...] = Xk
        y[...] = yk

    def _load_buffer(self, chunk_ids: np.ndarray, perm):
        """Taker over the concatenated chunks, permuted by perm (None: as is), its X
        standardized by the stream's standardizer. The chunks are read one by one into one
        buffer (no second copy for the concatenation)."""
        if len(chunk_ids) == 1:
            X, y = self._read_chunk(int(chunk_ids[0]))
        else:
            bounds = self._bounds()
            sizes = [int(bounds[k + 1] - bounds[k]) for k in chunk_ids]
            X = np.empty((sum(sizes), self.n_features), dtype=self.dtype)
            y = np.empty(sum(sizes), dtype=self.dtype)
            at = 0
            for k, m in zip(chunk_ids, sizes):
                self._read_chunk_into(int(k), X[at:at + m], y[at:at + m])
                at += m
        return _taker(X, y, perm, self.standardizer, readonly=False)

    # -- public API -------------------------------------------------------------
    @property
    def n_chunks(self) -> int:
        return len(self._bounds()) - 1

    def n_batches(self) -> int:
        """Batches per epoch (chunks per epoch when batch_size is None)."""
        if self.batch_size is None:
            return self.n_chunks
        n = int(self._bounds()[-1])
        return -(-n // self.batch_size)

    def batches(self, epoch: int, start: int = 0,
                sizes: Iterator[int] | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(X, y)`` batches of ``epoch``, skipping the first ``start`` of them.

        The order depends only on (seed, epoch) and the order parameters; the
        batches after ``start`` are exactly those of an uninterrupted epoch.
        ``sizes`` (batches per piece, in order; not for full batch) yields consecutive
        batches stacked into one piece instead.
        """
        epoch = _order.check_int(epoch, "epoch", 0)
        start = _order.check_int(start, "start", 0)
        self._check_ready()
        bounds = self._bounds()
        if self.batch_size is not None:  # the buffers' takers standardize (_load_buffer)
            if sizes is not None:
                sizes = (int(k) * self.batch_size for k in sizes)
            return _order.iter_batches(bounds, self.batch_size, self.buffer_chunks,
                                       self.shuffle, self.seed, epoch, start,
                                       self._load_buffer, sizes)
        it = (self._read_chunk(k) for k in range(start, len(bounds) - 1))
        if self.standardizer is None:
            return it
        return self._standardized(it, self.standardizer)

    @staticmethod
    def _standardized(it, standardizer):
        for X, y in it:
            yield standardizer.transform(X), y

    def _check_ready(self):
        """Called before every epoch: e.g. scan a file, or check it did not change."""

    def iter_chunks(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Raw chunks in file order (no shuffle, no standardizer)."""
        self._check_ready()
        for k in range(self.n_chunks):
            yield self._read_chunk(k)

    def feature_stats(self) -> RunningStats:
        """Per-feature count/mean/M2 (one pass over the chunks unless already known)."""
        stats = RunningStats(self.n_features)
        for X, _ in self.iter_chunks():
            stats.update(X)
        return stats

    def target_stats(self) -> RunningStats | None:
        """Per-target count/mean/M2 (one pass over the chunks; ``None`` if there are none)."""
        stats = None
        for _, y in self.iter_chunks():
            y2 = y.reshape(len(y), -1)
            if stats is None:
                stats = RunningStats(y2.shape[1])
            stats.update(y2)
        return stats

    def fit_standardizer(self, apply: bool = True) -> Standardizer:
        """Fit a :class:`Standardizer` on this stream's features; attach it if ``apply``."""
        s = Standardizer().fit_stream(self)
        if apply:
            self.standardizer = s
        return s

    def __repr__(self):
        return (f"{type(self).__name__}(n_samples={self.n_samples}, n_features={self.n_features}, "
                f"batch_size={self.batch_size}, shuffle={self.shuffle}, seed={self.seed}, "
                f"chunk_rows={self.chunk_rows}, buffer_chunks={self.buffer_chunks})")


class ArrayStream(BatchStream):
    """Batches from in-memory arrays.

    ``chunk_rows=None`` (default) makes the whole data one chunk, so a
    shuffled epoch is a plain permutation of all rows.  Give the
    ``chunk_rows``/``buffer_chunks`` of a file stream to reproduce its batches
    exactly.  X is validated like scikit-learn's ``check_X_y``; float32 input
    stays float32, anything else becomes float64, and y gets X's dtype.
    Batches are read-only views or copies; the arrays are not copied up front.
    ``validate=False`` skips the checks (one pass over X for non-finite values) for
    arrays the caller has already validated.
    """

    n_samples: int  # known from the arrays

    def __init__(self, X, y, batch_size: int | None = None, shuffle: bool = True, seed: int = 0,
                 chunk_rows: int | None = None, buffer_chunks: int = 4, *,
                 feature_names: list[str] | None = None, target_name: str = "y",
                 standardizer: Standardizer | None = None, validate: bool = True):
        from ._validate import check_X_y
        if validate:
            self.X, self.y, self.feature_names = check_X_y(X, y, feature_names, target_name)
        else:  # the caller checked them (the estimators, after scikit-learn's validate_data)
            if not (isinstance(X, np.ndarray) and isinstance(y, np.ndarray) and X.ndim == 2
                    and X.dtype in (np.float32, np.float64) and y.dtype == X.dtype
                    and len(y) == len(X) and X.flags.c_contiguous):
                raise ParameterError("validate=False needs a C-contiguous 2-D float X and a "
                                     "y of the same dtype and length")
            self.X, self.y = X, y
            self.feature_names = ([f"x{j + 1}" for j in range(X.shape[1])]
                                  if feature_names is None else list(feature_names))
        self.target_name = target_name
        self.n_samples, self.n_features = self.X.shape
        self.dtype = self.X.dtype
        self._init_order(batch_size, shuffle, seed, buffer_chunks, standardizer)
        chunk_rows = _order.check_int(chunk_rows, "chunk_rows", 1, allow_none=True)
        self.chunk_rows = self.n_samples if chunk_rows is None else chunk_rows
        self._bounds_cache = _order.chunk_starts(self.n_samples, self.chunk_rows)

    def _bounds(self):
        return self._bounds_cache

    def _read_chunk(self, k):
        a, b = int(self._bounds_cache[k]), int(self._bounds_cache[k + 1])
        return _readonly(self.X[a:b]), _readonly(self.y[a:b])

    def _load_buffer(self, chunk_ids, perm):
        bounds = self._bounds_cache
        if len(chunk_ids) == 1:
            a = int(bounds[chunk_ids[0]])
            if perm is None:
                return _taker(self.X[a:], self.y[a:], None, self.standardizer)
            rows = perm + a
        else:
            rows = np.concatenate([np.arange(bounds[k], bounds[k + 1]) for k in chunk_ids])
            if perm is not None:
                rows = rows[perm]
        return _taker(self.X, self.y, rows, self.standardizer)

    def feature_stats(self) -> RunningStats:
        return RunningStats(self.n_features).update(self.X) if self.chunk_rows >= self.n_samples \
            else super().feature_stats()


class ScanStats:
    """What a validating scan accumulates over a set of rows: column statistics of the
    features and the target and, when asked, the cross-moments for least squares."""

    def __init__(self, n_features: int, moments: bool = False):
        self.features = RunningStats(n_features)
        self.target = RunningStats(1)
        self.moments: CrossMoments | None = CrossMoments(n_features) if moments else None

    @property
    def n(self) -> int:
        return int(self.target.n)

    def add(self, X: np.ndarray, y: np.ndarray) -> None:
        if not len(y):
            return
        self.features.update(X)
        self.target.update(y[:, None])
        if self.moments is not None:
            self.moments.update(X, y)

    def merged(self, other: "ScanStats") -> "ScanStats":
        out = ScanStats(len(self.features.mean))
        out.features = self.features.copy().merge(other.features)
        out.target = self.target.copy().merge(other.target)
        if self.moments is not None and other.moments is not None:
            out.moments = self.moments.copy().merge(other.moments)
        return out


class ScannedStream(BatchStream):
    """A file stream whose validating scan already computed the column statistics
    (``_feature_stats``, ``_target_stats``): they are handed out without another pass.

    Three options of the file streams live here:

    ``test_fraction`` (with the stream's ``seed``) holds out about that fraction of the rows
    by a hash of the row index (:class:`~gdlab.data.RowSplit`); the scan keeps separate
    statistics for the two parts and :meth:`split` returns them as two streams over
    disjoint rows, read from the one scan (and its one row cache).

    ``moments=True`` makes the scan accumulate the cross-moments of features and target
    (``XᵀX``, ``Xᵀy``, centred, in float64: :class:`~gdlab.data.moments.CrossMoments`) for
    least squares, up to :data:`~gdlab.data.moments.MAX_FEATURES` features;
    :meth:`moments` returns them (``None`` and a reason in ``moments_note`` otherwise).

    Text class labels in the target column (``labels``: ``None`` detects them) become
    numbers ``0 .. K-1`` in sorted order; ``classes`` holds the labels (``None`` for a
    numeric target).
    """

    _feature_stats: RunningStats | None  # None until the scan
    _target_stats: RunningStats | None
    target_name: str  # a file stream always has a target column
    path: str
    columns: list[str]

    #: the scan's row cache (:mod:`gdlab.data._cache`) while it holds every row, else None
    _row_cache: RowCache | None = None
    cache: bool = False
    cache_dir: str | None = None
    #: the held-out rows (None: no split)
    row_split: RowSplit | None = None
    want_moments: bool = False
    moments_note: str | None = None
    _labels: LabelCodes | None = None
    _parts: dict[str, ScanStats] | None = None

    def _init_options(self, test_fraction, moments) -> None:
        """Check and keep ``test_fraction`` and ``moments`` (after ``_init_order``)."""
        if test_fraction is not None and test_fraction != 0:
            self.row_split = RowSplit(test_fraction, self.seed)
        if not isinstance(moments, (bool, np.bool_)):
            raise ParameterError(f"moments must be True or False, got {moments!r}")
        self.want_moments = bool(moments)

    @property
    def classes(self) -> np.ndarray | None:
        """The text class labels of the target in sorted order (``None``: numbers)."""
        return None if self._labels is None else self._labels.classes

    def _scan_parts(self) -> dict[str, ScanStats]:
        """New accumulators for a scan: one per part of the split (or ``all``)."""
        moments = self.want_moments and self._labels is None \
            and self.n_features <= _moments.MAX_FEATURES
        names = ("all",) if self.row_split is None else ("train", "test")
        return {name: ScanStats(self.n_features, moments) for name in names}

    def _finish_parts(self, parts: dict[str, ScanStats]) -> None:
        """Keep a finished scan's statistics (whole-file ones merged from the parts)."""
        whole = parts["all"] if "all" in parts else parts["train"].merged(parts["test"])
        self._parts = parts
        self._feature_stats, self._target_stats = whole.features, whole.target
        self._moments = whole.moments
        if self.want_moments and whole.moments is None:
            self.moments_note = (
                "the target holds class labels" if self._labels is not None else
                f"{self.n_features:,} features (computed for at most "
                f"{_moments.MAX_FEATURES:,})")
        if self._labels is not None:
            self._labels.freeze()

    def moments(self) -> CrossMoments | None:
        """The scan's cross-moments of all rows (``None`` unless collected)."""
        self._check_ready()
        m = getattr(self, "_moments", None)
        return None if m is None else m.copy()

    def split(self) -> tuple["RowSubset", "RowSubset"]:
        """``(train, test)``: the rows of each part of ``test_fraction``'s split as streams
        with this stream's batch settings (read from this stream and its row cache)."""
        if self.row_split is None:
            raise ParameterError("this stream has no test_fraction to split by")
        self._check_ready()
        assert self._parts is not None  # set by the scan
        return (RowSubset(self, "train", self._parts["train"]),
                RowSubset(self, "test", self._parts["test"]))

    def _relabel(self, y: np.ndarray) -> None:
        """Scan codes of text labels -> their sorted places, in place."""
        if self._labels is not None and len(y):
            y[...] = self._labels.rank[y.astype(np.intp)]

    def _to_numpy(self, table, dtype) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
        raise NotImplementedError

    # -- the row cache ------------------------------------------------------------------------
    def _folder(self, parts: dict[str, ScanStats]) -> "_Folder":
        """What a scan hands its validated blocks to: the statistics and a new, empty row
        cache (none when off or impossible)."""
        ScannedStream.close(self)
        cache = RowCache.open(self.n_features, self.dtype, self.cache_dir) if self.cache else None
        return _Folder(parts, self.row_split, cache)

    def _read_file_chunk(self, k: int) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
        """Chunk k read from the file itself (no cache)."""
        raise NotImplementedError

    def _read_chunk(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        if self._row_cache is None:
            X, y = self._read_file_chunk(k)
            self._relabel(y)
            return X, y
        bounds = self._bounds()
        m = int(bounds[k + 1] - bounds[k])
        X = np.empty((m, self.n_features), dtype=self.dtype)
        y = np.empty(m, dtype=self.dtype)
        self._row_cache.read_into(int(bounds[k]), X, y, self.path)
        self._relabel(y)
        return X, y

    def _read_chunk_into(self, k: int, X: np.ndarray, y: np.ndarray) -> None:
        if self._row_cache is None:
            return super()._read_chunk_into(k, X, y)
        self._row_cache.read_into(int(self._bounds()[k]), X, y, self.path)
        self._relabel(y)

    def close(self) -> None:
        """Delete the row cache now (it also goes when the stream is garbage-collected);
        later epochs read the file."""
        if self._row_cache is not None:
            self._row_cache.close()
            self._row_cache = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _validated(self, table, rows_before: int, cells, null_message: str):
        """``table`` as float64 ``(X, y)`` after refusing empty and non-finite cells, naming
        the earliest one's row and column. ``cells`` lists ``(header position, column name in
        the table)`` of the selected columns. Clean blocks cost one sum over the values; only
        a failing block is searched cell by cell."""
        cols = [(pos, table.column(name)) for pos, name in cells]
        if not any(col.null_count for _, col in cols):
            X, y = self._to_numpy(table, np.float64)
            with np.errstate(over="ignore", invalid="ignore"):
                if np.isfinite(X.sum() + y.sum()):
                    return X, y
        worst = first_bad_cell(cols, null_message)
        if worst is not None:
            i, pos, msg = worst
            raise DataError(msg, file=self.path, row=rows_before + i + 1,
                            column=self.columns[pos])
        return self._to_numpy(table, np.float64)  # finite values whose sum overflowed

    def feature_stats(self) -> RunningStats:
        self._check_ready()
        assert self._feature_stats is not None  # _check_ready scanned the file
        return self._feature_stats.copy()

    def target_stats(self) -> RunningStats:
        self._check_ready()
        assert self._target_stats is not None  # _check_ready scanned the file
        return self._target_stats.copy()


class _Folder:
    """Folds a scan's validated blocks into the statistics of their part of the rows and
    the row cache on one background thread, block after block in order, while the scan
    parses the next block (numpy and file writes release the GIL)."""

    def __init__(self, parts: dict[str, ScanStats], split: RowSplit | None,
                 cache: RowCache | None):
        from concurrent.futures import ThreadPoolExecutor
        self.parts, self.split, self.cache = parts, split, cache
        self.rows = 0  # rows handed in so far: the index of the next block's first row
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gdlab-scan")
        self._pending: Future[None] | None = None

    def _fold(self, X: np.ndarray, y: np.ndarray, start: int) -> None:
        if self.split is None:
            self.parts["all"].add(X, y)
        else:
            test = self.split.test_mask(start, len(y))
            self.parts["train"].add(X[~test], y[~test])
            self.parts["test"].add(X[test], y[test])
        if self.cache is not None and not self.cache.append(X, y):
            self.cache = None  # the write failed (it closed itself): the file is read again

    def add(self, X: np.ndarray, y: np.ndarray) -> None:
        self._wait()
        self._pending = self._pool.submit(self._fold, X, y, self.rows)
        self.rows += len(y)

    def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def finish(self) -> RowCache | None:
        """Wait for the last block; the row cache (``None`` if it failed or is off)."""
        try:
            self._wait()
        finally:
            self._pool.shutdown()
        return self.cache

    def abandon(self) -> None:
        """The scan failed: stop and delete the cache."""
        try:
            self._wait()
        except Exception:  # noqa: BLE001 - the scan's own error is the one to report
            pass
        self._pool.shutdown()
        if self.cache is not None:
            self.cache.close()


class RowSubset(BatchStream):
    """The rows of one part (``"train"`` or ``"test"``) of a file stream's
    :class:`~gdlab.data.RowSplit`, as a stream of its own.

    Its chunks are the file stream's chunks with the other part's rows taken out (so they
    differ in size); a chunk is read from the file stream (its row cache, or the file) and
    masked by the split's hash. The column statistics (and the cross-moments) are those the
    scan kept for this part.
    """

    def __init__(self, base: ScannedStream, part: str, stats: ScanStats):
        if part not in ("train", "test") or base.row_split is None:
            raise ParameterError(f"part must be 'train' or 'test' of a split stream, "
                                 f"got {part!r}")
        self.base, self.part, self._stats = base, part, stats
        self._split: RowSplit = base.row_split
        self.n_features, self.feature_names = base.n_features, base.feature_names
        self.target_name, self.dtype = base.target_name, base.dtype
        self.path, self.columns = base.path, base.columns
        self.batch_size, self.shuffle, self.seed = base.batch_size, base.shuffle, base.seed
        self.buffer_chunks, self.chunk_rows = base.buffer_chunks, base.chunk_rows
        self.standardizer = None
        base_bounds = base._bounds()
        counts = np.array([self._count(int(a), int(b)) for a, b in
                           zip(base_bounds[:-1], base_bounds[1:])], dtype=np.int64)
        self._chunks = np.flatnonzero(counts)  # base chunks holding rows of this part
        self._bounds_cache = np.concatenate(([0], np.cumsum(counts[self._chunks])))
        self.n_samples = int(self._bounds_cache[-1])

    def _count(self, a: int, b: int) -> int:
        n_test = int(np.count_nonzero(self._split.test_mask(a, b - a)))
        return n_test if self.part == "test" else b - a - n_test

    @property
    def classes(self) -> np.ndarray | None:
        return self.base.classes

    def _bounds(self) -> np.ndarray:
        return self._bounds_cache

    def _check_ready(self) -> None:
        self.base._check_ready()

    def _read_chunk(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        j = int(self._chunks[k])
        X, y = self.base._read_chunk(j)
        keep = self._split.test_mask(int(self.base._bounds()[j]), len(y))
        if self.part == "train":
            keep = ~keep
        return X[keep], y[keep]

    def feature_stats(self) -> RunningStats:
        return self._stats.features.copy()

    def target_stats(self) -> RunningStats:
        return self._stats.target.copy()

    def moments(self) -> CrossMoments | None:
        """The scan's cross-moments of this part's rows (``None`` unless collected)."""
        m = self._stats.moments
        return None if m is None else m.copy()

    @property
    def moments_note(self) -> str | None:
        return self.base.moments_note


def _taker(X: np.ndarray, y: np.ndarray, rows: np.ndarray | None,
           standardizer: Standardizer | None, readonly: bool = True) -> _order.Taker:
    """The taker of one buffer (see :mod:`gdlab.data._order`): ``(lo, hi)`` → rows
    ``lo .. hi-1`` of X and y in the order ``rows`` (``None``: as they are; then slices,
    read-only views when ``readonly``), X standardized by ``standardizer`` when one is
    given."""
    if rows is not None:
        return lambda lo, hi: _take(X, y, rows[lo:hi], standardizer)
    view = _readonly if readonly else (lambda a: a)
    if standardizer is None:
        return lambda lo, hi: (view(X[lo:hi]), view(y[lo:hi]))
    return lambda lo, hi: (standardizer.transform(X[lo:hi]), view(y[lo:hi]))


def _take(X: np.ndarray, y: np.ndarray, idx: np.ndarray,
          standardizer: Standardizer | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``idx`` of X and y, X standardized by ``standardizer`` when one is given (in
    the same pass as its rows are picked: :meth:`Standardizer.take`). ``np.take`` copies
    whole rows about twice as fast as ``X[idx]`` (same values)."""
    Xb = np.take(X, idx, axis=0) if standardizer is None else standardizer.take(X, idx)
    return Xb, np.take(y, idx, axis=0)


def _readonly(a: np.ndarray) -> np.ndarray:
    v = a.view()
    v.flags.writeable = False
    return v
