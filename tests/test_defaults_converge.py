"""The estimators reach the exact solvers' optimum with their defaults.

References: ``numpy.linalg.lstsq`` for linear regression, scikit-learn's unpenalized
``LogisticRegression`` (lbfgs, ``max_iter=10000``) for the linear classifiers, and
scikit-learn's ``MLPClassifier`` defaults for the networks. Only ``loss`` and
``batch_size`` are set, as a learner would.
"""

import functools
import warnings

import numpy as np
import pytest
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    make_classification,
    make_moons,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SkLogistic
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLP
from sklearn.preprocessing import StandardScaler

from gdlab.models import LinearRegression, LogisticRegression, MLPClassifier, SoftmaxRegression


@functools.cache
def _regression(name):
    if name == "diabetes":
        X, y = load_diabetes(return_X_y=True)
    else:
        X, y = make_regression(20000, 30, noise=5, random_state=0)
    return train_test_split(X, y, test_size=0.3, random_state=0)


def _r2(y, pred):
    return 1 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2)


@functools.cache
def _lstsq_r2(name):
    Xtr, Xte, ytr, yte = _regression(name)
    A = np.column_stack([Xtr, np.ones(len(Xtr))])
    beta = np.linalg.lstsq(A, ytr, rcond=None)[0]
    return (_r2(ytr, A @ beta), _r2(yte, np.column_stack([Xte, np.ones(len(Xte))]) @ beta))


@pytest.mark.parametrize("name", ["diabetes", "make_regression"])
@pytest.mark.parametrize("batch_size", [None, 32, 1])
@pytest.mark.parametrize("loss", ["mse", "half_mse", "rmse"])
def test_linear_regression_defaults_reach_least_squares(name, batch_size, loss):
    Xtr, Xte, ytr, yte = _regression(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ConvergenceWarning, no overflow
        model = LinearRegression(loss=loss, batch_size=batch_size).fit(Xtr, ytr)
    train_ls, test_ls = _lstsq_r2(name)
    assert abs(model.score(Xtr, ytr) - train_ls) < 1e-3
    assert abs(model.score(Xte, yte) - test_ls) < 1e-3
    assert model.converged_ and model.n_iter_ < model.epochs


def _classification(name):
    if name == "iris":
        X, y = load_iris(return_X_y=True)
    elif name == "noisy binary":
        X, y = make_classification(2000, 20, n_informative=5, flip_y=0.1, random_state=0)
    elif name == "noisy 3-class":
        X, y = make_classification(2000, 20, n_informative=5, n_classes=3, flip_y=0.1,
                                   random_state=0)
    elif name == "breast_cancer":
        X, y = load_breast_cancer(return_X_y=True)
    else:
        X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


def _sklearn_unpenalized(Xtr, ytr):
    scaler = StandardScaler().fit(Xtr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # it warns on separable data too
        model = SkLogistic(penalty=None, max_iter=10000).fit(scaler.transform(Xtr), ytr)
    return model, scaler


@pytest.mark.parametrize("name, Estimator", [("iris", SoftmaxRegression),
                                             ("noisy binary", LogisticRegression),
                                             ("noisy 3-class", SoftmaxRegression)])
def test_classifiers_reach_the_unpenalized_optimum_on_non_separable_data(name, Estimator):
    Xtr, Xte, ytr, yte = _classification(name)
    ref, scaler = _sklearn_unpenalized(Xtr, ytr)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = Estimator().fit(Xtr, ytr)
    ours = log_loss(ytr, model.predict_proba(Xtr))
    theirs = log_loss(ytr, ref.predict_proba(scaler.transform(Xtr)))
    assert ours <= theirs * 1.01
    assert model.converged_


@pytest.mark.parametrize("name, Estimator", [("breast_cancer", LogisticRegression),
                                             ("digits", SoftmaxRegression)])
def test_classifiers_on_separable_data_match_the_accuracy_without_overflow(name, Estimator):
    Xtr, Xte, ytr, yte = _classification(name)
    ref, scaler = _sklearn_unpenalized(Xtr, ytr)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no overflow on the way to infinity
        model = Estimator().fit(Xtr, ytr)
    assert abs(model.score(Xte, yte) - ref.score(scaler.transform(Xte), yte)) <= 0.01
    assert np.all(np.isfinite(model.coef_)) and np.all(np.isfinite(model.predict_proba(Xte)))


@pytest.mark.parametrize("name", ["digits", "moons"])
def test_mlp_defaults_match_scikit_learns(name):
    if name == "digits":
        X, y = load_digits(return_X_y=True)
    else:
        X, y = make_moons(2000, noise=0.2, random_state=0)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    scaler = StandardScaler().fit(Xtr)
    ours, theirs = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 200 epochs, as scikit-learn
        for seed in range(3):
            theirs.append(SkMLP(random_state=seed).fit(scaler.transform(Xtr), ytr)
                          .score(scaler.transform(Xte), yte))
            ours.append(MLPClassifier(seed=seed).fit(Xtr, ytr).score(Xte, yte))
    assert abs(np.mean(ours) - np.mean(theirs)) <= 0.01


def test_a_budget_that_ends_before_the_tolerance_warns_and_says_so():
    Xtr, _, ytr, _ = _regression("diabetes")
    with pytest.warns(ConvergenceWarning, match=r"not converged after 3 epochs.*epochs=6"):
        model = LinearRegression(batch_size=32, epochs=3).fit(Xtr, ytr)
    assert not model.converged_ and "the loss still fell by" in model.stop_reason_


def test_online_sgd_defaults_never_diverge_on_badly_scaled_features():
    # features of very different scales, standardized inside: the data's step keeps every
    # one-sample step stable (lr * |x|^2 <= 1)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 5)) * [1e-3, 1.0, 1e3, 1e6, 1.0]
    y = X @ [1e3, 2.0, -1e-3, 1e-6, 0.5] + rng.normal(size=2000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = LinearRegression(batch_size=1).fit(X, y)
    A = np.column_stack([X, np.ones(len(X))])
    beta = np.linalg.lstsq(A, y, rcond=None)[0]
    assert abs(model.score(X, y) - _r2(y, A @ beta)) < 1e-3


@pytest.mark.parametrize("batch_size", [None, 32, 1])
def test_data_step_is_one_over_the_batch_smoothness_constant(batch_size):
    # 1/L with L = (1 - 1/B)·λmax(AᵀA/n) + max‖a_i‖²/B for A = [X, 1], against numpy's
    # eigenvalues of the Gram matrix built directly
    from gdlab.data import ArrayStream
    from gdlab.models.estimators import data_step

    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 7)) * np.arange(1, 8) + 1
    A = np.column_stack([X, np.ones(len(X))])
    lam = np.linalg.eigvalsh(A.T @ A / len(X))[-1]
    B = len(X) if batch_size is None else batch_size
    L = (1 - 1 / B) * lam + (A * A).sum(axis=1).max() / B
    stream = ArrayStream(X, rng.normal(size=5000), batch_size=batch_size)
    assert data_step(stream, 1.0, batch_size) == pytest.approx(1 / L, rel=1e-12)
