"""Save and load fitted estimators as gdlab files (:mod:`gdlab.persist`): no pickle.

The file holds the estimator's class name and hyper-parameters (JSON), the flat
parameter vector, the standardizer, the class labels and the training history. Loading
rebuilds the estimator from its class in :data:`~gdlab.models.estimators.ESTIMATORS`
(nothing named in a file is imported or executed) and checks every shape.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import persist
from ..errors import ModelFileError

_CLASSES = ("LinearRegression", "LogisticRegression", "SoftmaxRegression", "MLPClassifier",
            "MLPRegressor")


def _json_param(v: Any) -> Any:
    if isinstance(v, (str, bool, int, float)) or v is None:
        return v
    if isinstance(v, (tuple, list)):
        return [_json_param(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _json_param(x) for k, x in v.items()}
    if isinstance(v, np.generic):
        return v.item()
    if hasattr(v, "config"):  # an optimizer rule or schedule object
        return {"__config__": v.config()}
    raise ModelFileError(f"cannot store the parameter value {v!r} in a model file")


def _clean(x: Any) -> Any:
    """JSON has no NaN/inf: store them as text."""
    if isinstance(x, float) and not math.isfinite(x):
        return repr(x)
    if isinstance(x, list):
        return [_clean(v) for v in x]
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    return x


def save_model(estimator: Any, path: str, extra: dict | None = None) -> None:
    """Write a fitted gdlab estimator to ``path`` atomically."""
    name = type(estimator).__name__
    if name not in _CLASSES or not hasattr(estimator, "params_"):
        raise ModelFileError(f"only fitted gdlab estimators can be saved, got {name}")
    params = {k: _json_param(v) for k, v in estimator.get_params(deep=False).items()}
    meta = {
        "class": name, "params": params,
        "n_features_in": int(estimator.n_features_in_),
        "feature_names_in": [str(f) for f in getattr(estimator, "feature_names_in_", [])],
        "n_outputs": int(_n_outputs(estimator)),
        "dtype": estimator.params_.dtype.str,
        "history": _clean({k: [float(v) for v in vals] for k, vals in estimator.history_.items()}),
        "n_iter": int(getattr(estimator, "n_iter_", 0)),
        "stop_reason": str(getattr(estimator, "stop_reason_", "")),
        "scaler": estimator.scaler_.to_dict() if estimator.scaler_ is not None else None,
        "extra": _clean(extra or {}),
    }
    arrays = {"params": estimator.params_}
    if hasattr(estimator, "classes_"):
        classes = np.asarray(estimator.classes_)
        if classes.dtype.kind in "biuf":
            arrays["classes"] = classes
        else:
            meta["classes_text"] = [str(c) for c in classes]
    persist.save(path, _clean(meta), arrays, kind="model")


def _n_outputs(est: Any) -> int:
    if hasattr(est, "classes_"):
        return len(est.classes_)
    obj = est.objective_
    return int(getattr(obj, "n_targets", None) or getattr(obj, "layer_sizes", [0, 1])[-1])


def load_model(path: str) -> tuple[Any, dict[str, Any]]:
    """Read an estimator saved by :func:`save_model`; returns ``(estimator, meta)``."""
    from .estimators import ESTIMATORS

    meta, arrays = persist.load(path, kind="model")
    by_name = {cls.__name__: cls for cls in ESTIMATORS.values()}
    name = meta.get("class")
    if name not in by_name:
        raise ModelFileError(f"{path}: unknown model class {name!r}")
    cls = by_name[name]
    try:
        est = cls(**_constructor_params(meta["params"]))
        d = int(meta["n_features_in"])
        k = int(meta["n_outputs"])
        dtype = np.dtype(meta["dtype"])
        if dtype.kind != "f":
            raise ValueError("parameter dtype")
        est.objective_ = est._make_loss(d, k)
        p = arrays["params"]
        if p.dtype != dtype or p.shape != (est.objective_.n_params,):
            raise ModelFileError(f"{path}: the parameters do not fit a {name} with {d} features")
        est.params_ = p.copy()
        est.n_features_in_ = d
        _restore_inputs(est, meta, d)
        _restore_classes(est, meta, arrays, k)
        est.history_ = {kk: [float(v) for v in vals] for kk, vals in meta["history"].items()}
        est.n_iter_ = int(meta["n_iter"])
        est.stop_reason_ = str(meta.get("stop_reason", ""))
        est.t_ = 0
        est._opt_state = None
        est._set_public()
    except ModelFileError:
        raise
    except Exception as e:
        raise ModelFileError(f"{path}: the model description is inconsistent "
                             f"({type(e).__name__}: {e})") from None
    return est, meta


def _constructor_params(stored: dict[str, Any]) -> dict[str, Any]:
    """The stored hyper-parameters as the constructor takes them (names, tuples)."""
    params = dict(stored)
    for k, v in list(params.items()):
        if isinstance(v, dict) and "__config__" in v:
            params[k] = v["__config__"].get("name")
    if "hidden_layer_sizes" in params and isinstance(params["hidden_layer_sizes"], list):
        params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
    options = params.get("optimizer_options")
    if isinstance(options, dict) and "betas" in options:
        options["betas"] = tuple(options["betas"])
    return params


def _restore_inputs(est: Any, meta: dict[str, Any], d: int) -> None:
    """Set the feature names and the standardizer, each checked against ``d`` features."""
    from ..data.standardize import Standardizer

    if meta.get("feature_names_in"):
        est.feature_names_in_ = np.asarray(meta["feature_names_in"], dtype=object)
        if len(est.feature_names_in_) != d:
            raise ValueError("feature names")
    est.scaler_ = Standardizer.from_dict(meta["scaler"]) if meta.get("scaler") else None
    if est.scaler_ is not None and est.scaler_.n_features != d:
        raise ValueError("scaler size")


def _restore_classes(est: Any, meta: dict[str, Any], arrays: dict[str, np.ndarray],
                     k: int) -> None:
    """Set the class labels (numbers from the arrays, text from the metadata), if any."""
    if "classes" in arrays:
        est.classes_ = arrays["classes"].copy()
    elif "classes_text" in meta:
        est.classes_ = np.asarray(meta["classes_text"], dtype=object)
    if hasattr(est, "classes_") and len(est.classes_) != k:
        raise ValueError("classes")
