"""The scikit-learn-style estimators of gdlab.models.estimators.

* scikit-learn's own estimator checks on all five classes (their defaults);
* gradient descent against least squares (sklearn / np.linalg.lstsq) on synthetic data and
  on diabetes, full batch and mini-batch;
* the lecture-004 two-feature example against a hand-written NumPy loop, step for step;
* classifiers against scikit-learn's LogisticRegression, MLP on digits;
* dtypes, partial_fit, early stopping, divergence, bad input, fitted attributes.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LinearRegression as SkLinearRegression
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

from gdlab.data.datasets import load_dataset, make_lecture_example, make_linear
from gdlab.data.standardize import ConstantColumnWarning
from gdlab.models.estimators import (
    ESTIMATORS,
    LinearRegression,
    LogisticRegression,
    MLPClassifier,
    MLPRegressor,
    SoftmaxRegression,
)


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    # Small matrices: BLAS threads only fight each other (and pytest-xdist's workers).
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _split(name, test_size=0.25, random_state=0):
    X, y, _ = load_dataset(name)
    return train_test_split(X, y, test_size=test_size, random_state=random_state)


# ---------------------------------------------------------------------------------------------
# scikit-learn's estimator checks, on the real classes with their default hyper-parameters.
# No check is expected to fail, so there is no expected_failed_checks; scikit-learn itself
# skips check_array_api_input (needs SCIPY_ARRAY_API=1) and the pandas checks when pandas is
# not installed.
# ---------------------------------------------------------------------------------------------

@parametrize_with_checks([LinearRegression(), LogisticRegression(), SoftmaxRegression(),
                          MLPClassifier(), MLPRegressor()])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_estimator_registry():
    assert set(ESTIMATORS.values()) == {LinearRegression, LogisticRegression,
                                        SoftmaxRegression, MLPClassifier, MLPRegressor}


# ---------------------------------------------------------------------------------------------
# Linear regression against least squares
# ---------------------------------------------------------------------------------------------

def _r2_gap(model, Xtr, Xte, ytr, yte):
    ref = SkLinearRegression().fit(Xtr, ytr).score(Xte, yte)
    return abs(model.fit(Xtr, ytr).score(Xte, yte) - ref)


def _sgd_cosine(n_train, epochs, batch_size=32, **kw):
    steps = epochs * -(-n_train // batch_size)
    return LinearRegression(batch_size=batch_size, lr=0.05, epochs=epochs, tol=None,
                            schedule={"name": "cosine", "T_max": steps}, **kw)


def test_linear_defaults_full_batch_match_lstsq_on_diabetes():
    Xtr, Xte, ytr, yte = _split("diabetes")
    assert _r2_gap(LinearRegression(), Xtr, Xte, ytr, yte) < 1e-3


def test_linear_minibatch_sgd_matches_lstsq_on_diabetes():
    Xtr, Xte, ytr, yte = _split("diabetes")
    assert _r2_gap(_sgd_cosine(len(Xtr), 500), Xtr, Xte, ytr, yte) < 1e-3


@pytest.mark.parametrize("make_model", [
    lambda n: LinearRegression(),
    lambda n: _sgd_cosine(n, 300),
    lambda n: LinearRegression(batch_size=32, optimizer="adam", lr=0.1, epochs=300, tol=None,
                               schedule={"name": "cosine", "T_max": 300 * -(-n // 32)}),
], ids=["full_batch_defaults", "sgd32_cosine", "adam32_cosine"])
def test_linear_matches_lstsq_on_synthetic(make_model):
    X, y, _, _ = make_linear(600, 5, noise=0.5, seed=1)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0)
    assert _r2_gap(make_model(len(Xtr)), Xtr, Xte, ytr, yte) < 1e-3


@pytest.mark.parametrize("loss, lr", [("mse", 0.1), ("rmse", 0.05), ("half_mse", 0.2)])
def test_each_loss_trains_to_lstsq(loss, lr):
    X, y, _, _ = make_linear(200, 3, noise=0.1, seed=2)
    A = np.column_stack([X, np.ones(len(X))])
    sol = np.linalg.lstsq(A, y, rcond=None)[0]
    m = LinearRegression(loss=loss, lr=lr, epochs=2000, tol=None).fit(X, y)
    np.testing.assert_allclose(m.coef_, sol[:3], atol=1e-4)
    assert m.intercept_ == pytest.approx(sol[3], abs=1e-4)
    # coef_ is reported for the original (unscaled) features
    np.testing.assert_allclose(m.predict(X), X @ m.coef_ + m.intercept_, atol=1e-10)


def test_closed_form_reports_the_gap():
    X, y, _, _ = make_linear(200, 3, noise=0.1, seed=2)
    cf = LinearRegression().fit(X, y).closed_form(X, y)
    assert abs(cf["r2_gap"]) < 1e-8 and cf["coef_gap"] < 1e-4


# ---------------------------------------------------------------------------------------------
# Lecture 004: y = 0.3 x1 + 0.5 x2 + 0.1, w1, w2, b ~ uniform(-1, 1), lr = 1.0, 100 epochs
# ---------------------------------------------------------------------------------------------

def _lecture_loop(X, y, w1, w2, b, lr=1.0, epochs=100):
    """The lecture's code: every epoch, all gradients from the same prediction, then update."""
    x1, x2 = X[:, 0], X[:, 1]
    steps = []
    for _ in range(epochs):
        y_predict = w1 * x1 + w2 * x2 + b
        dw1 = np.mean((y_predict - y) * x1)
        dw2 = np.mean((y_predict - y) * x2)
        db = np.mean(y_predict - y)
        w1, w2, b = w1 - lr * dw1, w2 - lr * dw2, b - lr * db
        steps.append((w1, w2, b))
    return np.array(steps)


