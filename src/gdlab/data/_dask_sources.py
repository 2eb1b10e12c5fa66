"""Blocks of a :class:`~gdlab.data.DaskStream` from dask collections and from files.

Client-side: builds the tasks that make each block on a worker (:mod:`._dask_blocks`),
runs them, and reads back the block sizes. The scheduler keeps every block's task, so a
block lost with its worker is made again from its source.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import DataError, ParameterError
from . import _dask_blocks as B
from .blockset import BlockSet, gather


def collection_blocks(client: Any, X: Any, y: Any, *, dtype: Any, labels: bool,
                      target_name: str) -> BlockSet:
    """Blocks from a dask array or dataframe ``X`` and targets ``y`` (see
    :meth:`DaskStream.from_dask`)."""
    import dask
    dt = None if dtype is None else np.dtype(dtype)
    xparts, yparts, names, starts = _pieces(X, y)
    tasks = [dask.delayed(B.make_block, pure=True)(xp, yp, k, s, dt, names, labels)
             for k, (xp, yp, s) in enumerate(zip(xparts, yparts, starts))]

    def recipe() -> list:
        return list(client.compute(tasks))

    futures = recipe()
    sizes = np.asarray(gather(client, [client.submit(B.n_rows, f, pure=False)
                                       for f in futures]))
    keep = np.flatnonzero(sizes)
    if not len(keep):
        raise DataError("X has no rows")
    dtype, n_targets = gather(client, [client.submit(_kinds, futures[keep[0]],
                                                     pure=False)])[0]
    kept = [futures[i] for i in keep]
    return BlockSet(client, kept, sizes[keep], feature_names=names, target_name=target_name,
                    dtype=dtype, labels=labels, n_targets=n_targets,
                    recipe=_subset(recipe, keep))


def _subset(recipe: Any, keep: np.ndarray) -> Any:
    """A recipe making the blocks ``keep`` of ``recipe``'s (the non-empty ones)."""
    def made() -> list:
        futures = recipe()
        return [futures[i] for i in keep]
    return made


def _kinds(block: B.Block) -> tuple[str, int]:
    """X's dtype and the number of targets of a block."""
    X, y = block
    return X.dtype.str, 1 if y.ndim == 1 else int(y.shape[1])


def _pieces(X: Any, y: Any) -> tuple[list, list, list[str], list[int | None]]:
    """The row pieces of X and y (delayed objects), the feature names and each piece's
    first row (``None`` when unknown)."""
    if hasattr(X, "columns") and hasattr(X, "to_delayed"):  # a dask DataFrame
        names = [str(c) for c in X.columns]
        xparts = list(X.to_delayed())
        yparts = _y_like_partitions(X, y, len(xparts))
        return xparts, yparts, names, [None] * len(xparts)
    if not hasattr(X, "chunks") or getattr(X, "ndim", 0) != 2:
        raise DataError(f"X must be a 2-D dask array or a dask DataFrame, got "
                        f"{type(X).__name__} of shape {getattr(X, 'shape', '?')}")
    if X.numblocks[1] > 1:
        X = X.rechunk({1: -1})
    rows = X.chunks[0]
    known = not any(math.isnan(c) for c in rows)
    names = [f"x{j + 1}" for j in range(X.shape[1])]
    xparts = list(X.to_delayed()[:, 0])
    yparts = _y_like_chunks(y, rows, known, len(xparts))
    starts: list[int | None] = ([int(s) for s in np.concatenate(([0], np.cumsum(rows)))[:-1]]
                                if known else [None] * len(xparts))
    return xparts, yparts, names, starts


def _y_like_chunks(y: Any, rows: tuple, known: bool, n: int) -> list:
    """Pieces of ``y`` with the row chunks ``rows`` of a dask array X."""
    import dask.array as da
    if y is None:
        raise ParameterError("y is required")
    if hasattr(y, "to_dask_array"):  # a dask Series or DataFrame
        y = y.to_dask_array(lengths=True)
    if not hasattr(y, "chunks"):
        y = np.asarray(y)
        if not known:
            raise DataError("X has row chunks of unknown size; give y as a dask array "
                            "with the same chunks (or call X.compute_chunk_sizes())")
        if len(y) != sum(rows):
            raise DataError(f"X has {int(sum(rows)):,} rows but y has {len(y):,}")
        y = da.from_array(y, chunks=(rows,) + y.shape[1:])
    elif known and not any(math.isnan(c) for c in y.chunks[0]):
        if y.shape[0] != sum(rows):
            raise DataError(f"X has {int(sum(rows)):,} rows but y has {y.shape[0]:,}")
        y = y.rechunk({0: rows})
    if y.ndim == 2 and y.numblocks[1] > 1:
        y = y.rechunk({1: -1})
    parts = y.to_delayed()
    parts = list(parts[:, 0] if y.ndim == 2 else parts)
    if len(parts) != n:
        raise DataError(f"X has {n} row blocks but y has {len(parts)}; give y the row "
                        f"chunks of X")
    return parts


