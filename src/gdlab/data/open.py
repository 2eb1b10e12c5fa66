"""``open_stream``: one entry point from "what the user named" to a BatchStream."""

from __future__ import annotations

import os

import numpy as np

from ..errors import ParameterError
from .datasets import DATASET_NAMES, _dataset_key
from .stream import ArrayStream, BatchStream

ACCEPTED = ("a CSV file (.csv, .tsv), a Parquet file (.parquet, .pq), an IDX pair "
            "('images.idx,labels.idx' or a tuple of two paths), a bundled dataset name ("
            + ", ".join(DATASET_NAMES) + "), an (X, y) pair of arrays, or a BatchStream")


def _is_pathlike(x) -> bool:
    return isinstance(x, (str, os.PathLike))


def open_stream(source, target: str | None = None, **kw) -> BatchStream:
    """Open ``source`` as a :class:`BatchStream`; ``kw`` goes to the stream's constructor.

    ``target`` names the target column of CSV/Parquet files; it must not be
    given for other sources.
    """
    if isinstance(source, BatchStream):
        if target is not None or kw:
            raise ParameterError("source is already a stream; target/options do not apply")
        return source
    if isinstance(source, (tuple, list)) and len(source) == 2:
        if all(_is_pathlike(s) for s in source):
            return _idx_pair(source[0], source[1], target, kw)
        _no_target(target, "(X, y) arrays")
        return ArrayStream(source[0], source[1], **kw)
    if _is_pathlike(source):
        text = os.fspath(source)
        lower = text.lower()
        if isinstance(text, str) and "," in text and not os.path.exists(text):
            parts = [p.strip() for p in text.split(",")]
            if len(parts) == 2 and all(parts):
                return _idx_pair(parts[0], parts[1], target, kw)
        if lower.endswith((".csv", ".tsv", ".txt")):
            from .csv_stream import CSVStream
            if lower.endswith(".tsv"):
                kw.setdefault("delimiter", "\t")
            return CSVStream(text, target, **kw)
        if lower.endswith((".parquet", ".pq")):
            from .parquet_stream import ParquetStream
            return ParquetStream(text, target, **kw)
        if isinstance(source, str) and _dataset_key(source) is not None:
            from .datasets import load_dataset
            _no_target(target, f"dataset {source!r}")
            X, y, info = load_dataset(source)
            kw.setdefault("feature_names", info["feature_names"])
            kw.setdefault("target_name", "target")
            return ArrayStream(X, y, **kw)
        raise ParameterError(f"cannot open {text!r}: expected {ACCEPTED}")
    raise ParameterError(f"cannot open a {type(source).__name__}: expected {ACCEPTED}")


def _idx_pair(images, labels, target, kw) -> ArrayStream:
    from .idx import load_idx_pair
    _no_target(target, "an IDX pair")
    dtype = kw.pop("dtype", np.float64)
    X, y = load_idx_pair(images, labels, dtype=dtype)
    return ArrayStream(X, y, **kw)


def _no_target(target, what: str):
    if target is not None:
        raise ParameterError(f"target={target!r} only applies to CSV/Parquet files, not to {what}")


def load_xy(source, target: str | None = None, features=None, dtype=None):
    """Read all of ``source`` into memory: ``(X, y, feature_names, target_name)``.

    For data that fits in memory (bundled datasets, IDX pairs, moderate files). Files are
    read through their stream, so a bad value is still reported by file, row and column.
    """
    kw = {}
    if features is not None:
        kw["features"] = features
    if dtype is not None:
        kw["dtype"] = dtype
    stream = open_stream(source, target, shuffle=False, **kw)
    if isinstance(stream, ArrayStream):
        return stream.X, stream.y, list(stream.feature_names), stream.target_name
    parts = list(stream.iter_chunks())
    if not parts:
        from ..errors import DataError
        raise DataError("no data rows", file=str(source))
    X = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    return X, y, list(stream.feature_names), stream.target_name
