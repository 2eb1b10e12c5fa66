"""Training data held by Dask workers: :class:`DaskStream`, a batch stream over row blocks.

The rows live on the workers of a Dask cluster as *blocks* (a :class:`BlockSet`: one
future per block, each holding an ``(X, y)`` pair of numpy arrays). They are made from a
dask array or dataframe (its row chunks or partitions), or read by the workers from a
glob of Parquet or CSV files (a Parquet block is a run of row groups, a CSV block a whole
file), and validated there. A block lost with its worker is computed again from its
source by the scheduler.

:class:`DaskStream` is a :class:`~gdlab.data.BatchStream`, so :func:`gdlab.train.train`,
checkpoints and the batch order rules work on it unchanged:

* **full batch** (``batch_size=None``): an epoch is one piece, the blocks themselves (a
  :class:`BlockSet`, standardized once on the workers); the loss and gradient are summed
  over the blocks where they are (:class:`gdlab.models.distributed.DistributedLoss`), so only
  parameters and per-block sums cross the network;
* **mini-batches**: the blocks are the chunks of :mod:`gdlab.data._order`: each epoch
  shuffles the blocks by ``(seed, epoch)``, groups them in buffers of ``buffer_chunks``
  and permutes each buffer's rows, exactly as every other stream does, so a DaskStream
  and an :class:`~gdlab.data.ArrayStream` with ``chunk_rows`` equal to the block size
  yield the same batches. The client steps; the next ``prefetch`` buffers travel from the
  workers while the current one is stepped. Each epoch streams every row through the
  client once, a buffer at a time; the data is never collected whole.

Passes over all rows (column statistics, the Gram matrix of the estimators' step size,
cross-moments, class labels, scores) run on the workers and return small per-block results,
which the client merges *in block order*, so every number is the same whichever worker
holds which block. dask and distributed are imported only when a DaskStream is made.
"""

from __future__ import annotations

import glob as _glob
import os
import sys
import threading
import weakref
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterator

import numpy as np

from ..errors import DataError, ParameterError
from . import _dask_blocks as B
from . import _order
from ._split import RowSplit
from .blockset import BlockSet, BlockStandardizer, ClusterError, _plain, gather
from .moments import CrossMoments
from .standardize import RunningStats, Standardizer
from .stream import BatchStream, _readonly, _taker

__all__ = ["BlockSet", "BlockStandardizer", "ClusterError", "DaskStream", "gather",
           "is_dask_collection", "file_paths"]

#: the default size of a Parquet block (a run of whole row groups), in bytes of values
BLOCK_BYTES = 64 << 20


def is_dask_collection(x: Any) -> bool:
    """Whether ``x`` is a dask array, dataframe or series (without importing dask when no
    one has)."""
    if "dask" not in sys.modules:
        return False
    import dask
    return bool(dask.is_dask_collection(x))


# --- the stream ---------------------------------------------------------------------------

