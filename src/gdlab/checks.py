"""Argument checks for the whole package: one function per kind of value, one message style.

Every check returns the value in its plain Python type (``float``, ``int``, ``bool``, ``str``)
or raises :class:`~gdlab.errors.ParameterError` with the message

    ``<name> must be <what is allowed>, got <the value>``

so that every library entry point (optimizers, schedules, ``minimize``, models, data
generators) words its refusals the same way. ``None`` is accepted only where ``none=True``
says that the option may be switched off.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from .errors import ParameterError

__all__ = ["number", "count", "flag", "choice", "float_dtype", "rng", "pair"]


def _refuse(name: str, what: str, value: Any) -> ParameterError:
    return ParameterError(f"{name} must be {what}, got {value!r}")


def _interval(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    """Words for the allowed range: "a positive number", "a number in [0, 1)", ..."""
    if high is None:
        if low is None:
            return "a finite number"
        if low == 0:
            return "a positive number" if low_open else "a non-negative number"
        return f"a number {'>' if low_open else '>='} {low:g}"
    if low is None:
        return f"a number {'<' if high_open else '<='} {high:g}"
    return (f"a number in {'(' if low_open else '['}{low:g}, {high:g}"
            f"{')' if high_open else ']'}")


def number(name: str, value: Any, *, low: float | None = None, high: float | None = None,
           low_open: bool = False, high_open: bool = False, none: bool = False) -> Any:
    """A finite real number within ``[low, high]`` (``low_open``/``high_open`` exclude the
    ends). Booleans and text are refused; ``None`` passes through when ``none``."""
    if value is None and none:
        return None
    what = _interval(low, high, low_open, high_open)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise _refuse(name, what, value)
    v = float(value)
    bad = not math.isfinite(v)
    if low is not None:
        bad = bad or (v <= low if low_open else v < low)
    if high is not None:
        bad = bad or (v >= high if high_open else v > high)
    if bad:
        raise _refuse(name, what, value)
    return v


def count(name: str, value: Any, *, minimum: int = 0, maximum: int | None = None,
          none: bool = False) -> Any:
    """A whole number ``>= minimum`` (and ``<= maximum``); ``3.0`` is accepted as 3, ``2.5``
    and booleans are refused."""
    if value is None and none:
        return None
    if minimum == 1:
        what = "a positive whole number"
    elif minimum == 0:
        what = "a non-negative whole number"
    else:
        what = f"a whole number >= {minimum}"
    if maximum is not None:
        what += f" at most {maximum:,}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise _refuse(name, what, value)
    v = float(value)
    if not math.isfinite(v) or v != int(v) or v < minimum or \
            (maximum is not None and v > maximum):
        raise _refuse(name, what, value)
    return int(v)


def flag(name: str, value: Any) -> bool:
    """``True`` or ``False`` (NumPy booleans included); numbers and text are refused."""
    if not isinstance(value, (bool, np.bool_)):
        raise _refuse(name, "True or False", value)
    return bool(value)


def choice(name: str, value: Any, options: Iterable[str], *, aliases: dict[str, str] | None = None
           ) -> str:
    """One of ``options`` (case-insensitive; ``aliases`` map other spellings to an option),
    with a "did you mean" for near misses."""
    opts = list(options)
    key = str(value).strip().lower() if isinstance(value, str) else None
    if key is not None and aliases and key in aliases:
        key = aliases[key]
    if key in opts:
        return key
    close = difflib.get_close_matches(key or "", opts + list(aliases or ()), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ParameterError(f"{name} must be one of {', '.join(opts)}, got {value!r}{hint}")


def float_dtype(name: str, value: Any) -> np.dtype:
    """A floating NumPy dtype (``float32``, ``float64``, ...)."""
    what = "a floating dtype such as float32 or float64"
    try:
        dt = np.dtype(value)
    except TypeError:
        raise _refuse(name, what, value) from None
    if dt.kind != "f":
        raise _refuse(name, what, value)
    return dt


def rng(name: str, value: Any) -> np.random.Generator:
    """A NumPy ``Generator``, from a generator, an integer seed or ``None``."""
    if isinstance(value, np.random.Generator):
        return value
    if value is None or (isinstance(value, (int, np.integer)) and not isinstance(value, bool)):
        return np.random.default_rng(value)
    raise _refuse(name, "a numpy Generator, an integer seed or None", value)


def pair(name: str, value: Any, *, low: float | None = None, high: float | None = None,
         low_open: bool = False, high_open: bool = False) -> tuple[float, float]:
    """Two numbers, each checked as :func:`number` (``betas``, ``etas``, ...)."""
    try:
        a, b = value
    except (TypeError, ValueError):
        raise _refuse(name, "a pair of numbers", value) from None
    kw: dict[str, Any] = {"low": low, "high": high, "low_open": low_open,
                          "high_open": high_open}
    return number(f"{name}[0]", a, **kw), number(f"{name}[1]", b, **kw)
