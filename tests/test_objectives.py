"""Tests of the models' losses (gdlab.models.linear, .mlp, .activations): analytic
gradients checked against finite differences, sympy, the lecture's update rule and scikit-learn."""

from __future__ import annotations

import inspect
import pickle
import warnings

import numpy as np
import pytest
import sympy as sp

from gdlab.errors import DataError, ParameterError
from gdlab.models import LinearLoss, LogisticLoss, MLPLoss, SoftmaxLoss, get_loss
from gdlab.models.activations import (
    ACTIVATIONS,
    log_sigmoid,
    log_softmax,
    relu,
    relu_derivative,
    sigmoid,
    sigmoid_derivative,
    softmax,
    softplus,
    tanh_derivative,
)

# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def fd_grad(f, p, eps=1e-6):
    """Central finite differences of a scalar function f at p (float64)."""
    g = np.empty_like(p)
    q = p.copy()
    for i in range(p.size):
        q[i] = p[i] + eps
        fp = f(q)
        q[i] = p[i] - eps
        fm = f(q)
        q[i] = p[i]
        g[i] = (fp - fm) / (2 * eps)
    return g


def check_gradient(obj, p, X, y, rtol=1e-6, atol=1e-8):
    L, g = obj.value_and_grad(p, X, y)
    assert isinstance(L, float)
    assert L == pytest.approx(obj.value(p, X, y), rel=1e-12, abs=1e-14)
    num = fd_grad(lambda q: obj.value(q, X, y), p)
    np.testing.assert_allclose(g, num, rtol=rtol, atol=atol)
    return L, g


def random_params(obj, rng, scale=0.5):
    return rng.normal(scale=scale, size=obj.n_params)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


# ---------------------------------------------------------------------------
# elementwise functions
# ---------------------------------------------------------------------------

def test_elementwise_functions_values():
    z = np.linspace(-5, 5, 11)
    np.testing.assert_allclose(sigmoid(z), 1 / (1 + np.exp(-z)), rtol=1e-14)
    np.testing.assert_allclose(sigmoid_derivative(z), sigmoid(z) * (1 - sigmoid(z)))
    np.testing.assert_allclose(log_sigmoid(z), np.log(1 / (1 + np.exp(-z))), rtol=1e-13)
    np.testing.assert_allclose(softplus(z), np.log1p(np.exp(z)), rtol=1e-13)
    np.testing.assert_array_equal(relu(z), np.maximum(z, 0))
    np.testing.assert_array_equal(relu_derivative(np.array([-1.0, 0.0, 2.0])), [0, 0, 1])
    np.testing.assert_allclose(tanh_derivative(z), 1 / np.cosh(z) ** 2, rtol=1e-12)
    Z = np.random.default_rng(0).normal(size=(4, 3))
    P = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(softmax(Z), P, rtol=1e-14)
    np.testing.assert_allclose(log_softmax(Z), np.log(P), rtol=1e-13)
    np.testing.assert_allclose(softmax(Z, axis=0).sum(axis=0), 1)


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "identity"])
def test_activation_derivatives_match_finite_differences(name):
    act = ACTIVATIONS[name]
    z = np.array([-3.0, -0.7, 0.4, 2.5])
    num = (act.function(z + 1e-6) - act.function(z - 1e-6)) / 2e-6
    np.testing.assert_allclose(act.derivative(z), num, rtol=1e-7, atol=1e-10)


def test_elementwise_functions_stable_at_extremes():
    z = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        for dt in (np.float64, np.float32):
            zz = z.astype(dt)
            for f in (sigmoid, log_sigmoid, softplus, sigmoid_derivative):
                r = f(zz)
                assert r.dtype == dt
                assert np.all(np.isfinite(r))
            assert softplus(zz)[-1] == 1000 and log_sigmoid(zz)[0] == -1000
            zz2 = np.stack([zz, -zz])
            assert np.all(np.isfinite(softmax(zz2))) and np.all(np.isfinite(log_softmax(zz2)))
            assert softmax(zz2).dtype == dt


# ---------------------------------------------------------------------------
# gradient vs finite differences (float64)
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("loss", ["mse", "rmse", "half_mse"])
@pytest.mark.parametrize("n_targets", [1, 3])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("l2", [0.0, 0.3])
def test_linear_gradient_fd(rng, loss, n_targets, fit_intercept, l2):
    X = rng.normal(size=(15, 4))
    y = rng.normal(size=(15,) if n_targets == 1 else (15, n_targets))
    obj = LinearLoss(4, n_targets=n_targets, fit_intercept=fit_intercept, loss=loss, l2=l2)
    check_gradient(obj, random_params(obj, rng), X, y)