def _y_like_partitions(X: Any, y: Any, n: int) -> list:
    """Pieces of ``y`` with the partitions of a dask DataFrame X."""
    if y is None:
        raise ParameterError("y is required")
    if hasattr(y, "to_delayed") and hasattr(y, "npartitions"):
        if y.npartitions != n:
            raise DataError(f"X has {n} partitions but y has {y.npartitions}; take both "
                            f"from the same dataframe (X = df[features], y = df[target])")
        return list(y.to_delayed())
    if hasattr(y, "chunks"):  # a dask array: cut to the partitions' lengths
        lengths = X.map_partitions(len).compute()
        y = y.rechunk({0: tuple(int(v) for v in lengths)})
        return list(y.to_delayed() if y.ndim == 1 else y.to_delayed()[:, 0])
    y = np.asarray(y)
    lengths = np.asarray(X.map_partitions(len).compute(), dtype=np.int64)
    if int(lengths.sum()) != len(y):
        raise DataError(f"X has {int(lengths.sum()):,} rows but y has {len(y):,}")
    cuts = np.cumsum(lengths)[:-1]
    return list(np.split(y, cuts))


def file_blocks(client: Any, paths: list[str], target: str | None,
                features: list[str] | None, *, delimiter: str | None, dtype: Any,
                block_bytes: int) -> BlockSet:
    """Blocks of Parquet or CSV files read by the workers (see
    :meth:`DaskStream.from_files`)."""
    from ._files import check_dtype
    if not isinstance(target, str):
        raise ParameterError("name the target column (target=...) of the files")
    dt = check_dtype(dtype).str
    parquet = paths[0].lower().endswith((".parquet", ".pq"))
    if parquet:
        layouts = gather(client, [client.submit(B.parquet_layout, p, target, features,
                                                pure=False) for p in paths])
    else:
        layouts = gather(client, [client.submit(B.csv_layout, p, target, features, delimiter,
                                                pure=False) for p in paths])
    names = _same_columns(paths, layouts)
    specs: list[Any] = _parquet_specs(paths, layouts, len(names), block_bytes) if parquet else \
        [(p, lay[3]) for p, lay in zip(paths, layouts)]

    def recipe() -> list:
        if parquet:
            return [client.submit(B.read_parquet_rows, p, target, names, a, b, dt, st,
                                  pure=False) for p, a, b, st in specs]
        return [client.submit(B.read_csv_file, p, target, names, delimiter, dt, st,
                              pure=False) for p, st in specs]

    futures = recipe()
    sizes = np.asarray(gather(client, [client.submit(B.n_rows, f, pure=False)
                                       for f in futures]))
    keep = np.flatnonzero(sizes)
    if not len(keep):
        raise DataError("the files have no data rows", file=paths[0])
    return BlockSet(client, [futures[i] for i in keep], sizes[keep], feature_names=names,
                    target_name=target, dtype=dt, recipe=_subset(recipe, keep))


def _same_columns(paths: list[str], layouts: list[tuple]) -> list[str]:
    """The feature names, the same in every file (else a DataError naming the file)."""
    names = layouts[0][0]
    for p, lay in zip(paths[1:], layouts[1:]):
        if lay[0] != names:
            raise DataError(f"the features differ from those of {paths[0]} "
                            f"({len(lay[0])} against {len(names)} columns); give "
                            f"features=... or files with the same columns", file=p)
    return names


def _parquet_specs(paths: list[str], layouts: list[tuple], d: int, block_bytes: int
                   ) -> list[tuple[str, int, int, tuple[int, int]]]:
    """``(path, first row, end row, stamp)`` of each block: runs of whole row groups of at
    least ``block_bytes`` of float64 values (the last run of a file may be smaller)."""
    want = max(1, int(block_bytes) // (8 * (d + 1)))
    specs = []
    for p, (_, _, groups, stamp) in zip(paths, layouts):
        a = rows = 0
        for g in groups:
            rows += int(g)
            if rows - a >= want:
                specs.append((p, a, rows, stamp))
                a = rows
        if rows > a:
            specs.append((p, a, rows, stamp))
    return specs
