"""NumPy arrays and numbers as JSON values: non-finite values (a diverged run's last steps,
a formula outside its domain) become ``null``, which the page draws as a gap."""

from __future__ import annotations

from typing import Any

import numpy as np


def floats(values: Any) -> list[Any]:
    """A list (nested like ``values``) of floats, ``None`` where not finite."""
    a = np.asarray(values, dtype=float)
    finite = np.isfinite(a)
    if finite.all():
        return a.tolist()
    out = a.astype(object)
    out[~finite] = None
    return out.tolist()


def number(value: Any) -> float | None:
    v = float(value)
    return v if np.isfinite(v) else None


def columns(points: Any) -> list[list[Any]]:
    """``(n, d)`` points as ``d`` lists of coordinates (one per variable)."""
    a = np.asarray(points, dtype=float)
    return [floats(a[:, j]) for j in range(a.shape[1])]