def test_lecture_example_agrees_with_hand_loop_step_for_step():
    X, y = make_lecture_example()
    w1, w2, b = np.random.default_rng(42).uniform(-1, 1, 3)
    hand = _lecture_loop(X, y, w1, w2, b)

    def make(epochs):
        return LinearRegression(loss="half_mse", lr=1.0, epochs=epochs, standardize=False,
                                tol=None)

    # one epoch = one full-batch step; partial_fit continues it step by step
    m = make(1).fit(X, y, coef_init=[w1, w2], intercept_init=b)
    got = [np.r_[m.coef_, m.intercept_]]
    for _ in range(99):
        m.partial_fit(X, y)
        got.append(np.r_[m.coef_, m.intercept_])
    np.testing.assert_allclose(np.array(got), hand, rtol=0, atol=1e-10)
    assert m.n_iter_ == 100 and len(m.history_["loss"]) == 100

    full = make(100).fit(X, y, coef_init=[w1, w2], intercept_init=b)
    np.testing.assert_allclose(np.r_[full.coef_, full.intercept_], hand[-1], rtol=0, atol=1e-10)
    assert full.n_iter_ == 100
    np.testing.assert_allclose(hand[-1], [0.3, 0.5, 0.1], atol=0.02)
    # the loss history is the lecture's cost J = 1/(2m) Σ(h − y)², decreasing
    assert np.all(np.diff(full.history_["loss"]) < 0)


def test_init_weights_are_for_the_original_features():
    X, y, coef, intercept = make_linear(100, 3, noise=0.0, seed=3)
    X = X * [1.0, 10.0, 0.1] + 5.0
    ls = np.linalg.lstsq(np.column_stack([X, np.ones(len(X))]), y, rcond=None)[0]
    # started at the solution, one step of GD (standardized inside) stays there
    m = LinearRegression(epochs=1, tol=None).fit(X, y, coef_init=ls[:3], intercept_init=ls[3])
    np.testing.assert_allclose(m.coef_, ls[:3], atol=1e-9)
    assert m.intercept_ == pytest.approx(ls[3], abs=1e-9)
    with pytest.raises(ValueError, match="coef_init has shape"):
        LinearRegression().fit(X, y, coef_init=[1.0, 2.0])
    with pytest.raises(ValueError, match="fit_intercept=False"):
        LinearRegression(fit_intercept=False).fit(X, y, intercept_init=1.0)


def test_classifier_init_weights():
    X, y, _ = load_dataset("iris")
    ref = SoftmaxRegression(epochs=50).fit(X, y)
    m = SoftmaxRegression(epochs=1, lr=1e-12).fit(X, y, coef_init=ref.coef_,
                                                 intercept_init=ref.intercept_)
    np.testing.assert_allclose(m.coef_, ref.coef_, atol=1e-8)
    np.testing.assert_allclose(m.intercept_, ref.intercept_, atol=1e-8)
    Xb, yb = X[y < 2], y[y < 2]
    lr = LogisticRegression(epochs=1, lr=1e-12).fit(Xb, yb, coef_init=np.ones((1, 4)),
                                                    intercept_init=[-1.0])
    np.testing.assert_allclose(lr.coef_, np.ones((1, 4)), atol=1e-8)
    with pytest.raises(TypeError, match="coef_init"):
        MLPClassifier().fit(X, y, coef_init=np.ones((3, 4)))