class DaskStream(BatchStream):
    """Batches from row blocks held by Dask workers (see the module docstring).

    Make one with :meth:`from_dask` (a dask array or dataframe) or :meth:`from_files` (a
    glob of Parquet or CSV files read by the workers). ``batch_size``, ``shuffle``,
    ``seed`` and ``buffer_chunks`` are those of every :class:`BatchStream`, with the blocks
    as chunks; ``prefetch`` is the number of buffers fetched ahead of the one being
    stepped (mini-batches). :meth:`close` releases the blocks.
    """

    def __init__(self, blocks: BlockSet, batch_size: int | None = None, shuffle: bool = True,
                 seed: int = 0, buffer_chunks: int = 4, *,
                 standardizer: Standardizer | None = None, prefetch: int = 1):
        if not isinstance(blocks, BlockSet):
            raise ParameterError("DaskStream takes a BlockSet; use DaskStream.from_dask or "
                                 "DaskStream.from_files")
        if not blocks.n_blocks or not len(blocks):
            raise DataError("the data has no rows")
        self.blocks = blocks
        self.client = blocks.client
        self.n_features = blocks.n_features
        self.feature_names = list(blocks.feature_names)
        self.target_name = blocks.target_name
        self.dtype = blocks.dtype
        self.n_samples = len(blocks)
        self.n_targets = blocks.n_targets
        self._init_order(batch_size, shuffle, seed, buffer_chunks, standardizer)
        self.prefetch = _order.check_int(prefetch, "prefetch", 0)
        self.chunk_rows = int(blocks.sizes.max())
        self._bounds_cache = np.concatenate(([0], np.cumsum(blocks.sizes))).astype(np.int64)
        self._scaled: BlockSet | None = None
        self._scaled_for: Standardizer | None = None
        self.row_split: RowSplit | None = None

    # -- making one ----------------------------------------------------------------------------
    @classmethod
    def from_dask(cls, X: Any, y: Any, *, client: Any = None, batch_size: int | None = None,
                  shuffle: bool = True, seed: int = 0, buffer_chunks: int = 4,
                  dtype: Any = None, labels: bool = False, target_name: str = "y",
                  prefetch: int = 1) -> "DaskStream":
        """A stream over a dask array or dataframe ``X`` (its row chunks or partitions are
        the blocks) and targets ``y`` (a dask array or series with the same row blocks, or
        a numpy array). The blocks are computed on the workers of ``client`` (default: the
        current :func:`distributed.get_client`), validated (numeric, finite) and kept there.
        ``labels=True`` keeps ``y`` as class labels (a classifier encodes them)."""
        from ._dask_sources import collection_blocks
        blocks = collection_blocks(_client(client), X, y, dtype=dtype, labels=labels,
                                   target_name=target_name)
        return cls(blocks, batch_size, shuffle, seed, buffer_chunks, prefetch=prefetch)

    @classmethod
    def from_files(cls, source: Any, target: str | None, *, features: list[str] | None = None,
                   client: Any = None, delimiter: str | None = None, dtype: Any = np.float64,
                   batch_size: int | None = None, shuffle: bool = True, seed: int = 0,
                   buffer_chunks: int = 4, test_fraction: float | None = None,
                   block_bytes: int = BLOCK_BYTES, prefetch: int = 1) -> "DaskStream":
        """A stream over Parquet or CSV files read by the workers: ``source`` is a glob
        (``'data/*.parquet'``), a folder or a list of paths, taken in sorted order. The
        files must be readable at the same paths on every worker and have the same
        columns. A Parquet block is a run of whole row groups of about ``block_bytes``, a
        CSV block a whole file. ``test_fraction`` holds rows out as the file streams do
        (a hash of the row index in the files' concatenation): see :meth:`split`."""
        from ._dask_sources import file_blocks
        blocks = file_blocks(_client(client), file_paths(source), target, features,
                             delimiter=delimiter, dtype=dtype, block_bytes=block_bytes)
        stream = cls(blocks, batch_size, shuffle, seed, buffer_chunks, prefetch=prefetch)
        if test_fraction:
            stream.row_split = RowSplit(test_fraction, seed)
        return stream

    def _like(self, blocks: BlockSet) -> "DaskStream":
        """A stream over other blocks with this stream's batch settings."""
        return type(self)(blocks, self.batch_size, self.shuffle, self.seed, self.buffer_chunks,
                          prefetch=self.prefetch)

    def split(self) -> tuple["DaskStream | None", "DaskStream | None"]:
        """``(train, test)`` by the hash of the row index of ``test_fraction``
        (:class:`~gdlab.data.RowSplit`), computed on the workers; this stream's own blocks
        are released (the parts make them again from the source when a worker is lost)."""
        if self.row_split is None:
            raise ParameterError("this stream has no test_fraction to split by")
        rs, starts = self.row_split, self._bounds_cache[:-1]
        parts = []
        for part in ("train", "test"):
            blocks = _derive_split(self.blocks, starts, rs, part)
            parts.append(self._like(blocks) if len(blocks) else None)
        self.blocks.release()
        return parts[0], parts[1]

    def encoded(self, classes: np.ndarray) -> "DaskStream":
        """This stream with its class labels replaced by their places in ``classes`` (on the
        workers)."""
        blocks = self.blocks.derive(B.encode_block, np.asarray(classes), self.dtype.str,
                                    labels=False)
        out = self._like(blocks)
        out.standardizer = self.standardizer
        return out

    # -- BatchStream --------------------------------------------------------------------------
    def _bounds(self) -> np.ndarray:
        return self._bounds_cache

    def _read_chunk(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Block ``k`` fetched to the client (raw: not standardized)."""
        X, y = self.blocks.fetch([k])[0]
        return _readonly(X), _readonly(y)

    def batches(self, epoch: int, start: int = 0,
                sizes: Iterator[int] | None = None) -> Iterator[Any]:
        """The batches of ``epoch`` as :meth:`BatchStream.batches` defines them. Full batch:
        one piece, ``(BlockSet, None)``: the blocks standardized on the workers (made
        once), evaluated where they are by :class:`gdlab.models.distributed.DistributedLoss`.
        Mini-batches: numpy batches on the client, the next buffers fetched ahead."""
        epoch = _order.check_int(epoch, "epoch", 0)
        start = _order.check_int(start, "start", 0)
        if self.batch_size is None:
            return iter([(self.full_blocks(), None)] if start == 0 else [])
        plan = self._buffer_plan(epoch, start)
        pre = _Prefetcher(self.blocks, plan, self.prefetch, self.standardizer)
        return _order.iter_batches(self._bounds_cache, self.batch_size, self.buffer_chunks,
                                   self.shuffle, self.seed, epoch, start, pre.load_buffer,
                                   sizes)

    def _buffer_plan(self, epoch: int, start: int) -> list[np.ndarray]:
        """The chunk ids of the buffers :func:`_order.iter_batches` loads from batch
        ``start`` of ``epoch``, in order (the buffers before ``start`` are skipped)."""
        assert self.batch_size is not None
        sizes = np.diff(self._bounds_cache)
        skip = start * self.batch_size
        pos, plan = 0, []
        for ids in _order.epoch_buffers(self._bounds_cache, self.buffer_chunks, self.shuffle,
                                        self.seed, epoch):
            size = int(sizes[ids].sum())
            if pos + size > skip:
                plan.append(ids)
            pos += size
        return plan

    def full_blocks(self) -> BlockSet:
        """The blocks of a full-batch step: standardized once on the workers by this
        stream's standardizer (each raw block is dropped as soon as its scaled copy
        exists, so a worker holds about one copy of its rows; a pass that needs the raw
        blocks later makes them again from the source), or the raw blocks without one."""
        sc = self.standardizer
        if sc is None:
            return self.blocks
        if self._scaled is None or self._scaled_for is not sc:
            self._scaled = self.blocks.derive(B.scale_block, _plain(sc), release=True)
            self._scaled_for = sc
        return self._scaled

    def iter_chunks(self) -> Iterator[Any]:
        """The raw rows, as one piece: ``(BlockSet, None)``. The blocks stay on the
        workers: a :class:`BlockStandardizer` scales them there, and
        :class:`gdlab.models.distributed.DistributedLoss` evaluates a loss on them there
        (gdlab's passes over all rows, such as :func:`gdlab.train.full_loss`). Use
        :meth:`read_chunk` to fetch one block as numpy arrays."""
        yield self.blocks, None

    def read_chunk(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Block ``k`` as numpy arrays on the client."""
        return self._read_chunk(k)

    # -- passes on the workers ------------------------------------------------------------------
    def _merged(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Per-block results of ``fn`` on the raw blocks, merged in block order."""
        parts = self.blocks.per_block(fn, *args)
        out = parts[0]
        for p in parts[1:]:
            out = out.merge(p)
        return out

    def feature_stats(self) -> RunningStats:
        """Column statistics of the features, from the workers (merged in block order: the
        numbers of an ArrayStream whose chunks are these blocks)."""
        return self._merged(B.feature_stats)

    def target_stats(self) -> RunningStats:
        return self._merged(B.target_stats)

    def fit_standardizer(self, apply: bool = True) -> BlockStandardizer:
        """A :class:`BlockStandardizer` fitted on the workers; attached if ``apply``."""
        s = BlockStandardizer()
        s.fit_stats(self.feature_stats(), list(self.feature_names))
        if apply:
            self.standardizer = s
        return s

    def moments(self) -> CrossMoments:
        """The cross-moments of features and target (least squares), from the workers."""
        return self._merged(B.moments)

    def unique_targets(self, limit: int = 1_000) -> tuple[np.ndarray, bool]:
        """The distinct targets (at most ``limit + 1`` of them) and whether they are all
        whole numbers, from the workers."""
        parts = self.blocks.per_block(B.unique_targets, limit)
        values = np.unique(np.concatenate([u for u, _ in parts]))[:limit + 1]
        return values, all(w for _, w in parts)

    def gram_pass(self, with_gram: bool = True) -> tuple[np.ndarray | None, float, float, int]:
        """``(AᵀA, max ‖aᵢ‖², Σ‖aᵢ‖², n)`` of ``A = [X, 1]`` with X standardized by this
        stream's standardizer: the pass of :func:`gdlab.models.estimators.data_step`, on
        the workers, summed in block order."""
        parts = self.blocks.scaled(self.standardizer).per_block(B.gram, with_gram)
        G = None
        if with_gram:
            G = np.zeros((self.n_features + 1, self.n_features + 1))
            for g, *_ in parts:
                G += g
        r2 = 0.0
        trace = 0.0
        for _, m, t, _n in parts:
            r2 = max(r2, m)
            trace += t
        return G, r2, trace, sum(p[3] for p in parts)

    def close(self) -> None:
        """Release the blocks (and the scaled copy) on the workers."""
        for b in (self._scaled, self.blocks):
            if b is not None:
                b.close()
        self._scaled = None

    def __enter__(self) -> "DaskStream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"DaskStream(n_samples={self.n_samples}, n_features={self.n_features}, "
                f"blocks={self.blocks.n_blocks}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, seed={self.seed}, buffer_chunks={self.buffer_chunks})")


def _derive_split(blocks: BlockSet, starts: np.ndarray, rs: RowSplit, part: str) -> BlockSet:
    """One part of a row split of ``blocks`` (each block masked by its rows' hash)."""
    client = blocks.client

    def recipe() -> list:
        return [client.submit(B.split_block, f, int(s), rs.fraction, rs.seed, part,
                              pure=False) for f, s in zip(blocks.futures, starts)]

    futures = recipe()
    sizes = np.asarray(gather(client, [client.submit(B.n_rows, f, pure=False)
                                       for f in futures]))
    keep = np.flatnonzero(sizes)
    kept = [futures[i] for i in keep]

    def kept_recipe() -> list:
        made = recipe()
        return [made[i] for i in keep]

    return BlockSet(client, kept, sizes[keep], feature_names=blocks.feature_names,
                    target_name=blocks.target_name, dtype=blocks.dtype, labels=blocks.labels,
                    n_targets=blocks.n_targets, recipe=kept_recipe)


def _client(client: Any) -> Any:
    """``client``, or the current Dask client (a clear error without one)."""
    if client is not None:
        return client
    try:
        from distributed import get_client
        return get_client()
    except ImportError:
        raise ParameterError("Dask input needs dask and distributed: pip install "
                             "'gdlab[dask]'") from None
    except ValueError:
        raise ParameterError("no Dask client: start one (distributed.Client(...), or "
                             "gdlab.data.dask_cluster.connect()) before fitting on Dask data") \
            from None


def file_paths(source: Any) -> list[str]:
    """The files of ``source`` (a glob, a folder, a path or a list of them), as absolute
    paths (the workers' working folder is not the client's), sorted; all Parquet (.parquet,
    .pq) or all CSV (.csv, .tsv, .txt)."""
    items = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    paths: list[str] = []
    for item in items:
        text = os.fspath(item)
        if os.path.isdir(text):
            found = [os.path.join(text, f) for f in os.listdir(text)]
            paths += [f for f in found if f.lower().endswith(_SUFFIXES) and os.path.isfile(f)]
        elif _glob.has_magic(text):
            paths += [p for p in _glob.glob(text) if os.path.isfile(p)]
        else:
            paths.append(text)
    paths = sorted({os.path.abspath(p) for p in paths})
    if not paths:
        raise DataError(f"no files match {source!r}")
    kinds = {_kind(p) for p in paths}
    if None in kinds:
        bad = next(p for p in paths if _kind(p) is None)
        raise DataError("not a Parquet or CSV file (.parquet, .pq, .csv, .tsv, .txt)", file=bad)
    if len(kinds) > 1:
        raise DataError(f"{source!r} holds both Parquet and CSV files; give one kind")
    for p in paths:
        if not os.path.isfile(p):
            raise DataError("file not found", file=p)
    return paths


_SUFFIXES = (".parquet", ".pq", ".csv", ".tsv", ".txt")


def _kind(path: str) -> str | None:
    low = path.lower()
    if low.endswith((".parquet", ".pq")):
        return "parquet"
    if low.endswith((".csv", ".tsv", ".txt")):
        return "csv"
    return None


class _Prefetcher:
    """Fetches the buffers of one epoch from the workers in the order
    :func:`_order.iter_batches` loads them, ``ahead`` buffers beyond the one being stepped
    (on a background thread, while the client steps), and hands each out as
    ``load_buffer``, its batches standardized by ``standardizer`` when one is given."""

    def __init__(self, blocks: BlockSet, plan: list[np.ndarray], ahead: int,
                 standardizer: Standardizer | None = None):
        self.blocks = blocks
        self.standardizer = standardizer
        self.plan = plan
        self.ahead = ahead
        self.next = 0
        self.pending: deque = deque()
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gdlab-prefetch")
        self._lock = threading.Lock()
        weakref.finalize(self, self.pool.shutdown, wait=False)
        for _ in range(min(ahead + 1, len(plan))):
            self._submit()

    def _submit(self) -> None:
        if self.next < len(self.plan):
            ids = self.plan[self.next]
            self.pending.append((ids, self.pool.submit(self._fetch, ids)))
            self.next += 1

    def _fetch(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        parts = self.blocks.fetch(ids)
        if len(parts) == 1:
            return parts[0]
        return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))

    def load_buffer(self, chunk_ids: np.ndarray, perm: np.ndarray | None) -> _order.Taker:
        with self._lock:
            if not self.pending:  # (the plan mirrors iter_batches: never happens)
                self.pending.append((chunk_ids, self.pool.submit(self._fetch, chunk_ids)))
            ids, fut = self.pending.popleft()
            if not np.array_equal(ids, chunk_ids):
                raise RuntimeError("the prefetched buffer is not the one the epoch reads")
            self._submit()
        X, y = fut.result()
        if len(self.pending) == 0 and self.next >= len(self.plan):
            self.pool.shutdown(wait=False)
        return _taker(X, y, perm, self.standardizer)
