"""The playground's data: 1-D points for regression, 2-D sets for classification (gdlab's
blobs, scikit-learn's moons and circles, spirals), and a small CSV the user uploads (its
text arrives in the JSON body; at most ``MAX_ROWS`` rows)."""

from __future__ import annotations

import csv
import io
import math
from typing import Any

import numpy as np

from .. import checks
from ..data.datasets import make_classification_blobs, make_linear
from ..errors import DataError, ParameterError
from . import limits

REGRESSION = ("line", "csv")
CLASSIFICATION = ("blobs", "moons", "circles", "spirals", "csv")


def dataset(spec: Any, task: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``(X, y, class names)`` of the requested set (class names empty for regression)."""
    names = REGRESSION if task == "regression" else CLASSIFICATION
    name = checks.choice("dataset", limits.field(spec, "name", names[0]), names)
    if name == "csv":
        return from_csv(limits.text(spec, "text", limit=limits.MAX_BODY_BYTES), task)
    n = limits.count(spec, "n", 200, maximum=limits.MAX_ROWS, minimum=4)
    noise = limits.number(spec, "noise", None, low=0, high=10)
    seed = limits.count(spec, "seed", 0, maximum=2**31 - 1, minimum=0)
    if name == "line":
        X, y, _, _ = make_linear(n, 1, noise=1.0 if noise is None else noise, seed=seed,
                                 coef=[1.5], intercept=2.0)
        return X, y, []
    k = limits.count(spec, "classes", 2 if name in ("blobs", "spirals") else 2,
                     maximum=limits.MAX_CLASSES, minimum=2)
    X, y = _classes(name, n, k, noise, seed)
    return X, y, [str(c) for c in range(int(y.max()) + 1)]


def _classes(name: str, n: int, k: int, noise: float | None,
             seed: int) -> tuple[np.ndarray, np.ndarray]:
    if name == "blobs":
        return make_classification_blobs(n, k, 2, spread=1.0 if noise is None else noise,
                                         seed=seed)
    if name == "spirals":
        return spirals(n, k, 0.2 if noise is None else noise, seed)
    from sklearn.datasets import make_circles, make_moons
    if name == "moons":
        X, y = make_moons(n, noise=0.15 if noise is None else noise, random_state=seed)
    else:
        X, y = make_circles(n, noise=0.08 if noise is None else noise, factor=0.5,
                            random_state=seed)
    return X.astype(float), y.astype(np.int64)


def spirals(n: int, k: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``k`` interleaved spiral arms of about ``n / k`` points each (one and a half turns)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    t = rng.uniform(0.0, 1.0, n)
    r = 0.3 + 2.7 * t
    angle = 3 * math.pi * t + 2 * math.pi * y / k
    X = np.column_stack([r * np.cos(angle), r * np.sin(angle)])
    X += noise * rng.standard_normal(X.shape)
    return X, y.astype(np.int64)


def from_csv(text: str, task: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Columns ``x, y`` (regression) or ``x1, x2, label`` (classification), an optional
    header line; errors name the row and column."""
    width = 2 if task == "regression" else 3
    rows = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
    if rows and not _numeric(rows[0][0]):
        rows = rows[1:]                           # a header
    if len(rows) < 4:
        raise DataError(f"the CSV needs at least 4 rows of {width} columns", file="upload")
    if len(rows) > limits.MAX_ROWS:
        raise DataError(f"{len(rows):,} rows: the playground takes at most "
                        f"{limits.MAX_ROWS:,}", file="upload")
    X = np.empty((len(rows), width - 1))
    labels = []
    for i, row in enumerate(rows, start=1):
        if len(row) != width:
            raise DataError(f"expected {width} columns, found {len(row)}", file="upload", row=i)
        for j in range(width - 1):
            X[i - 1, j] = _value(row[j], i, j)
        labels.append(row[-1].strip())
    if task == "regression":
        y = np.array([_value(v, i, 1) for i, v in enumerate(labels, start=1)])
        return X, y, []
    classes = sorted(set(labels), key=lambda c: (not _numeric(c), float(c) if _numeric(c)
                                                 else 0.0, c))
    if not 2 <= len(classes) <= limits.MAX_CLASSES:
        raise DataError(f"{len(classes)} classes in the last column: the playground takes 2 to "
                        f"{limits.MAX_CLASSES}", file="upload")
    index = {c: i for i, c in enumerate(classes)}
    return X, np.array([index[c] for c in labels], dtype=np.int64), classes


def _numeric(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _value(text: str, row: int, col: int) -> float:
    try:
        v = float(text)
    except ValueError:
        raise DataError(f"{text.strip()[:20]!r} is not a number", file="upload", row=row,
                        column=str(col + 1)) from None
    if not math.isfinite(v) or abs(v) > limits.MAX_COORD:
        raise DataError(f"{v!r} is not a finite number of at most {limits.MAX_COORD:g} in size",
                        file="upload", row=row, column=str(col + 1))
    return v


def split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices ``(train, validation)``; ``fraction`` 0 keeps every row for training."""
    if not 0 <= fraction < 1:
        raise ParameterError(f"validation must be in [0, 1), got {fraction}")
    perm = np.random.default_rng(seed).permutation(n)
    k = int(round(fraction * n))
    if n - k < 2:
        raise ParameterError("too few rows left to train on")
    return np.sort(perm[k:]), np.sort(perm[:k])
