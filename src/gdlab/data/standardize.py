"""Per-feature standardization fitted in one streaming pass.

Column statistics are merged chunk by chunk with Chan et al.'s parallel
formula (exact for count and mean, numerically stable for the sum of squared
deviations), so a file never has to be in memory at once.
"""

from __future__ import annotations

import warnings
from typing import Iterable

import numpy as np

from .. import kernels
from ..errors import DataError, ParameterError
from ._names import listing


class ConstantColumnWarning(UserWarning):
    """Columns with standard deviation 0: they are centred but not scaled.

    One warning lists every constant column of a fit; ``columns`` holds their positions
    and ``names`` their names.
    """

    def __init__(self, message: str, columns: list[int] | None = None,
                 names: list[str] | None = None):
        super().__init__(message)
        self.columns = list(columns or [])
        self.names = list(names or [])


class RunningStats:
    """Count, mean, sum of squared deviations (M2), min and max per column, mergeable.

    ``update(X)`` folds a chunk (rows x columns) in; ``merge(other)`` folds
    another ``RunningStats`` in.  All in float64.
    """

    def __init__(self, n_columns: int):
        self.n = 0
        self.mean = np.zeros(n_columns, dtype=np.float64)
        self.m2 = np.zeros(n_columns, dtype=np.float64)
        self.min = np.full(n_columns, np.inf)
        self.max = np.full(n_columns, -np.inf)

    #: rows per block in :meth:`update`: blocks of a few MB stay in cache, so the float64
    #: conversion and the squared deviations never make copies of the whole input
    _BLOCK_BYTES = 4 << 20

    def update(self, X: np.ndarray) -> "RunningStats":
        X = np.asarray(X)
        if X.ndim == 1:
            X = X[:, None]
        if X.shape[0] == 0:
            return self
        rows = max(1, self._BLOCK_BYTES // (8 * max(1, X.shape[1])))
        for start in range(0, X.shape[0], rows):
            B = np.asarray(X[start:start + rows], dtype=np.float64)
            other = RunningStats(B.shape[1])
            other.n = B.shape[0]
            other.mean = B.mean(axis=0)
            d = B - other.mean
            np.square(d, out=d)
            other.m2 = d.sum(axis=0)
            other.min = B.min(axis=0)
            other.max = B.max(axis=0)
            self.merge(other)
        return self

    def merge(self, other: "RunningStats") -> "RunningStats":
        if other.n == 0:
            return self
        if self.n == 0:
            self.n, self.mean, self.m2 = other.n, other.mean.copy(), other.m2.copy()
            self.min, self.max = other.min.copy(), other.max.copy()
            return self
        self.min = np.minimum(self.min, other.min)
        self.max = np.maximum(self.max, other.max)
        n = self.n + other.n
        delta = other.mean - self.mean
        self.mean = self.mean + delta * (other.n / n)
        self.m2 = self.m2 + other.m2 + delta ** 2 * (self.n * other.n / n)
        self.n = n
        return self

    def copy(self) -> "RunningStats":
        c = RunningStats(len(self.mean))
        c.n, c.mean, c.m2 = self.n, self.mean.copy(), self.m2.copy()
        c.min, c.max = self.min.copy(), self.max.copy()
        return c

    @property
    def var(self) -> np.ndarray:
        """Population variance (ddof=0), like ``numpy.var``."""
        if self.n == 0:
            return np.full_like(self.mean, np.nan)
        return self.m2 / self.n

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(self.var)


def _constant_mask(stats: RunningStats, var: np.ndarray) -> np.ndarray:
    # All values equal, or (scikit-learn's bound) a variance indistinguishable from rounding noise.
    eps = np.finfo(np.float64).eps
    upper = stats.n * eps * var + (stats.n * stats.mean * eps) ** 2
    return (stats.min == stats.max) | (var <= upper)


class Standardizer:
    """``(X - mean) / scale`` per feature; ``scale`` is the std, or 1 for constant columns.

    Fit with :meth:`fit` (an array), :meth:`fit_chunks` (any iterable of
    arrays) or :meth:`fit_stream` (a :class:`~gdlab.data.BatchStream`; file
    streams reuse the statistics of their validation scan, so no extra pass).
    Store with :meth:`to_dict` / :meth:`from_dict` (plain lists, no pickle).
    """

    def __init__(self) -> None:
        self.mean_: np.ndarray | None = None
        self.std_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None
        self.n_samples_: int = 0
        self.feature_names_: list[str] | None = None
        #: which columns were constant when fitted (``None`` for one read from a dict)
        self.constant_: np.ndarray | None = None

    # -- fitting ------------------------------------------------------------
    def fit(self, X, feature_names: list[str] | None = None) -> "Standardizer":
        X = np.asarray(X)
        if X.dtype.kind not in "biuf":
            X = X.astype(np.float64)
        if X.ndim != 2:
            raise ParameterError(f"Standardizer.fit expects a 2-D array, got {X.ndim}-D")
        return self.fit_chunks([X], feature_names=feature_names)

    def fit_chunks(self, chunks: Iterable, feature_names: list[str] | None = None
                   ) -> "Standardizer":
        stats = None
        for X in chunks:
            X = np.asarray(X)  # RunningStats.update converts block by block
            if stats is None:
                stats = RunningStats(X.shape[1])
            stats.update(X)
        if stats is None or stats.n == 0:
            raise DataError("cannot fit a Standardizer on no rows")
        return self.fit_stats(stats, feature_names)

    def fit_stream(self, stream) -> "Standardizer":
        """Fit on a stream's features (the stream's own standardizer is ignored)."""
        return self.fit_stats(stream.feature_stats(), list(stream.feature_names))

    def fit_stats(self, stats: RunningStats, feature_names: list[str] | None = None
                  ) -> "Standardizer":
        if stats.n == 0:
            raise DataError("cannot fit a Standardizer on no rows")
        if not (np.all(np.isfinite(stats.mean)) and np.all(np.isfinite(stats.m2))):
            raise DataError("cannot fit a Standardizer: the data contain NaN or inf "
                            "(or overflow float64)")
        n_features = len(stats.mean)
        if feature_names is None:
            feature_names = [f"x{j + 1}" for j in range(n_features)]
        if len(feature_names) != n_features:
            raise ParameterError(f"{len(feature_names)} feature names for {n_features} columns")
        var = stats.var
        constant = _constant_mask(stats, var)
        exact = stats.min == stats.max
        mean = np.where(exact, stats.min, stats.mean)  # a constant column centres to exactly 0
        std = np.where(exact, 0.0, np.sqrt(var))
        if constant.any():
            cols = [int(j) for j in np.flatnonzero(constant)]
            names = [feature_names[j] for j in cols]
            what = f"column {names[0]!r} is" if len(cols) == 1 else \
                f"{len(cols)} columns are"
            warnings.warn(ConstantColumnWarning(
                f"{what} constant (std 0), centred but left unscaled (scale 1)"
                + (f": {listing(names)}" if len(cols) > 1 else ""), cols, names), stacklevel=2)
        self.mean_ = mean
        self.std_ = std
        self.scale_ = np.where(constant, 1.0, std)
        self.constant_ = constant
        self.n_samples_ = int(stats.n)
        self.feature_names_ = list(feature_names)
        return self

    # -- applying -----------------------------------------------------------
    @property
    def n_features(self) -> int:
        self._check_fitted()
        assert self.mean_ is not None
        return len(self.mean_)

    def _check_fitted(self):
        if self.mean_ is None:
            raise ParameterError("this Standardizer is not fitted yet; call fit/fit_stream first")

    def _prepare(self, X):
        self._check_fitted()
        X = np.asarray(X)
        if not np.issubdtype(X.dtype, np.floating):
            X = X.astype(np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.mean_):
            raise ParameterError(f"Standardizer was fitted on {len(self.mean_)} features, "
                                 f"got an array of shape {X.shape}")
        return X, self.mean_.astype(X.dtype), self.scale_.astype(X.dtype)

    def transform(self, X) -> np.ndarray:
        """``(X - mean) / scale``; float32 stays float32, other input becomes float64."""
        X, mean, scale = self._prepare(X)
        out = np.subtract(X, mean)  # one new array, not two: (X - mean) / scale in place
        out /= scale
        return out

    def take(self, X, rows) -> np.ndarray:
        """``transform(np.take(X, rows, axis=0))``: the rows ``rows`` of ``X`` (integer
        positions, negative ones from the end), standardized. With numba, in one compiled
        pass (:func:`gdlab.kernels.standardized_rows`) that writes each row once as it reads
        it, with the same operations, so the same numbers to the bit; this is how a
        stream standardizes a shuffled batch while picking its rows. Without numba (or
        for other arrays than a 2-D float32/float64 ``X`` and 1-D signed integer ``rows``),
        NumPy's take and then :meth:`transform`."""
        X = np.asarray(X)
        rows = np.asarray(rows)
        kernel = kernels.standardized_rows()
        if kernel is not None and X.dtype in kernels.FLOAT_DTYPES and rows.ndim == 1 \
                and rows.dtype.kind == "i":
            X, mean, scale = self._prepare(X)
            out = np.empty((rows.shape[0], X.shape[1]), dtype=X.dtype)
            if kernel(X, rows, mean, scale, out) < 0:
                return out
        return self.transform(np.take(X, rows, axis=0))  # (raises NumPy's IndexError)

    def inverse_transform(self, Z) -> np.ndarray:
        Z, mean, scale = self._prepare(Z)
        return Z * scale + mean

    # -- storage ------------------------------------------------------------
    def to_dict(self) -> dict:
        self._check_fitted()
        assert self.mean_ is not None and self.std_ is not None and self.scale_ is not None
        assert self.feature_names_ is not None  # all four are set together by fit_stats
        return {"mean": self.mean_.tolist(), "std": self.std_.tolist(),
                "scale": self.scale_.tolist(), "n_samples": self.n_samples_,
                "feature_names": list(self.feature_names_)}

    @classmethod
    def from_dict(cls, d: dict) -> "Standardizer":
        try:
            mean = np.asarray(d["mean"], dtype=np.float64).reshape(-1)
            scale = np.asarray(d["scale"], dtype=np.float64).reshape(-1)
            std = np.asarray(d.get("std", scale), dtype=np.float64).reshape(-1)
        except (KeyError, TypeError, ValueError) as exc:
            raise ParameterError(f"not a Standardizer dict: {exc}") from None
        if not (len(mean) == len(scale) == len(std)):
            raise ParameterError("Standardizer dict: mean, std and scale differ in length")
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(scale)) and np.all(scale > 0)):
            raise ParameterError("Standardizer dict: mean must be finite and scale finite and > 0")
        names = d.get("feature_names") or [f"x{j + 1}" for j in range(len(mean))]
        if len(names) != len(mean):
            raise ParameterError("Standardizer dict: wrong number of feature names")
        s = cls()
        s.mean_, s.std_, s.scale_ = mean, std, scale
        s.n_samples_ = int(d.get("n_samples", 0))
        s.feature_names_ = [str(n) for n in names]
        return s

    def __repr__(self):
        if self.mean_ is None:
            return "Standardizer(unfitted)"
        return f"Standardizer(n_features={len(self.mean_)}, n_samples={self.n_samples_})"