# ---------------------------------------------------------------------------------------------
# Classifiers
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, Est", [("breast_cancer", LogisticRegression),
                                       ("iris", SoftmaxRegression)])
def test_linear_classifiers_match_sklearn(name, Est):
    Xtr, Xte, ytr, yte = _split(name)
    ref = make_pipeline(StandardScaler(), SkLogisticRegression()).fit(Xtr, ytr).score(Xte, yte)
    m = Est().fit(Xtr, ytr)
    assert abs(m.score(Xte, yte) - ref) <= 0.02
    proba = m.predict_proba(Xte)
    assert proba.shape == (len(Xte), len(np.unique(ytr)))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(m.classes_[proba.argmax(axis=1)], m.predict(Xte))


def test_string_labels():
    X, y, info = load_dataset("iris")
    names = np.array(info["target_names"])[y]
    m = SoftmaxRegression(epochs=200).fit(X, names)
    np.testing.assert_array_equal(m.classes_, sorted(info["target_names"]))
    pred = m.predict(X)
    assert pred.dtype.kind == "U" and np.mean(pred == names) > 0.9
    Xb, yb = X[y > 0], np.where(y[y > 0] == 1, "versicolor", "virginica")
    lr = LogisticRegression().fit(Xb, yb)
    np.testing.assert_array_equal(lr.classes_, ["versicolor", "virginica"])
    assert set(lr.predict(Xb)) <= {"versicolor", "virginica"}
    # decision_function > 0 means classes_[1]
    np.testing.assert_array_equal(lr.classes_[(lr.decision_function(Xb) > 0).astype(int)],
                                  lr.predict(Xb))


def test_logistic_is_binary():
    X, y, _ = load_dataset("iris")
    with pytest.raises(ValueError, match="Only binary classification is supported.*"
                                         "SoftmaxRegression"):
        LogisticRegression().fit(X, y)


def test_softmax_binary_decision_function_is_one_column():
    X, y, _ = load_dataset("breast_cancer")
    m = SoftmaxRegression(epochs=100).fit(X, y)
    d = m.decision_function(X)
    assert d.shape == (len(X),)
    np.testing.assert_array_equal(m.classes_[(d > 0).astype(int)], m.predict(X))
    assert m.coef_.shape == (2, X.shape[1])


def test_mlp_classifier_on_digits():
    Xtr, Xte, ytr, yte = _split("digits")
    t0 = time.perf_counter()
    # some pixels are 0 in every training image: legitimately reported, scaled by 1
    with pytest.warns(ConstantColumnWarning):
        m = MLPClassifier().fit(Xtr, ytr)
    elapsed = time.perf_counter() - t0
    assert m.score(Xte, yte) >= 0.97
    assert elapsed < 20, f"MLPClassifier on digits took {elapsed:.1f} s"
    assert [W.shape for W in m.coefs_] == [(64, 100), (100, 10)]
    assert [b.shape for b in m.intercepts_] == [(100,), (10,)]
    np.testing.assert_allclose(m.predict_proba(Xte).sum(axis=1), 1.0, atol=1e-12)


def test_mlp_regressor_on_smooth_function():
    rng = np.random.default_rng(0)
    X = rng.uniform(-3, 3, size=(400, 1))
    y = np.sin(X[:, 0]) + 0.3 * X[:, 0]
    Xt = np.linspace(-3, 3, 200).reshape(-1, 1)
    yt = np.sin(Xt[:, 0]) + 0.3 * Xt[:, 0]
    m = MLPRegressor(hidden_layer_sizes=(32,), activation="tanh", lr=0.01, batch_size=32,
                     epochs=500).fit(X, y)
    assert m.score(Xt, yt) > 0.95
    assert m.predict(Xt).shape == (200,)


# ---------------------------------------------------------------------------------------------
# dtypes
# ---------------------------------------------------------------------------------------------

def _small_problems():
    X, y, _ = load_dataset("iris")
    Xb, yb = X[y < 2], y[y < 2]
    return [
        (LinearRegression(epochs=50), X[:, :3], X[:, 3]),
        (LogisticRegression(epochs=50), Xb, yb),
        (SoftmaxRegression(epochs=50), X, y),
        (MLPClassifier(hidden_layer_sizes=(8,), epochs=20), X, y),
        (MLPRegressor(hidden_layer_sizes=(8,), epochs=20), X[:, :3], X[:, 3]),
    ]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("i", range(5), ids=[type(e).__name__ for e, _, _ in _small_problems()])
