"""The caps every request of the playground's API lives within, enforced on the server.

Each cap bounds the work or the memory one request can ask for; a value past a cap is
refused with a :class:`~gdlab.errors.ParameterError` (HTTP 400) that names the cap, never
silently cut. ``TIME_LIMIT`` is the wall clock of one request's computation: it is passed
to gdlab as ``time_limit`` (descent and training stop with status ``time_limit`` and say
so), and checked between runs.
"""

from __future__ import annotations

import time
from typing import Any

from .. import checks
from ..errors import ParameterError

#: request bodies larger than this are refused with 413 (Content-Length and bytes counted)
MAX_BODY_BYTES = 1_000_000
#: optimizers (runs) side by side in one request
MAX_RUNS = 8
#: starting points per request (every run starts from each of them)
MAX_STARTS = 20
#: updates per run (``max_iter``)
MAX_STEPS = 5_000
#: numbers of all paths sent back: runs x starts x (steps + 1) x (variables + 1)
MAX_PATH_VALUES = 1_000_000
#: variables of a formula
MAX_VARIABLES = 10
#: cells per side of a two-variable function's grid
MAX_GRID = 200
#: points of a one-variable function's curve
MAX_CURVE = 2_000
#: arrows per side of a gradient field
MAX_FIELD = 30
#: |coordinate| of a view, a start or a data value
MAX_COORD = 1e6
#: rows of a data set (generated or uploaded)
MAX_ROWS = 2_000
#: classes of a classification data set
MAX_CLASSES = 8
#: training epochs per run
MAX_EPOCHS = 1_000
#: pictures of a training run sent back (parameters or region grids)
MAX_SNAPSHOTS = 100
#: cells per side of a decision-region grid
MAX_REGION = 80
#: hidden layers of an MLP, and units per hidden layer
MAX_LAYERS = 4
MAX_UNITS = 64
#: seconds of computation per request
TIME_LIMIT = 5.0


class Deadline:
    """The wall clock of one request: ``left()`` seconds remain; ``passed`` once spent."""

    def __init__(self, seconds: float | None = None):
        self.seconds = TIME_LIMIT if seconds is None else seconds
        self.end = time.perf_counter() + self.seconds

    def left(self) -> float:
        return max(0.0, self.end - time.perf_counter())

    @property
    def passed(self) -> bool:
        return time.perf_counter() >= self.end


def field(body: Any, name: str, default: Any = None, *, required: bool = False) -> Any:
    """``body[name]`` of a JSON object (``default`` when absent)."""
    if not isinstance(body, dict):
        raise ParameterError(f"expected a JSON object, got {type(body).__name__}")
    if name not in body or body[name] is None:
        if required:
            raise ParameterError(f"{name} is required")
        return default
    return body[name]


def count(body: Any, name: str, default: int, *, maximum: int, minimum: int = 1) -> int:
    """A whole number from the request, at most ``maximum`` (the cap named in the message)."""
    return int(checks.count(name, field(body, name, default), minimum=minimum, maximum=maximum))


def number(body: Any, name: str, default: float | None, *, low: float | None = None,
           high: float | None = None, low_open: bool = False) -> Any:
    value = field(body, name, default)
    return checks.number(name, value, low=low, high=high, low_open=low_open, none=True)


def coordinate(name: str, value: Any) -> float:
    """A finite number with ``|value| <= MAX_COORD``."""
    return float(checks.number(name, value, low=-MAX_COORD, high=MAX_COORD))


def text(body: Any, name: str, default: str | None = None, *, limit: int = 10_000) -> str:
    value = field(body, name, default, required=default is None)
    if not isinstance(value, str):
        raise ParameterError(f"{name} must be text, got {type(value).__name__}")
    if len(value) > limit:
        raise ParameterError(f"{name} is too long: {len(value):,} characters (at most "
                             f"{limit:,})")
    return value


def items(body: Any, name: str, *, maximum: int, minimum: int = 0) -> list[Any]:
    """A JSON list of at most ``maximum`` entries."""
    value = field(body, name, [])
    if not isinstance(value, list):
        raise ParameterError(f"{name} must be a list, got {type(value).__name__}")
    if len(value) > maximum:
        raise ParameterError(f"too many {name}: {len(value)} (at most {maximum} per request)")
    if len(value) < minimum:
        raise ParameterError(f"give at least {minimum} of {name}")
    return value
