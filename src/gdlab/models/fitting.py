"""``fit_data``: train a model on data named the way people name it, and summarize the run.

What ``gdlab fit`` does, as a function: open the data (a CSV or Parquet file, streamed in
bounded memory; an IDX pair; a bundled dataset; arrays), choose the model (linear for
real-valued targets, softmax for class labels, unless told), hold out a test fraction of
in-memory data, train (with checkpoints when asked), and report the final loss, the scores,
the gap to the closed-form least-squares solution for linear models, the stop reason and
the time.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from ..errors import ParameterError

_FILE_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq")
MODELS = ("linear", "logistic", "softmax", "mlp")


def is_file_source(source: Any) -> bool:
    return isinstance(source, (str, os.PathLike)) and str(source).lower().endswith(_FILE_SUFFIXES)


def looks_like_classes(y: np.ndarray) -> bool:
    """Whole-number targets with few distinct values are class labels."""
    y = np.asarray(y)
    whole = bool(np.all(np.mod(y, 1) == 0)) if y.dtype.kind == "f" else y.dtype.kind in "iub"
    return whole and len(np.unique(y)) <= max(2, min(50, len(y) // 5))


def make_estimator(model: str, classification: bool, **params: Any) -> Any:
    """An estimator of :mod:`gdlab.models.estimators` by the CLI's model name."""
    from . import estimators as E
    if model not in MODELS:
        raise ParameterError(f"unknown model {model!r}: choose one of {', '.join(MODELS)}")
    if model != "mlp" and ({"hidden_layer_sizes", "activation"} & set(params)):
        raise ParameterError("hidden layer sizes and the activation are for the mlp model")
    if model != "linear" and "loss" in params:
        raise ParameterError("the loss (mse, rmse, half_mse) is for the linear model")
    if model == "linear":
        return E.LinearRegression(**params)
    if model == "logistic":
        return E.LogisticRegression(**params)
    if model == "softmax":
        return E.SoftmaxRegression(**params)
    return (E.MLPClassifier if classification else E.MLPRegressor)(**params)


def fit_data(source: Any, target: str | None = None, *, features: list[str] | None = None,
             model: str | None = None, task: str | None = None, test_fraction: float = 0.25,
             seed: int = 0, checkpoint: str | None = None, checkpoint_every: int = 100,
             resume: bool = False, file_batch_size: int = 256, file_epochs: int = 10,
             **params: Any) -> tuple[Any, dict[str, Any]]:
    """Train on ``source`` and return ``(estimator, summary)``.

    ``params`` are the estimator's hyper-parameters (``lr``, ``batch_size``, ``epochs``, ...;
    ``None`` values mean "the estimator's default"). Files are streamed, never read whole,
    with ``file_batch_size`` and ``file_epochs`` unless ``batch_size``/``epochs`` are given;
    they get no test split (the summary's score is over the whole file). ``checkpoint`` is a
    file (or a folder, for ``checkpoint.gdlab`` in it) written every ``checkpoint_every``
    steps; ``resume`` continues from it.
    """
    from ..data.open import load_xy, open_stream
    from ..data.stream import ArrayStream

    t0 = time.perf_counter()
    params = {k: v for k, v in params.items() if v is not None}
    if resume and not checkpoint:
        raise ParameterError("resume needs a checkpoint to continue from")
    if checkpoint and (os.path.isdir(checkpoint) or str(checkpoint).endswith(os.sep)):
        checkpoint = os.path.join(checkpoint, "checkpoint.gdlab")
    if not 0 <= test_fraction < 1:
        raise ParameterError(f"the test fraction must be in [0, 1), got {test_fraction!r}")
    if task not in (None, "regression", "classification"):
        raise ParameterError(f"task must be 'regression' or 'classification', got {task!r}")
    from_file = is_file_source(source)
    if params.get("early_stopping") and (from_file or checkpoint):
        raise ParameterError("early stopping on a validation fraction is for in-memory data "
                             "without a checkpoint")
    stream = None
    if from_file:
        stream = open_stream(source, target, features=features,
                             batch_size=params.get("batch_size", file_batch_size), seed=seed)
        names, target_name = list(stream.feature_names), stream.target_name
        assert stream.n_samples is not None  # a file stream opened with its scan
        n_rows, n_feat = int(stream.n_samples), int(stream.n_features)
        probe = [y for _, (_, y) in zip(range(4), stream.iter_chunks())]
        y_probe = np.concatenate(probe)
        params.setdefault("epochs", file_epochs)
    else:
        X, y, names, target_name = load_xy(source, target, features)
        n_rows, n_feat = X.shape
        y_probe = y
    classification = looks_like_classes(y_probe) if task is None else task == "classification"
    est = make_estimator(model or ("softmax" if classification else "linear"), classification,
                         seed=seed, **params)

    test_score = None
    if stream is not None:
        est.fit_stream(stream, checkpoint=checkpoint, checkpoint_every=checkpoint_every,
                       resume=resume)
        train_score = float(est.score_stream(stream))
    else:
        Xtr, ytr, Xte, yte = X, y, None, None
        if test_fraction > 0 and len(X) >= 10:
            perm = np.random.default_rng(seed).permutation(len(X))
            k = int(round(test_fraction * len(X)))
            Xte, yte, Xtr, ytr = X[perm[:k]], y[perm[:k]], X[perm[k:]], y[perm[k:]]
        if checkpoint:
            est.fit_stream(ArrayStream(Xtr, ytr, batch_size=est.batch_size, seed=seed),
                           checkpoint=checkpoint, checkpoint_every=checkpoint_every,
                           resume=resume)
        else:
            est.fit(Xtr, ytr)
        train_score = float(est.score(Xtr, ytr))
        test_score = float(est.score(Xte, yte)) if Xte is not None else None
    summary: dict[str, Any] = {
        "data": str(source), "model": type(est).__name__, "n_samples": n_rows,
        "n_features": n_feat, "feature_names": names, "target": target_name,
        "streamed": stream is not None, "epochs": int(est.n_iter_), "steps": int(est.t_),
        "final_loss": float(est.loss_), "train_score": train_score, "test_score": test_score,
        "score_name": "accuracy" if hasattr(est, "classes_") else "R^2",
        "status": est.status_, "reason": est.stop_reason_}
    from .estimators import LinearRegression
    if isinstance(est, LinearRegression) and stream is None:
        cf = est.closed_form(Xtr, ytr)
        summary["closed_form"] = {"train_r2_lstsq": cf["r2_lstsq"], "train_r2_gd": cf["r2_gd"],
                                  "r2_gap": cf["r2_gap"], "max_coef_gap": cf["coef_gap"]}
    summary["seconds"] = round(time.perf_counter() - t0, 3)
    return est, summary