def test_dtype_is_kept(i, dtype):
    est, X, y = _small_problems()[i]
    X = X.astype(dtype)
    y = y.astype(dtype) if y.dtype.kind == "f" else y
    est.fit(X, y)
    assert est.params_.dtype == dtype
    for name in ("coef_", "intercept_"):
        v = getattr(est, name, None)
        if isinstance(v, np.ndarray):
            assert v.dtype == dtype, name
    for W, b in zip(getattr(est, "coefs_", []), getattr(est, "intercepts_", [])):
        assert W.dtype == dtype and b.dtype == dtype
    if hasattr(est, "predict_proba"):
        assert est.predict_proba(X).dtype == dtype
    else:
        assert est.predict(X).dtype == dtype
    # float64 input to a float32 model: predictions stay in the model's dtype
    if dtype == np.float32 and not hasattr(est, "predict_proba"):
        assert est.predict(X.astype(np.float64)).dtype == np.float32


# ---------------------------------------------------------------------------------------------
# partial_fit
# ---------------------------------------------------------------------------------------------

def test_partial_fit_online_approaches_fit():
    X, y, coef, intercept = make_linear(1000, 3, noise=0.1, seed=4)
    full = LinearRegression().fit(X, y)
    # batch_size=1: one SGD step per sample; the decaying rate continues across calls
    online = LinearRegression(batch_size=1, lr=0.01,
                              schedule={"name": "inverse_time", "decay": 1e-3})
    for _ in range(3):
        for lo in range(0, len(X), 50):
            online.partial_fit(X[lo:lo + 50], y[lo:lo + 50])
    np.testing.assert_allclose(online.coef_, full.coef_, atol=0.02)
    assert online.intercept_ == pytest.approx(full.intercept_, abs=0.02)
    assert online.n_iter_ == 60 and len(online.history_["loss"]) == 60
    assert online.t_ == 3 * len(X)              # one step per sample
    assert abs(online.score(X, y) - full.score(X, y)) < 1e-3


def test_partial_fit_classifier_needs_classes_first():
    X, y, _ = load_dataset("iris")
    rng = np.random.default_rng(0)
    order = rng.permutation(len(X))
    X, y = X[order], y[order]
    m = SoftmaxRegression(batch_size=1, lr=0.05)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        m.partial_fit(X[:30], y[:30])
    first = np.flatnonzero(y != 2)[:10]              # a first chunk without class 2
    m.partial_fit(X[first], y[first], classes=[0, 1, 2])
    np.testing.assert_array_equal(m.classes_, [0, 1, 2])
    for _ in range(5):
        for lo in range(0, len(X), 25):
            m.partial_fit(X[lo:lo + 25], y[lo:lo + 25])
    assert m.score(X, y) > 0.9
    assert m.predict_proba(X).shape == (len(X), 3)
    with pytest.raises(ValueError, match="not seen in the first call"):
        m.partial_fit(X[:5], np.full(5, 7))
    with pytest.raises(ValueError, match="is not the same as on the first call"):
        m.partial_fit(X[:5], y[:5], classes=[0, 1])


# ---------------------------------------------------------------------------------------------
# early stopping
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("make, data", [
    (lambda: MLPClassifier(hidden_layer_sizes=(32,), early_stopping=True,
                           validation_fraction=0.2), "digits"),
    (lambda: SoftmaxRegression(early_stopping=True, validation_fraction=0.2, epochs=300),
     "digits"),
    (lambda: LinearRegression(early_stopping=True, validation_fraction=0.2, batch_size=16,
                              lr=0.05), "diabetes"),
], ids=["mlp", "softmax", "linear_sgd"])
def test_early_stopping_restores_best_weights(make, data):
    X, y, _ = load_dataset(data)
    m = make()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConstantColumnWarning)
        m.fit(X, y)
    h = m.history_
    assert len(h["loss"]) == len(h["val_loss"]) == len(h["val_score"]) == m.n_iter_
    assert m.n_iter_ < m.epochs and "validation score" in m.stop_reason_
    vs = np.array(h["val_score"])
    assert int(np.argmax(vs)) == m.best_epoch_
    _, val = m._validation_split(len(X))
    assert m.score(X[val], y[val]) == pytest.approx(vs.max(), rel=0, abs=1e-12)


def test_early_stopping_restores_best_epoch_even_within_tol():
    # a later epoch better by less than tol does not reset patience, but it is the best one
    X, y, _ = load_dataset("diabetes")
    m = LinearRegression(early_stopping=True, validation_fraction=0.2, tol=0.01, patience=5,
                         lr=0.01).fit(X, y)
    vs = np.array(m.history_["val_score"])
    assert int(np.argmax(vs)) == m.best_epoch_
    _, val = m._validation_split(len(X))
    assert m.score(X[val], y[val]) == pytest.approx(vs.max(), rel=0, abs=1e-12)


