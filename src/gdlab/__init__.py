"""gdlab: gradient descent, from the derivative of a typed formula to training a network.

The names below are imported on first use, so ``import gdlab`` (and the CLI) start fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "minimize": "gdlab.optimize", "maximize": "gdlab.optimize",
    "Function": "gdlab.calculus", "numeric_derivative": "gdlab.calculus",
    "numeric_gradient": "gdlab.calculus", "numeric_hessian": "gdlab.calculus",
    "check_gradient": "gdlab.calculus",
    "parse": "gdlab.expr",
    "Result": "gdlab.result", "History": "gdlab.result",
    "GdlabError": "gdlab.errors", "FormulaError": "gdlab.errors", "DataError": "gdlab.errors",
    "ModelFileError": "gdlab.errors", "ParameterError": "gdlab.errors",
    "optim": "gdlab.optim", "functions": "gdlab.functions",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'gdlab' has no attribute {name!r}")
    m = import_module(mod)
    value = m if mod.endswith("." + name) else getattr(m, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
