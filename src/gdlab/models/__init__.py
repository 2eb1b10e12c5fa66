"""Data models: scikit-learn-style estimators, and the losses they train.

The estimators (:mod:`gdlab.models.estimators`) are ``LinearRegression``,
``LogisticRegression``, ``SoftmaxRegression``, ``MLPClassifier`` and ``MLPRegressor``. Each
trains a *model loss* (a :class:`ModelLoss`: the mean loss of a batch and its analytic
gradient on one flat parameter vector) with :func:`gdlab.train.train`: ``LinearLoss``,
``LogisticLoss`` and ``SoftmaxLoss`` (:mod:`gdlab.models.linear`) and ``MLPLoss``
(:mod:`gdlab.models.mlp`); :func:`get_loss` builds one by name.

Importing this package imports scikit-learn (the estimators are built on it).
"""

from __future__ import annotations

from .. import checks
from ..errors import ParameterError
from .estimators import (
    LinearRegression,
    LogisticRegression,
    MLPClassifier,
    MLPRegressor,
    SoftmaxRegression,
)
from .linear import LinearLoss, LogisticLoss, SoftmaxLoss
from .loss import ModelLoss
from .mlp import MLPLoss

__all__ = [
    "LinearLoss",
    "LinearRegression",
    "LogisticLoss",
    "LogisticRegression",
    "MLPClassifier",
    "MLPLoss",
    "MLPRegressor",
    "ModelLoss",
    "SoftmaxLoss",
    "SoftmaxRegression",
    "get_loss",
]

_LOSSES = {
    "linear": LinearLoss,
    "logistic": LogisticLoss,
    "softmax": SoftmaxLoss,
    "mlp": MLPLoss,
}


def get_loss(name: str, **kwargs) -> ModelLoss:
    """Build a model loss by name: ``linear``, ``logistic``, ``softmax`` or ``mlp``.

    Keyword arguments go to the class, e.g.
    ``get_loss("mlp", layer_sizes=[4, 16, 3], activation="tanh")``.
    """
    key = checks.choice("name", name, _LOSSES)
    try:
        return _LOSSES[key](**kwargs)
    except TypeError as exc:
        if isinstance(exc, ParameterError):
            raise
        raise ParameterError(f"bad arguments for loss {name!r}: {exc}") from exc
