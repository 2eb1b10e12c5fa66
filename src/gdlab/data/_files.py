"""Helpers shared by the file streams (CSV, Parquet)."""

from __future__ import annotations

import os

import numpy as np

from ..errors import DataError, ParameterError


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


def select_columns(columns: list[str], target, features, file: str) -> tuple[list[str], str]:
    """Validate ``target``/``features`` against the file's columns; return (features, target)."""
    available = ", ".join(repr(c) for c in columns)
    _check_target(columns, target, file, available)
    if features is None:
        features = [c for c in columns if c != target]
        if not features:
            raise DataError(f"no feature columns: the file has only the target column "
                            f"{target!r}", file=file)
    else:
        features = _given_features(columns, target, features, file, available)
    for c in features + [target]:
        if columns.count(c) > 1:
            raise DataError("the header names this column more than once", file=file, column=c)
    return features, target


def _check_target(columns: list[str], target, file: str, available: str) -> None:
    """Refuse a missing target, one that is not a str, or one the file does not hold."""
    if target is None:
        raise ParameterError(f"{file}: name the target column (target=...); available "
                             f"columns: {available}")
    if not isinstance(target, str):
        raise ParameterError(f"target must be a column name (str), got {target!r}")
    if target not in columns:
        raise DataError(f"target column not found; available columns: {available}",
                        file=file, column=target)


def _given_features(columns: list[str], target: str, features, file: str,
                    available: str) -> list[str]:
    """The features the caller named, as a list, each a distinct column other than the target."""
    if isinstance(features, str):
        features = [features]
    features = list(features)
    if not features:
        raise ParameterError("features must name at least one column (or be None)")
    for f in features:
        if not isinstance(f, str):
            raise ParameterError(f"feature names must be str, got {f!r}")
        if f not in columns:
            raise DataError(f"feature column not found; available columns: {available}",
                            file=file, column=f)
    if len(set(features)) != len(features):
        raise ParameterError(f"features lists a column twice: {features}")
    if target in features:
        raise ParameterError(f"column {target!r} is both the target and a feature")
    return features


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
