"""scikit-learn's bundled datasets (no download) and synthetic generators."""

from __future__ import annotations

import numpy as np

from .. import checks
from ..errors import ParameterError
from ._names import did_you_mean
from ._order import check_int

_DATASETS = {
    "iris": ("load_iris", "classification",
             "Iris flowers: 150 samples, 4 measurements (cm), 3 species."),
    "digits": ("load_digits", "classification",
               "Handwritten digits: 1797 images of 8x8 pixels (values 0-16), 10 classes."),
    "diabetes": ("load_diabetes", "regression",
                 "Diabetes: 442 patients, 10 standardized baseline variables, target = disease "
                 "progression one year later."),
    "breast_cancer": ("load_breast_cancer", "classification",
                      "Breast cancer Wisconsin: 569 tumours, 30 features, malignant (0) or "
                      "benign (1)."),
}
DATASET_NAMES = ("iris", "digits", "diabetes", "breast_cancer")


def _dataset_key(name) -> str | None:
    if not isinstance(name, str):
        return None
    key = name.strip().lower().replace("-", "_")
    return key if key in _DATASETS else None


def load_dataset(name: str) -> tuple[np.ndarray, np.ndarray, dict]:
    """``X`` (float64), ``y`` and ``info`` for one of scikit-learn's bundled datasets.

    ``name``: "iris", "digits", "diabetes", "breast_cancer" (or "breast-cancer").
    ``info`` has name, feature_names, task ("regression"/"classification"),
    description, and target_names for classification.  y is int64 for
    classification, float64 for regression.
    """
    key = _dataset_key(name)
    if key is None:
        hint = did_you_mean(name.strip().lower().replace("-", "_"), list(DATASET_NAMES)) \
            if isinstance(name, str) else ""
        raise ParameterError(f"unknown dataset {name!r}{hint}; bundled datasets: "
                             f"{', '.join(DATASET_NAMES)} (also 'breast-cancer')")
    import sklearn.datasets  # slow import, so only here
    loader, task, description = _DATASETS[key]
    bunch = getattr(sklearn.datasets, loader)()
    X = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target, dtype=np.int64 if task == "classification" else np.float64)
    info = {"name": key, "feature_names": [str(f) for f in bunch.feature_names],
            "task": task, "description": description,
            "n_samples": int(X.shape[0]), "n_features": int(X.shape[1])}
    if task == "classification":
        info["target_names"] = [str(t) for t in bunch.target_names]
    return X, y, info


# -- synthetic data ----------------------------------------------------------------

LECTURE_COEF = (0.3, 0.5)
LECTURE_INTERCEPT = 0.1


def make_linear(n_samples: int = 100, n_features: int = 1, noise: float = 0.0, seed: int = 0,
                coef=None, intercept: float = 1.0
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """``y = X @ coef + intercept + noise * N(0, 1)`` with ``X ~ N(0, 1)``.

    ``coef`` defaults to draws from uniform(-2, 2).  Returns
    ``(X, y, true_coef, true_intercept)``.
    """
    n = check_int(n_samples, "n_samples", 1)
    p = check_int(n_features, "n_features", 1)
    noise = checks.number("noise", noise, low=0)
    rng = np.random.default_rng(check_int(seed, "seed", 0))
    X = rng.standard_normal((n, p))
    if coef is None:
        coef = rng.uniform(-2.0, 2.0, size=p)
    else:
        coef = np.asarray(coef, dtype=np.float64).reshape(-1)
        if coef.shape != (p,):
            raise ParameterError(f"coef must have n_features={p} values, got {coef.size}")
    intercept = float(intercept)
    y = X @ coef + intercept
    if noise:
        y = y + noise * rng.standard_normal(n)
    return X, y, coef, intercept


def make_lecture_example(n: int = 100, seed: int = 0, noise: float = 0.0
                         ) -> tuple[np.ndarray, np.ndarray]:
    """The lecture's data: ``y = 0.3*x1 + 0.5*x2 + 0.1`` with ``x1, x2 ~ uniform(0, 1)``.

    Returns ``X`` of shape (n, 2) and ``y`` of shape (n,); ``noise`` adds
    ``noise * N(0, 1)`` (0 by default: the exact plane).
    """
    n = check_int(n, "n", 1)
    noise = checks.number("noise", noise, low=0)
    rng = np.random.default_rng(check_int(seed, "seed", 0))
    X = rng.uniform(0.0, 1.0, size=(n, 2))
    y = LECTURE_COEF[0] * X[:, 0] + LECTURE_COEF[1] * X[:, 1] + LECTURE_INTERCEPT
    if noise:
        y = y + noise * rng.standard_normal(n)
    return X, y


def make_classification_blobs(n_samples: int = 200, n_classes: int = 2, n_features: int = 2,
                              spread: float = 1.0, distance: float = 4.0, seed: int = 0
                              ) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs, one per class, ``y`` int64 in ``0..n_classes-1`` (balanced).

    Class centres sit on a circle of radius ``distance`` in the first two
    features (on a line for one feature); each point is its centre plus
    ``spread * N(0, I)``.
    """
    n = check_int(n_samples, "n_samples", 1)
    k = check_int(n_classes, "n_classes", 2)
    p = check_int(n_features, "n_features", 1)
    spread = checks.number("spread", spread, low=0)
    distance = checks.number("distance", distance, low=0)
    rng = np.random.default_rng(check_int(seed, "seed", 0))
    centers = np.zeros((k, p))
    if p == 1:
        centers[:, 0] = distance * (np.arange(k) - (k - 1) / 2)
    else:
        angle = 2 * np.pi * np.arange(k) / k
        centers[:, 0] = distance * np.cos(angle)
        centers[:, 1] = distance * np.sin(angle)
    y = rng.permutation(np.arange(n) % k).astype(np.int64)
    X = centers[y] + spread * rng.standard_normal((n, p))
    return X, y

