"""NumPy arrays and numbers as JSON values: non-finite values (a diverged run's last steps,
a formula outside its domain) become ``null``, which the page draws as a gap."""

from __future__ import annotations

from typing import Any

import numpy as np


def floats(values: Any, digits: int | None = None) -> list[Any]:
    """A list (nested like ``values``) of floats, ``None`` where not finite; ``digits``
    significant digits for what is only drawn (a grid's values: a third of the text)."""
    a = np.asarray(values, dtype=float)
    finite = np.isfinite(a)
    if digits is not None:
        with np.errstate(all="ignore"):
            scale = 10.0 ** (digits - 1 - np.floor(np.log10(np.abs(a))))
            rounded = np.round(a * scale) / scale
        a = np.where(finite & (a != 0) & np.isfinite(rounded), rounded, a)
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
