"""``GET /api/catalog``: what the page offers, read from gdlab itself.

Optimizers come from :data:`gdlab.optim.OPTIMIZERS` (a new one appears on the page without
a change here; an alias whose settings equal an earlier name's, ``gd`` for ``sgd``, is
left out), each with its options and PyTorch's defaults; schedules from
:data:`gdlab.optim.SCHEDULES`; the named test functions from :mod:`gdlab.functions`; the
activations from :data:`gdlab.models.activations.ACTIVATIONS`; the caps from
:mod:`gdlab.serve.limits`; the presets from :mod:`gdlab.serve.presets`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from .. import functions
from ..errors import ParameterError
from ..optim.rules import OPTIMIZERS, make_rule
from ..optim.schedules import SCHEDULES, make_schedule
from . import limits

#: settings that are not an optimizer's own options on the page (lr has its own input; the
#: direction is the page's "ascent" switch)
_NOT_OPTIONS = ("name", "lr", "maximize")


@lru_cache(maxsize=1)
def optimizers() -> dict[str, dict[str, Any]]:
    """``{name: {"defaults": {option: value}, "lr": default lr}}`` for every distinct
    optimizer."""
    out: dict[str, dict[str, Any]] = {}
    seen: list[dict[str, Any]] = []
    for name in OPTIMIZERS:
        config = make_rule(name).config()
        if config in seen:
            continue
        seen.append(config)
        out[name] = {"lr": config["lr"],
                     "defaults": {k: v for k, v in config.items() if k not in _NOT_OPTIONS}}
    return out


def optimizer_options(name: str) -> tuple[str, ...]:
    """The option names the page may send for optimizer ``name``."""
    config = make_rule(name).config()
    return tuple(k for k in config if k not in _NOT_OPTIONS)


@lru_cache(maxsize=1)
def schedule_options() -> dict[str, dict[str, Any]]:
    """``{schedule: {option: default}}`` of the schedules that have a default for every
    option (the page edits numbers; schedulers that need a milestone list or a total step
    count of their own, such as ``MultiStepLR`` or ``OneCycleLR``, are left out)."""
    out = {}
    for name in SCHEDULES:
        try:
            config = make_schedule(name).config()
        except ParameterError:
            continue
        if all(isinstance(v, (int, float)) for k, v in config.items() if k != "name"):
            out[name] = {k: v for k, v in config.items() if k != "name"}
    return out


def catalog() -> dict[str, Any]:
    from ..models.activations import ACTIVATIONS
    from .datasets import CLASSIFICATION, REGRESSION
    from .presets import PRESETS
    return {
        "optimizers": optimizers(),
        "schedules": schedule_options(),
        "functions": [{"name": f.name, "title": f.title, "formula": f.formula,
                       "bounds": [list(b) for b in f.bounds], "valley": f.valley,
                       "description": f.description}
                      for f in (functions.get(n) for n in functions.names())],
        "activations": [a for a in ACTIVATIONS if a != "identity"],
        "datasets": {"regression": list(REGRESSION), "classification": list(CLASSIFICATION)},
        "limits": {k.lower(): getattr(limits, k) for k in dir(limits)
                   if k.startswith("MAX_") or k == "TIME_LIMIT"},
        "presets": PRESETS,
    }
