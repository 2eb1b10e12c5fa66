"""``open_stream``: one entry point from "what the user named" to a BatchStream."""

from __future__ import annotations

import os

import numpy as np

from ..errors import DataError, ParameterError
from ._names import did_you_mean, on_command_line, option
from .datasets import DATASET_NAMES, _dataset_key
from .stream import ArrayStream, BatchStream

_FILES = ("a CSV file (.csv, .tsv, .txt), a Parquet file (.parquet, .pq), an IDX pair "
          "('images.idx,labels.idx'")
ACCEPTED = (_FILES + " or a tuple of two paths), a bundled dataset name ("
            + ", ".join(DATASET_NAMES) + "), an (X, y) pair of arrays, or a BatchStream")


def _accepted() -> str:
    """What can be opened, in the words of the command line or of Python."""
    if on_command_line():
        return f"{_FILES}) or a bundled dataset ({', '.join(DATASET_NAMES)})"
    return ACCEPTED


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
        return _open_path(source, target, kw)
    raise ParameterError(f"cannot open a {type(source).__name__}: expected {_accepted()}")


def _open_path(source, target: str | None, kw: dict) -> BatchStream:
    """A file, an IDX pair written as one text, or a bundled dataset's name."""
    text = os.fspath(source)
    lower = text.lower()
    if isinstance(text, str) and "," in text and not os.path.exists(text):
        parts = [p.strip() for p in text.split(",")]
        if len(parts) == 2 and all(parts):
            return _idx_pair(parts[0], parts[1], target, kw)
    if lower.endswith((".csv", ".tsv", ".txt")):
        from .csv_stream import CSVStream
        if lower.endswith(".tsv") and kw.get("delimiter") is None:
            kw["delimiter"] = "\t"
        return CSVStream(text, target, **kw)
    if lower.endswith((".parquet", ".pq")):
        from .parquet_stream import ParquetStream
        if kw.get("delimiter", None) is not None:
            raise ParameterError("a delimiter is for CSV files, not Parquet files")
        kw.pop("delimiter", None)
        return ParquetStream(text, target, **kw)
    if isinstance(source, str) and _dataset_key(source) is not None:
        from .datasets import load_dataset
        _no_target(target, f"dataset {source!r}")
        _no_delimiter(kw, f"dataset {source!r}")
        X, y, info = load_dataset(source)
        kw.setdefault("feature_names", info["feature_names"])
        kw.setdefault("target_name", "target")
        return ArrayStream(X, y, **kw)
    raise _unknown_source(text)


def _unknown_source(text: str) -> Exception:
    """The error for a name that is neither a readable file nor a bundled dataset."""
    if os.path.isfile(text):
        return DataError(f"cannot read this kind of file: expected {_accepted()}", file=text)
    if os.path.isdir(text):
        return DataError(f"is a folder: expected {_accepted()}", file=text)
    hint = did_you_mean(text.strip().lower().replace("-", "_"), list(DATASET_NAMES))
    return ParameterError(f"no file or bundled dataset named {text!r}{hint} (expected "
                          f"{_accepted()})")


def _idx_pair(images, labels, target, kw) -> ArrayStream:
    from .idx import load_idx_pair
    _no_target(target, "an IDX pair")
    _no_delimiter(kw, "an IDX pair")
    dtype = kw.pop("dtype", np.float64)
    X, y = load_idx_pair(images, labels, dtype=dtype)
    return ArrayStream(X, y, **kw)


def _no_delimiter(kw: dict, what: str) -> None:
    if kw.pop("delimiter", None) is not None:
        raise ParameterError(f"{option('delimiter')} only applies to CSV files, not to {what}")


def _no_target(target, what: str):
    if target is not None:
        raise ParameterError(f"{option('target')} only applies to CSV/Parquet files, not to "
                             f"{what}")


def load_xy(source, target: str | None = None, features=None, dtype=None, delimiter=None):
    """Read all of ``source`` into memory: ``(X, y, feature_names, target_name)``.

    For data that fits in memory (bundled datasets, IDX pairs, moderate files). Files are
    read through their stream, so a bad value is still reported by file, row and column;
    a target of text class labels comes back as the labels. ``delimiter``: of a CSV file
    (default: sniffed).
    """
    kw: dict = {}
    if features is not None:
        kw["features"] = features
    if dtype is not None:
        kw["dtype"] = dtype
    if delimiter is not None:
        kw["delimiter"] = delimiter
    stream = open_stream(source, target, shuffle=False, **kw)
    if isinstance(stream, ArrayStream):
        return stream.X, stream.y, list(stream.feature_names), stream.target_name
    parts = list(stream.iter_chunks())
    if not parts:
        raise DataError("no data rows", file=str(source))
    X = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    classes = getattr(stream, "classes", None)
    if classes is not None:  # text class labels: hand out the labels themselves
        y = classes[y.astype(np.intp)]
    return X, y, list(stream.feature_names), stream.target_name