def test_linear_single_target_accepts_column_y(rng):
    X = rng.normal(size=(8, 2))
    y = rng.normal(size=8)
    obj = LinearLoss(2)
    p = random_params(obj, rng)
    a = obj.value_and_grad(p, X, y)
    b = obj.value_and_grad(p, X, y[:, None])
    assert a[0] == b[0]
    np.testing.assert_array_equal(a[1], b[1])
    assert obj.predict_raw(p, X).shape == (8,)


def test_rmse_perfect_fit_gives_zero_gradient(rng):
    X = rng.normal(size=(10, 3))
    obj = LinearLoss(3, loss="rmse")
    p = random_params(obj, rng)
    y = obj.predict_raw(p, X)
    with np.errstate(all="raise"):
        L, g = obj.value_and_grad(p, X, y)
    assert L == pytest.approx(0, abs=1e-12)
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, 0, atol=1e-6)
    # exactly zero residual
    obj0 = LinearLoss(2, loss="rmse", fit_intercept=False)
    L, g = obj0.value_and_grad(np.array([1.0, 2.0]), np.eye(2), np.array([1.0, 2.0]))
    assert L == 0.0 and np.array_equal(g, [0.0, 0.0])


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("l2", [0.0, 0.2])
def test_logistic_gradient_fd(rng, fit_intercept, l2):
    X = rng.normal(size=(25, 3))
    y = rng.integers(0, 2, 25)
    obj = LogisticLoss(3, fit_intercept=fit_intercept, l2=l2)
    check_gradient(obj, random_params(obj, rng), X, y)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("l2", [0.0, 0.2])
def test_softmax_gradient_fd(rng, fit_intercept, l2):
    X = rng.normal(size=(25, 3))
    y = rng.integers(0, 4, 25)
    obj = SoftmaxLoss(3, 4, fit_intercept=fit_intercept, l2=l2)
    p = random_params(obj, rng)
    check_gradient(obj, p, X, y)
    # one-hot targets give the same loss and gradient as integer labels
    L1, g1 = obj.value_and_grad(p, X, y)
    L2, g2 = obj.value_and_grad(p, X, np.eye(4)[y])
    assert L1 == pytest.approx(L2, rel=1e-13)
    np.testing.assert_allclose(g1, g2, rtol=1e-12, atol=1e-15)


def test_softmax_probability_targets_fd(rng):
    X = rng.normal(size=(12, 3))
    Y = rng.dirichlet(np.ones(3), size=12)
    obj = SoftmaxLoss(3, 3, l2=0.1)
    check_gradient(obj, random_params(obj, rng), X, Y)


def _hidden_preactivations(obj, p, X):
    a, zs = X, []
    for W, b in obj.layers(p)[:-1]:
        z = a @ W + b
        zs.append(z)
        a = ACTIVATIONS[obj.activation].function(z)
    return zs


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("hidden", [[5], [5, 4], [4, 3, 5]])
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_mlp_gradient_fd(rng, activation, hidden, task):
    n_out = 3 if task == "classification" else 2
    sizes = [3, *hidden, n_out]
    obj = MLPLoss(sizes, activation=activation, task=task, l2=0.05)
    X = rng.normal(size=(12, 3))
    y = rng.integers(0, 3, 12) if task == "classification" else rng.normal(size=(12, 2))
    p = obj.init_params(rng)
    p[obj.penalized.stop:] = rng.normal(scale=0.3, size=obj.n_params - obj.penalized.stop)
    if activation == "relu":
        # keep the finite differences away from the kinks of ReLU
        for z in _hidden_preactivations(obj, p, X):
            assert np.min(np.abs(z)) > 1e-4
    check_gradient(obj, p, X, y)