# ---------------------------------------------------------------------------------------------
# divergence
# ---------------------------------------------------------------------------------------------

def test_divergence_is_reported_with_a_hint():
    X, y = load_diabetes(return_X_y=True, scaled=False)     # raw units: age, bmi, blood serum
    m = LinearRegression(lr=10, standardize=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.warns(ConvergenceWarning, match="diverged"):
            m.fit(X, y)
    assert m.status_ == "diverged"
    assert "diverged" in m.stop_reason_
    assert "smaller learning rate" in m.stop_reason_ and "lr=1" in m.stop_reason_
    assert m.stop_reason_.endswith("; features are not standardized (standardize=False): "
                                   "gradient descent needs scaled features")
    # the same data with the default standardization trains fine
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ok = LinearRegression().fit(X, y)
    assert ok.status_ != "diverged" and ok.score(X, y) > 0.5


def test_divergence_with_standardization_has_no_scaling_hint():
    X, y, _ = load_dataset("diabetes")
    with pytest.warns(ConvergenceWarning):
        m = LinearRegression(lr=10).fit(X, y)
    assert "diverged" in m.stop_reason_ and "standardize" not in m.stop_reason_


# ---------------------------------------------------------------------------------------------
# bad input, in scikit-learn's words
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("Est", [LinearRegression, MLPRegressor])
def test_bad_input(Est):
    X, y, _, _ = make_linear(50, 3, seed=5)
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array instead"):
        Est(epochs=5).fit(X[:, 0], y)
    Xn = X.copy()
    Xn[3, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        Est(epochs=5).fit(Xn, y)
    yn = y.copy()
    yn[0] = np.inf
    with pytest.raises(ValueError, match="Input y contains infinity"):
        Est(epochs=5).fit(X, yn)
    m = Est(epochs=5)
    with pytest.raises(NotFittedError):
        m.predict(X)
    m.fit(X, y)
    with pytest.raises(ValueError, match="X has 2 features, but .* is expecting 3 features"):
        m.predict(X[:, :2])
    with pytest.raises(ValueError, match="Expected 2D array"):
        m.predict(X[0])


def test_bad_hyper_parameters():
    X, y, _, _ = make_linear(50, 3, seed=5)
    for kw in [dict(batch_size=0), dict(epochs=0), dict(validation_fraction=1.0),
               dict(l2=-1.0), dict(optimizer="adamm"), dict(loss="mae")]:
        with pytest.raises(ValueError):
            LinearRegression(**kw).fit(X, y)


# ---------------------------------------------------------------------------------------------
# fitted attributes
# ---------------------------------------------------------------------------------------------

def test_fitted_attributes_shapes():
    X, y, _ = load_dataset("iris")
    lin = LinearRegression(epochs=30).fit(X[:, :3], X[:, 3])
    assert lin.coef_.shape == (3,) and isinstance(lin.intercept_, float)
    assert lin.n_features_in_ == 3
    # the default optimizer (L-BFGS on a full batch) converges before 30 epochs
    assert len(lin.history_["loss"]) == lin.n_iter_ <= 30 and lin.converged_
    assert lin.history_["val_loss"] == [] and lin.history_["val_score"] == []
    multi = LinearRegression(epochs=30).fit(X[:, :2], X[:, 2:])
    assert multi.coef_.shape == (2, 2) and multi.intercept_.shape == (2,)
    assert multi.predict(X[:, :2]).shape == (len(X), 2)
    log = LogisticRegression(epochs=30).fit(X[y < 2], y[y < 2])
    assert log.coef_.shape == (1, 4) and log.intercept_.shape == (1,)
    soft = SoftmaxRegression(epochs=30).fit(X, y)
    assert soft.coef_.shape == (3, 4) and soft.intercept_.shape == (3,)
    # coef_ is for the original features: the logits are X @ coef_.T + intercept_
    np.testing.assert_allclose(soft.decision_function(X), X @ soft.coef_.T + soft.intercept_,
                               atol=1e-10)
    np.testing.assert_allclose(log.decision_function(X), (X @ log.coef_.T + log.intercept_)[:, 0],
                               atol=1e-10)
    for m in (lin, multi, log, soft):
        assert m.n_iter_ <= 30 and len(m.history_["loss"]) == m.n_iter_
        assert m.loss_ == m.history_["loss"][-1]
        assert np.all(np.isfinite(m.history_["loss"]))
