"""The function under the picture: what the caller gave as ``f`` (a
:class:`~gdlab.calculus.Function`, formula text, a test function's name, a sympy expression,
an objective with ``value``, or a Python callable) as one view, :class:`_Fn`, with values and
gradients on ``(n, d)`` arrays; the variable names and labels that go with it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..errors import ParameterError
from ._figure import _short


@dataclass
class _Fn:
    """A uniform view of what ``f`` was given as: values and gradients on ``(n, d)`` arrays."""

    value: Callable[[np.ndarray], np.ndarray]
    grad: Callable[[np.ndarray], np.ndarray]
    text: str
    variables: tuple[str, ...] | None
    test_function: Any
    d: int | None


def _numeric_grad(value: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """Gradients of ``value`` on ``(n, d)`` points by central differences
    (:func:`gdlab.calculus.numeric_gradient_rows`), quiet where ``f`` is not finite."""
    from ..calculus import numeric_gradient_rows

    def grad(X: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return numeric_gradient_rows(value, X)

    return grad


def _wrap_callable(f: Callable, d: int | None, probe: np.ndarray | None) -> Callable:
    """Values of a Python callable on ``(n, d)`` points: vectorized when it gives the same
    numbers as point-by-point calls on a few probe points, point by point otherwise."""

    def rowwise(X: np.ndarray) -> np.ndarray:
        return np.array([_point_value(f, r) for r in np.asarray(X, dtype=float)], dtype=float)

    if d is None or probe is None or len(probe) < 2:
        return rowwise
    P = np.asarray(probe, dtype=float)[:5]
    expected = rowwise(P)
    tries = [lambda X: f(X)]
    if d == 1:
        tries.insert(0, lambda X: f(X[:, 0]))
    for attempt in tries:
        if _agrees(attempt, P, expected):
            return _vectorized(attempt, rowwise)
    return rowwise


def _point_value(f: Callable, row: np.ndarray) -> float:
    """``f`` at one point (a float for one variable, else the row; the row if the float
    fails), NaN where the call fails or does not give one number."""
    try:
        with np.errstate(all="ignore"):
            v = f(float(row[0])) if len(row) == 1 else f(row)
    except (TypeError, IndexError):
        try:
            with np.errstate(all="ignore"):
                v = f(row)
        except Exception:
            return math.nan
    except Exception:
        return math.nan
    try:
        return float(np.asarray(v, dtype=float).reshape(-1)[0]) if np.size(v) == 1 else math.nan
    except (TypeError, ValueError):
        return math.nan


def _agrees(attempt: Callable, P: np.ndarray, expected: np.ndarray) -> bool:
    """Whether ``attempt`` on the probe points ``P`` gives one number per point, the same
    as point by point (``expected``), or numbers where point-by-point calls failed."""
    try:
        with np.errstate(all="ignore"):
            got = np.asarray(attempt(P), dtype=float)
    except Exception:
        return False
    if got.size != len(P):
        return False
    got = got.reshape(-1)
    return bool(np.allclose(got, expected, equal_nan=True, rtol=1e-9, atol=1e-12) or (
        np.all(np.isnan(expected)) and np.isfinite(got).any()))


def _vectorized(attempt: Callable, rowwise: Callable) -> Callable:
    """``attempt`` on all the points at once; ``rowwise`` where that fails."""

    def vec(X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        try:
            with np.errstate(all="ignore"):
                out = np.asarray(attempt(X), dtype=float).reshape(-1)
            if out.size == len(X):
                return out
        except Exception:
            pass
        return rowwise(X)

    return vec


def _resolve(f: Any, d: int | None = None, probe: np.ndarray | None = None) -> _Fn:
    """Turn what the caller gave as ``f`` (not ``None``) into a :class:`_Fn`."""
    from ..calculus import Function
    from ..functions import TestFunction

    if isinstance(f, TestFunction):
        f = Function(f.name)
    if isinstance(f, str) or (type(f).__module__ or "").startswith("sympy"):
        f = Function(f)
    if isinstance(f, Function):
        fn = f

        def value(X: np.ndarray) -> np.ndarray:
            with np.errstate(all="ignore"):
                return np.asarray(fn.value(np.asarray(X, dtype=float)), dtype=float)

        def grad(X: np.ndarray) -> np.ndarray:
            with np.errstate(all="ignore"):
                return np.asarray(fn.value_and_grad(np.asarray(X, dtype=float))[1], dtype=float)

        tf = fn.test_function
        text = f"{tf.title}: {_short(tf.formula, 60)}" if tf is not None else _short(fn.text)
        return _Fn(value, grad, text, fn.variables, tf, fn.n_vars)
    if hasattr(f, "value") and callable(f.value):
        obj = f

        def value(X: np.ndarray) -> np.ndarray:
            with np.errstate(all="ignore"):
                return np.asarray(obj.value(np.asarray(X, dtype=float), None),
                                  dtype=float).reshape(-1)

        name, d = type(obj).__name__, getattr(obj, "d", d)
        if not hasattr(obj, "value_and_grad"):
            return _Fn(value, _numeric_grad(value), name, None, None, d)

        def grad(X: np.ndarray) -> np.ndarray:
            with np.errstate(all="ignore"):
                return np.asarray(obj.value_and_grad(np.asarray(X, dtype=float), None)[1],
                                  dtype=float)

        return _Fn(value, grad, name, None, None, d)
    if callable(f):
        name = getattr(f, "__name__", "f")
        text = "f" if not name or name.startswith("<") else name
        value = _wrap_callable(f, d, probe)
        return _Fn(value, _numeric_grad(value), text, None, None, d)
    raise ParameterError(f"f must be formula text, a Function or a callable, "
                         f"got {type(f).__name__}")


def _var_names(F: _Fn | None, result: Any, d: int) -> tuple[str, ...]:
    names = tuple(getattr(result, "variables", ()) or ()) if result is not None else ()
    if len(names) != d and F is not None and F.variables and len(F.variables) == d:
        names = F.variables
    if len(names) != d:
        names = ("x",) if d == 1 else ("x", "y") if d == 2 else tuple(f"x{i + 1}" for i in range(d))
    return names


def _bounds_of(F: _Fn | None, d: int) -> np.ndarray | None:
    tf = F.test_function if F is not None else None
    if tf is None or len(tf.bounds) != d:
        return None
    return np.asarray(tf.bounds, dtype=float)


def _fn_label(F: _Fn, name: str) -> str:
    if F.test_function is None and F.text not in ("f", ""):
        return f"f({name}) = {_short(F.text, 50)}"
    return f"f({name})"