def test_mlp_single_output_regression_and_no_hidden_layer(rng):
    X = rng.normal(size=(10, 3))
    obj = MLPLoss([3, 4, 1], activation="tanh", task="regression", l2=0.1)
    p = obj.init_params(rng)
    check_gradient(obj, p, X, rng.normal(size=10))
    assert obj.predict(p, X).shape == (10,)
    # no hidden layer: the MLP is exactly softmax regression
    mlp = MLPLoss([3, 4], task="classification", l2=0.1)
    sm = SoftmaxLoss(3, 4, l2=0.1)
    q = rng.normal(size=sm.n_params)
    y = rng.integers(0, 4, 10)
    a, b = mlp.value_and_grad(q, X, y), sm.value_and_grad(q, X, y)
    assert a[0] == pytest.approx(b[0], rel=1e-14)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-13, atol=1e-16)


def test_mlp_repeated_calls_and_batch_sizes_are_consistent(rng):
    """The cached work buffers must not leak state between calls."""
    obj = MLPLoss([4, 6, 3], activation="sigmoid")
    p = obj.init_params(rng)
    X = rng.normal(size=(20, 4))
    y = rng.integers(0, 3, 20)
    L1, g1 = obj.value_and_grad(p, X, y)
    obj.value_and_grad(p, X[:7], y[:7])
    obj.value(p, X, y)
    out = np.empty_like(p)
    L2, g2 = obj.value_and_grad(p, X, y, out=out)
    assert g2 is out
    assert L1 == L2
    np.testing.assert_array_equal(g1, g2)
    # the MLP survives pickling (the thread-local cache is dropped)
    obj2 = pickle.loads(pickle.dumps(obj))
    assert obj2.value(p, X, y) == L1


# ---------------------------------------------------------------------------
# linear losses vs sympy
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("loss", ["mse", "rmse", "half_mse"])
@pytest.mark.parametrize("l2", [0, sp.Rational(1, 4)])
def test_linear_losses_match_sympy(loss, l2):
    Xn = [[1, 2], [3, -1], [0, 5]]
    yn = [3, -2, 4]
    n = 3
    b1, b2, c = sp.symbols("b1 b2 c")
    r = [yn[i] - (Xn[i][0] * b1 + Xn[i][1] * b2 + c) for i in range(n)]
    S = sum(ri ** 2 for ri in r)
    if loss == "mse":
        L = S / n
    elif loss == "rmse":
        L = sp.sqrt(S / n)
    else:
        L = S / (2 * n)
    L = L + l2 / 2 * (b1 ** 2 + b2 ** 2)
    syms = [b1, b2, c]
    point = {b1: sp.Rational(3, 10), b2: sp.Rational(-7, 10), c: sp.Rational(1, 2)}
    want_value = float(L.subs(point))
    want_grad = [float(sp.diff(L, s).subs(point)) for s in syms]

    obj = LinearLoss(2, loss=loss, l2=float(l2))
    p = np.array([0.3, -0.7, 0.5])
    value, grad = obj.value_and_grad(p, np.array(Xn, float), np.array(yn, float))
    assert value == pytest.approx(want_value, rel=1e-12)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-12, atol=1e-14)


