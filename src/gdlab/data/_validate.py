"""Input checks for in-memory arrays, in the spirit of scikit-learn's ``check_X_y``.

scikit-learn is not imported (it costs about 1.5 s); the messages follow its
wording where people know it (``Expected 2D array, got 1D array instead``).
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError, ParameterError


def _float_dtype(dtype) -> np.dtype:
    return np.dtype(np.float32) if dtype == np.float32 else np.dtype(np.float64)


def _to_float(a, what: str, dtype=None) -> np.ndarray:
    arr = np.asarray(a) if not isinstance(a, np.ndarray) else a
    if arr.dtype.kind == "c":
        raise DataError(f"{what} is complex; gdlab needs real numbers")
    if arr.dtype.kind in "USO" or arr.dtype.kind == "V":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(f"{what} must be numeric ({exc}); "
                            f"encode text values as numbers first") from None
    if arr.dtype.kind not in "biuf":
        raise DataError(f"{what} has dtype {arr.dtype}, which is not numeric")
    target = _float_dtype(arr.dtype if dtype is None else dtype)
    return np.ascontiguousarray(arr, dtype=target)


def first_nonfinite(a: np.ndarray):
    """``(index tuple, 'NaN'|'inf'|'-inf')`` of the first non-finite value, or None."""
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(a.sum()):
            return None
    bad = np.argwhere(~np.isfinite(a))
    if len(bad) == 0:  # the sum overflowed, the values are fine
        return None
    idx = tuple(int(i) for i in bad[0])
    v = a[idx]
    return idx, ("NaN" if np.isnan(v) else ("inf" if v > 0 else "-inf"))


def check_X(X, feature_names=None, dtype=None) -> tuple[np.ndarray, list[str]]:
    arr = X if isinstance(X, np.ndarray) else np.asarray(X)
    if arr.ndim == 0:
        raise DataError(f"Expected 2D array, got scalar array instead:\narray={arr}.\n"
                        "Reshape your data either using array.reshape(-1, 1) if your data "
                        "has a single feature or array.reshape(1, -1) if it contains a "
                        "single sample.")
    if arr.ndim == 1:
        raise DataError(f"Expected 2D array, got 1D array instead:\narray={arr}.\n"
                        "Reshape your data either using array.reshape(-1, 1) if your data "
                        "has a single feature or array.reshape(1, -1) if it contains a "
                        "single sample.")
    if arr.ndim > 2:
        raise DataError(f"Expected 2D array, got {arr.ndim}D array instead (shape "
                        f"{arr.shape}); flatten each sample, e.g. X.reshape(len(X), -1)")
    arr = _to_float(arr, "X", dtype)
    n, p = arr.shape
    if n == 0:
        raise DataError(f"Found array with 0 sample(s) (shape={arr.shape}) while a "
                        "minimum of 1 is required.")
    if p == 0:
        raise DataError(f"Found array with 0 feature(s) (shape={arr.shape}) while a "
                        "minimum of 1 is required.")
    if feature_names is None:
        feature_names = [f"x{j + 1}" for j in range(p)]
    else:
        feature_names = [str(f) for f in feature_names]
        if len(feature_names) != p:
            raise ParameterError(f"{len(feature_names)} feature names for {p} columns of X")
        if len(set(feature_names)) != p:
            raise ParameterError("feature names must be distinct")
    bad = first_nonfinite(arr)
    if bad is not None:
        (i, j), kind = bad
        raise DataError(f"X contains {kind} at X[{i}, {j}]", row=i + 1,
                        column=feature_names[j])
    return arr, feature_names


def check_X_y(X, y, feature_names=None, target_name="y", dtype=None):
    X, feature_names = check_X(X, feature_names, dtype)
    if y is None:
        raise ParameterError("y is required (targets for every row of X)")
    y_arr = y if isinstance(y, np.ndarray) else np.asarray(y)
    if y_arr.ndim == 0 or y_arr.ndim > 2:
        raise DataError(f"y must be 1-D (one target per row) or 2-D, got shape {y_arr.shape}")
    if len(y_arr) != len(X):
        raise DataError(f"X has {len(X)} rows but y has {len(y_arr)}; they must match")
    y_arr = _to_float(y_arr, "y", X.dtype)
    bad = first_nonfinite(y_arr)
    if bad is not None:
        idx, kind = bad
        raise DataError(f"y contains {kind} at y[{', '.join(map(str, idx))}]",
                        row=idx[0] + 1, column=target_name)
    return X, y_arr, feature_names