def test_rmse_gradient_is_the_lecture_formula():
    """∇ = −Xᵀ(y−Xβ)/(n·L) with L = sqrt(‖r‖²/n), i.e. −Xᵀr/(√n·‖r‖₂)."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(9, 3))
    y = rng.normal(size=9)
    beta = rng.normal(size=3)
    obj = LinearLoss(3, loss="rmse", fit_intercept=False)
    L, g = obj.value_and_grad(beta, X, y)
    r = y - X @ beta
    n = len(y)
    assert L == pytest.approx(np.sqrt(r @ r / n), rel=1e-14)
    np.testing.assert_allclose(g, -X.T @ r / (n * L), rtol=1e-13)
    np.testing.assert_allclose(g, -X.T @ r / (np.sqrt(n) * np.linalg.norm(r)), rtol=1e-13)


# ---------------------------------------------------------------------------
# the lecture's update rule (lecture 004)
# ---------------------------------------------------------------------------

def test_lecture_004_update_equals_half_mse_step():
    rng = np.random.default_rng(4)
    x1, x2 = rng.normal(size=30), rng.normal(size=30)
    y = 2 * x1 - 3 * x2 + 0.5 + rng.normal(scale=0.1, size=30)
    w1, w2, b = 0.1, -0.2, 0.05
    lr = 0.1

    obj = LinearLoss(2, loss="half_mse")
    X = np.column_stack([x1, x2])
    params = np.array([w1, w2, b])
    for _ in range(5):
        y_predict = w1 * x1 + w2 * x2 + b
        w1 = w1 - lr * ((y_predict - y) * x1).mean()
        w2 = w2 - lr * ((y_predict - y) * x2).mean()
        b = b - lr * (y_predict - y).mean()
        loss, grad = obj.value_and_grad(params, X, y)
        assert loss == pytest.approx(((y_predict - y) ** 2).mean() / 2, rel=1e-13)
        params = params - lr * grad
        np.testing.assert_allclose(params, [w1, w2, b], rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------
# closed form
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("n_targets", [1, 2])
def test_closed_form_matches_sklearn_and_zeroes_the_gradient(rng, n_targets):
    from sklearn.linear_model import LinearRegression, Ridge

    X = rng.normal(size=(40, 3)) + 2
    y = X @ rng.normal(size=(3, n_targets)) + 1 + rng.normal(scale=0.1, size=(40, n_targets))
    if n_targets == 1:
        y = y[:, 0]
    ref = LinearRegression().fit(X, y)
    for loss in ("mse", "rmse", "half_mse"):
        obj = LinearLoss(3, n_targets=n_targets, loss=loss)
        p = obj.closed_form(X, y)
        v = obj.views(p)
        np.testing.assert_allclose(v["coef"], ref.coef_.T, rtol=1e-10)
        np.testing.assert_allclose(v["intercept"], np.atleast_1d(ref.intercept_), rtol=1e-10)
        np.testing.assert_allclose(obj.gradient(p, X, y), 0, atol=1e-10)
    n = X.shape[0]
    for loss, alpha in (("mse", n * 0.3 / 2), ("half_mse", n * 0.3)):
        obj = LinearLoss(3, n_targets=n_targets, loss=loss, l2=0.3)
        p = obj.closed_form(X, y)
        ridge = Ridge(alpha=alpha).fit(X, y)
        np.testing.assert_allclose(obj.views(p)["coef"], ridge.coef_.T, rtol=1e-9)
        np.testing.assert_allclose(obj.gradient(p, X, y), 0, atol=1e-10)
    with pytest.raises(ParameterError):
        LinearLoss(3, n_targets=n_targets, loss="rmse", l2=0.3).closed_form(X, y)


def test_closed_form_without_intercept(rng):
    X = rng.normal(size=(20, 3))
    y = rng.normal(size=20)
    obj = LinearLoss(3, fit_intercept=False)
    p = obj.closed_form(X, y)
    np.testing.assert_allclose(p, np.linalg.lstsq(X, y, rcond=None)[0], rtol=1e-12)
    assert obj.closed_form(X, y, dtype=np.float32).dtype == np.float32


# ---------------------------------------------------------------------------
# logistic / softmax vs scikit-learn
# ---------------------------------------------------------------------------

def _classification_data(n_classes, n=150, d=4, seed=0):
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=n, n_features=d, n_informative=3, n_redundant=0,
                               n_classes=n_classes, n_clusters_per_class=1, class_sep=0.8,
                               flip_y=0.1, random_state=seed)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X, y


def _minimize(obj, X, y):
    from scipy.optimize import minimize

    res = minimize(lambda q: obj.value_and_grad(q, X, y), np.zeros(obj.n_params), jac=True,
                   method="L-BFGS-B", options={"gtol": 1e-11, "ftol": 1e-15, "maxiter": 5000})
    return res.x


def test_logistic_log_loss_matches_sklearn(rng):
    from sklearn.metrics import log_loss

    X, y = _classification_data(2)
    obj = LogisticLoss(X.shape[1])
    p = random_params(obj, rng)
    assert obj.value(p, X, y) == pytest.approx(log_loss(y, obj.predict_raw(p, X)), rel=1e-12)


def test_softmax_log_loss_matches_sklearn(rng):
    from sklearn.metrics import log_loss

    X, y = _classification_data(3)
    obj = SoftmaxLoss(X.shape[1], 3)
    p = random_params(obj, rng)
    P = obj.predict_raw(p, X)
    assert obj.value(p, X, y) == pytest.approx(log_loss(y, P, labels=[0, 1, 2]), rel=1e-12)


def test_logistic_minimizer_matches_sklearn():
    from sklearn.linear_model import LogisticRegression

    X, y = _classification_data(2)
    n, l2 = X.shape[0], 0.05
    obj = LogisticLoss(X.shape[1], l2=l2)
    p = _minimize(obj, X, y)
    ref = LogisticRegression(C=1 / (n * l2), tol=1e-12, max_iter=10000).fit(X, y)
    v = obj.views(p)
    np.testing.assert_allclose(v["coef"], ref.coef_[0], atol=1e-5)
    np.testing.assert_allclose(v["intercept"], ref.intercept_, atol=1e-5)
    np.testing.assert_array_equal(obj.predict(p, X), ref.predict(X))


def test_softmax_minimizer_matches_sklearn():
    from sklearn.linear_model import LogisticRegression

    X, y = _classification_data(3)
    n, l2 = X.shape[0], 0.05
    obj = SoftmaxLoss(X.shape[1], 3, l2=l2)
    p = _minimize(obj, X, y)
    ref = LogisticRegression(C=1 / (n * l2), tol=1e-12, max_iter=10000).fit(X, y)
    assert ref.coef_.shape == (3, X.shape[1])  # multinomial
    v = obj.views(p)
    np.testing.assert_allclose(v["coef"], ref.coef_.T, atol=1e-5)
    # intercepts are only determined up to a common constant
    b = v["intercept"]
    np.testing.assert_allclose(b - b.mean(), ref.intercept_ - ref.intercept_.mean(), atol=1e-5)
    np.testing.assert_allclose(obj.predict_raw(p, X), ref.predict_proba(X), atol=1e-6)


# ---------------------------------------------------------------------------
# MLP vs scikit-learn
# ---------------------------------------------------------------------------

def _sk_mlp(kind, activation, hidden, X, y):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    cls = MLPClassifier if kind == "classification" else MLPRegressor
    model = cls(hidden_layer_sizes=hidden, activation=activation, max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return model


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic"])
def test_mlp_forward_matches_sklearn_classifier(rng, activation):
    X, y = _classification_data(3, n=60)
    obj = MLPLoss([X.shape[1], 6, 5, 3], activation=activation)
    p = obj.init_params(rng)
    p[obj.penalized.stop:] = rng.normal(scale=0.5, size=obj.n_params - obj.penalized.stop)
    model = _sk_mlp("classification", activation, (6, 5), X, y)
    model.coefs_ = [W.copy() for W, _ in obj.layers(p)]
    model.intercepts_ = [b.copy() for _, b in obj.layers(p)]
    np.testing.assert_allclose(obj.forward(p, X), model.predict_proba(X), rtol=1e-10,
                               atol=1e-15)
    np.testing.assert_array_equal(obj.predict(p, X), model.predict(X))


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic"])
def test_mlp_forward_matches_sklearn_regressor(rng, activation):
    X = rng.normal(size=(30, 3))
    y = rng.normal(size=30)
    obj = MLPLoss([3, 5, 1], activation=activation, task="regression")
    p = obj.init_params(rng)
    model = _sk_mlp("regression", activation, (5,), X, y)
    model.coefs_ = [W.copy() for W, _ in obj.layers(p)]
    model.intercepts_ = [b.copy() for _, b in obj.layers(p)]
    np.testing.assert_allclose(obj.forward(p, X)[:, 0], model.predict(X), rtol=1e-12)
    # loss convention: sklearn's squared_error = ½·mean((ŷ − y)²)
    assert obj.value(p, X, y) == pytest.approx(0.5 * np.mean((model.predict(X) - y) ** 2),
                                               rel=1e-12)


@pytest.mark.parametrize("kind", ["classification", "regression"])
@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic"])
def test_mlp_loss_and_gradient_match_sklearn_backprop(rng, kind, activation):
    """Cross-check with scikit-learn's own (private) backprop, alpha = l2·n."""
    if kind == "classification":
        X, y = _classification_data(3, n=40)
        Y = np.eye(3)[y]
        sizes = [X.shape[1], 5, 4, 3]
    else:
        X = rng.normal(size=(40, 3))
        y = rng.normal(size=40)
        Y = y[:, None]
        sizes = [3, 5, 4, 1]
    l2 = 0.01
    obj = MLPLoss(sizes, activation=activation, task=kind, l2=l2)
    p = obj.init_params(rng)
    p[obj.penalized.stop:] = rng.normal(scale=0.3, size=obj.n_params - obj.penalized.stop)
    model = _sk_mlp(kind, activation, tuple(sizes[1:-1]), X, y)
    if "sample_weight" not in inspect.signature(model._backprop).parameters:
        pytest.skip("this scikit-learn's private _backprop has another signature")
    model.alpha = l2 * X.shape[0]
    model.coefs_ = [W.copy() for W, _ in obj.layers(p)]
    model.intercepts_ = [b.copy() for _, b in obj.layers(p)]
    layers = obj.layers(p)
    activations = [X] + [None] * len(layers)
    deltas = [None] * len(layers)
    cg = [np.empty_like(W) for W, _ in layers]
    ig = [np.empty_like(b) for _, b in layers]
    loss, cg, ig = model._backprop(X, Y, None, activations, deltas, cg, ig)
    L, g = obj.value_and_grad(p, X, y)
    assert L == pytest.approx(loss, rel=1e-12)
    gl = obj.layers(g)
    for (gW, gb), W_ref, b_ref in zip(gl, cg, ig):
        np.testing.assert_allclose(gW, W_ref, rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(gb, b_ref, rtol=1e-10, atol=1e-15)


# ---------------------------------------------------------------------------
# initialization, views, dtype
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
def test_mlp_init_bounds(activation):
    sizes = [50, 40, 30, 10]
    obj = MLPLoss(sizes, activation=activation)
    p = obj.init_params(np.random.default_rng(0))
    for k, ((W, b), (fi, fo), r) in enumerate(zip(obj.layers(p), zip(sizes, sizes[1:]),
                                                  obj.init_bounds())):
        into_relu = activation == "relu" and k < len(sizes) - 2  # the output layer is Glorot
        want = np.sqrt(6 / fi) if into_relu else np.sqrt(6 / (fi + fo))
        assert r == pytest.approx(want)
        assert np.all(np.abs(W) <= r) and np.max(np.abs(W)) > 0.9 * r
        assert W.std() == pytest.approx(r / np.sqrt(3), rel=0.15)
        assert np.all(b == 0)
    # same seed, same parameters; float32 requested, float32 given
    q = obj.init_params(np.random.default_rng(0), dtype=np.float32)
    assert q.dtype == np.float32
    np.testing.assert_allclose(q, p, rtol=1e-6)
    np.testing.assert_array_equal(obj.init_params(7), obj.init_params(7))


def test_views_are_views():
    objs = [LinearLoss(3, n_targets=2), LogisticLoss(3), SoftmaxLoss(3, 4),
            MLPLoss([3, 5, 4, 2])]
    for obj in objs:
        p = np.zeros(obj.n_params)
        v = obj.views(p)
        assert sum(a.size for a in v.values()) == obj.n_params
        for name, a in v.items():
            assert a.shape == obj.param_shapes[name]
            assert np.shares_memory(a, p)
            p[:] = 0
            p += 1.5                      # an optimizer step on the flat array ...
            assert np.all(a == 1.5)       # ... is seen through the view
            a[...] = -2.0                 # writing the view changes the flat array
            assert np.count_nonzero(p == -2.0) == a.size
        # pack is the inverse of views
        q = np.arange(obj.n_params, dtype=float)
        np.testing.assert_array_equal(obj.pack(obj.views(q)), q)
    mlp = objs[-1]
    assert list(mlp.views(np.zeros(mlp.n_params))) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    # all penalized weights are one contiguous leading block
    n_w = sum(a.size for k, a in mlp.views(np.zeros(mlp.n_params)).items() if k.startswith("W"))
    assert mlp.penalized == slice(0, n_w)


def test_gradient_written_through_views_of_the_flat_array(rng):
    obj = MLPLoss([3, 4, 2], activation="tanh")
    p = obj.init_params(rng)
    out = np.full(obj.n_params, np.nan)
    X, y = rng.normal(size=(5, 3)), rng.integers(0, 2, 5)
    _, g = obj.value_and_grad(p, X, y, out=out)
    assert g is out and np.all(np.isfinite(out))


def _all_losses_and_data(rng):
    X = rng.normal(size=(16, 3))
    ycls = rng.integers(0, 3, 16)
    yreg = rng.normal(size=16)
    return [
        (LinearLoss(3, loss="mse", l2=0.1), X, yreg),
        (LinearLoss(3, loss="rmse", l2=0.1), X, yreg),
        (LinearLoss(3, n_targets=2, loss="half_mse", l2=0.1), X, rng.normal(size=(16, 2))),
        (LogisticLoss(3, l2=0.1), X, ycls == 1),
        (SoftmaxLoss(3, 3, l2=0.1), X, ycls),
        (MLPLoss([3, 8, 6, 3], "relu", l2=0.1), X, ycls),
        (MLPLoss([3, 8, 3], "sigmoid", l2=0.1), X, ycls),
        (MLPLoss([3, 8, 2], "tanh", task="regression", l2=0.1), X, rng.normal(size=(16, 2))),
    ]


def test_float32_in_float32_out(rng):
    for obj, X, y in _all_losses_and_data(rng):
        p64 = obj.init_params(rng) + rng.normal(scale=0.1, size=obj.n_params)
        p32 = p64.astype(np.float32)
        X32 = X.astype(np.float32)
        L32, g32 = obj.value_and_grad(p32, X32, y)
        L64, g64 = obj.value_and_grad(p64, X, y)
        assert g32.dtype == np.float32 and g64.dtype == np.float64, obj
        assert isinstance(L32, float)
        assert float(np.float32(L32)) == L32, obj   # the loss was computed in float32
        assert L32 == pytest.approx(L64, rel=1e-5), obj
        np.testing.assert_allclose(g32, g64, rtol=2e-4, atol=2e-5)
        assert obj.predict_raw(p32, X32).dtype == np.float32
        assert obj.value(p32, X32, y) == pytest.approx(L32, rel=1e-6)


def test_float64_X_is_cast_to_params_dtype(rng):
    obj = SoftmaxLoss(3, 3)
    p = obj.init_params(rng, dtype=np.float32)
    X = rng.normal(size=(6, 3))
    _, g = obj.value_and_grad(p, X, rng.integers(0, 3, 6))
    assert g.dtype == np.float32


# ---------------------------------------------------------------------------
# numerical stability
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_huge_logits_are_stable(dtype):
    X = np.array([[1.0], [-1.0], [1.0], [-1.0]], dtype=dtype)
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        log = LogisticLoss(1, fit_intercept=False)
        p = np.array([1000.0], dtype=dtype)          # logits ±1000
        L, g = log.value_and_grad(p, X, np.array([1, 0, 0, 1]))   # two right, two wrong
        assert np.isfinite(L) and L == pytest.approx(500.0) and np.all(np.isfinite(g))
        np.testing.assert_allclose(g, [0.5])        # mean of (σ(z) − y)·x = (0 + 0 + 1 + 1)/4
        L, g = log.value_and_grad(p, X, np.array([1, 0, 1, 0]))   # all right
        assert L == 0.0 and np.all(g == 0)

        sm = SoftmaxLoss(1, 3, fit_intercept=False)
        q = np.array([1000.0, -1000.0, 0.0], dtype=dtype)
        L, g = sm.value_and_grad(q, X, np.array([0, 1, 2, 0]))
        assert np.isfinite(L) and np.all(np.isfinite(g))
        assert L == pytest.approx((0 + 0 + 1000 + 2000) / 4)

        mlp = MLPLoss([1, 3, 2], activation="sigmoid")
        r = mlp.init_params(0, dtype=dtype)
        mlp.views(r)["W1"][...] = 1000.0
        mlp.views(r)["W2"][...] = [[1000.0, -1000.0]] * 3
        L, g = mlp.value_and_grad(r, X, np.array([1, 0, 1, 0]))
        assert np.isfinite(L) and np.all(np.isfinite(g))
        assert np.all(np.isfinite(mlp.forward(r, X)))
        assert sigmoid(np.array(-1000.0, dtype=dtype)) == 0


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------

def test_bad_arguments_raise_parameter_error():
    with pytest.raises(ParameterError):
        LinearLoss(0)
    with pytest.raises(ParameterError):
        LinearLoss(3, loss="mae")
    with pytest.raises(ParameterError):
        LinearLoss(3, l2=-1)
    with pytest.raises(ParameterError):
        SoftmaxLoss(3, 1)
    with pytest.raises(ParameterError):
        MLPLoss([3], activation="relu")
    with pytest.raises(ParameterError):
        MLPLoss([3, 4, 2], activation="swish")
    with pytest.raises(ParameterError):
        MLPLoss([3, 4, 2], task="ranking")
    with pytest.raises(ParameterError):
        MLPLoss([3, 4, 1], task="classification")
    with pytest.raises(ParameterError):
        get_loss("svm")
    obj = LinearLoss(2)
    X, y = np.ones((3, 2)), np.ones(3)
    with pytest.raises(ParameterError):
        obj.value_and_grad(np.zeros(4), X, y)           # wrong length
    with pytest.raises(ParameterError):
        obj.value_and_grad(np.zeros(3, dtype=int), X, y)  # not floating
    with pytest.raises(ParameterError):
        obj.value_and_grad(np.zeros(3), X, y, out=np.zeros(3, dtype=np.float32))
    with pytest.raises(ParameterError):
        obj.init_params(dtype=int)
    assert isinstance(get_loss("mlp", layer_sizes=[2, 3, 2]), MLPLoss)
    assert MLPLoss([2, 3, 2], activation="logistic").activation == "sigmoid"


def test_bad_data_raises_data_error():
    obj = LinearLoss(2)
    p = np.zeros(3)
    with pytest.raises(DataError):
        obj.value(p, np.ones(3), np.ones(3))             # 1-D X
    with pytest.raises(DataError):
        obj.value(p, np.ones((3, 4)), np.ones(3))        # wrong width
    with pytest.raises(DataError):
        obj.value(p, np.ones((0, 2)), np.ones(0))        # empty batch
    with pytest.raises(DataError):
        obj.value(p, np.ones((3, 2)), np.ones(4))        # y length
    log = LogisticLoss(2)
    with pytest.raises(DataError):
        log.value(p, np.ones((3, 2)), np.array([0, 1, 2]))
    sm = SoftmaxLoss(2, 3)
    with pytest.raises(DataError):
        sm.value(np.zeros(sm.n_params), np.ones((3, 2)), np.array([0, 1, 3]))
    with pytest.raises(DataError):
        sm.value(np.zeros(sm.n_params), np.ones((3, 2)), np.array([0, 1.5, 2]))
    assert sm.value(np.zeros(sm.n_params), np.ones((3, 2)), np.array([0.0, 1.0, 2.0])) == \
        pytest.approx(np.log(3))
    assert sm.value(np.zeros(sm.n_params), np.ones((3, 2)), np.array([[0], [1], [2]])) == \
        pytest.approx(np.log(3))
    with pytest.raises(DataError):
        sm.value(np.zeros(sm.n_params), np.ones((3, 2)), np.full((3, 3), 0.5))  # rows sum != 1


@pytest.mark.parametrize("loss", ["mse", "rmse", "half_mse"])
@pytest.mark.parametrize("k,intercept", [(1, True), (3, False), (1, False)])
@pytest.mark.parametrize("compiled", [True, False])
def test_fused_full_batch_pass_equals_the_plain_one(loss, k, intercept, compiled, monkeypatch):
    """Large batches take one threaded pass over X (compiled with numba for one target);
    it must give the plain pass's numbers."""
    import gdlab.models.linear as O
    from gdlab import kernels

    if compiled and not kernels.numba_available():
        pytest.skip("numba not installed")
    if not compiled:
        monkeypatch.setattr(kernels, "linear_pass", lambda: None)

    rng = np.random.default_rng(5)
    n, d = 3000, 40
    X = rng.standard_normal((n, d))
    y = rng.standard_normal((n, k)) if k > 1 else rng.standard_normal(n)
    obj = LinearLoss(d, n_targets=k, fit_intercept=intercept, loss=loss, l2=0.05)
    p = rng.standard_normal(obj.n_params)
    monkeypatch.setattr(O, "_FUSED_MIN", 10**12)
    L_plain, g_plain = obj.value_and_grad(p, X, y)
    g_plain = g_plain.copy()
    monkeypatch.setattr(O, "_FUSED_MIN", 1)
    monkeypatch.setattr(O, "_FUSED_BLOCK_BYTES", 8 * d * 97)  # many blocks, a ragged last one
    L_fused, g_fused = obj.value_and_grad(p, X, y)
    assert L_fused == pytest.approx(L_plain, rel=1e-12)
    np.testing.assert_allclose(g_fused, g_plain, rtol=1e-10, atol=1e-12)
    # float32 stays float32 on the fused path too
    L32, g32 = obj.value_and_grad(p.astype(np.float32), X.astype(np.float32), y.astype(np.float32))
    assert g32.dtype == np.float32
    np.testing.assert_allclose(g32, g_plain, rtol=2e-3, atol=2e-4)
