"""The compiled fast paths of MLP training and the playground (numba, the extra ``fast``)
against the NumPy code they replace: the fused Adam/AdamW, SGD, RMSprop and Adagrad steps
(gdlab.optim.fused) equal to the NumPy rules to the bit, the MLP's compiled elementwise
passes (gdlab.kernels.mlp_kernels) equal to the NumPy loss and gradient to rounding and to
finite differences, and training with and without them.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from gdlab import kernels
from gdlab.data import ArrayStream
from gdlab.errors import DataError, ParameterError
from gdlab.models import MLPLoss
from gdlab.optim.fused import (
    FusedAdagrad,
    FusedAdam,
    FusedAdamW,
    FusedRMSprop,
    FusedSGD,
    make_fused,
)
from gdlab.optim.rules import SGD, Adagrad, Adam, AdamW, RMSprop, make_rule
from gdlab.optim.schedules import make_schedule
from gdlab.train import train

needs_numba = pytest.mark.skipif(not kernels.numba_available(), reason="numba not installed")


@pytest.fixture
def kernel_calls(count_kernel):
    """Counts the calls of the compiled Adam kernel (so a test knows it ran)."""
    return count_kernel("adam_kernel")


@pytest.fixture
def step_calls(count_kernel):
    """Counts the calls of the compiled SGD, RMSprop and Adagrad kernels."""
    return count_kernel("step_kernels")


@pytest.fixture
def no_numba(monkeypatch):
    """As if numba were not installed: ``import numba`` fails, no kernel is built yet."""
    monkeypatch.setitem(sys.modules, "numba", None)
    monkeypatch.setattr(kernels, "_adam", None)
    monkeypatch.setattr(kernels, "_steps", None)
    monkeypatch.setattr(kernels, "_mixed", None)
    monkeypatch.setattr(kernels, "_mlp", None)
    monkeypatch.setattr(kernels, "_rows", None)
    assert not kernels.numba_available()


def _same_bits(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _grads(rng, n, dtype, steps):
    """Gradients over many magnitudes, with zeros, for ``steps`` steps."""
    for _ in range(steps):
        g = rng.standard_normal(n) * np.exp(rng.uniform(-25, 6, n))
        g[::37] = 0
        yield g.astype(dtype)


# ---------------------------------------------------------------------------
# the fused Adam step
# ---------------------------------------------------------------------------

@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls", [Adam, AdamW])
@pytest.mark.parametrize("weight_decay", [0.0, 0.03])
@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("maximize", [False, True])
def test_fused_adam_is_the_numpy_rule_to_the_bit(kernel_calls, dtype, cls, weight_decay,
                                                 amsgrad, maximize):
    rng = np.random.default_rng(7)
    n, steps = 1537, 250
    for beta1 in (0.9, 0.3):  # torch's lerp: both of its formulas (weight below/above 0.5)
        rule = cls(lr=1e-2, betas=(beta1, 0.99), eps=1e-8, weight_decay=weight_decay,
                   amsgrad=amsgrad, maximize=maximize)
        fast = make_fused(rule, required=True)
        assert type(fast) is (FusedAdamW if cls is AdamW else FusedAdam)
        assert fast.config() == rule.config()
        p_ref = rng.standard_normal(n).astype(dtype)
        p = p_ref.copy()
        s_ref, s = rule.init(p_ref), fast.init(p)
        calls = kernel_calls[0]
        for t, g in enumerate(_grads(rng, n, dtype, steps)):
            lr = 1e-2 * 0.99 ** t  # a scheduled rate: a new Python float every step
            rule.step(p_ref, g, s_ref, lr)
            fast.step(p, g, s, lr)
        assert kernel_calls[0] - calls == steps  # the compiled pass ran, every step
        assert _same_bits(p, p_ref)
        assert s.keys() == s_ref.keys() and s["step"] == s_ref["step"] == steps
        for key in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
            if key in s_ref:
                assert _same_bits(s[key], s_ref[key]), key


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_adam_with_a_scheduled_beta1_and_on_rows(kernel_calls, dtype):
    """The loop's (1, d) rows, and beta1 set by the schedule (OneCycleLR's cycle_momentum)."""
    rng = np.random.default_rng(3)
    rule = Adam(lr=1e-3, weight_decay=0.01)
    fast = make_fused(rule, required=True)
    p_ref = rng.standard_normal((1, 301)).astype(dtype)
    p = p_ref.copy()
    s_ref, s = rule.init(p_ref), fast.init(p)
    for t, g in enumerate(_grads(rng, 301, dtype, 120)):
        beta1 = 0.85 + 0.1 * np.cos(t / 7)  # a NumPy float: Python float for float32 (below)
        mom = float(beta1)
        rule.step(p_ref, g.reshape(1, -1), s_ref, 3e-3, momentum=mom)
        fast.step(p, g.reshape(1, -1), s, 3e-3, momentum=mom)
    assert kernel_calls[0] == 120
    assert _same_bits(p, p_ref)
    assert _same_bits(s["exp_avg"], s_ref["exp_avg"])


# ---------------------------------------------------------------------------
# the fused SGD, RMSprop and Adagrad steps
# ---------------------------------------------------------------------------

_STEP_RULES = [
    SGD(lr=0.03), SGD(lr=0.03, maximize=True), SGD(lr=0.03, weight_decay=0.02),
    SGD(lr=0.03, momentum=0.9), SGD(lr=0.03, momentum=0.9, dampening=0.3),
    SGD(lr=0.03, momentum=0.9, nesterov=True, weight_decay=0.01, maximize=True),
    RMSprop(lr=1e-3), RMSprop(lr=1e-3, alpha=0.3), RMSprop(lr=1e-3, centered=True),
    RMSprop(lr=1e-3, alpha=0.3, centered=True),  # the lerp's other formula (weight > 0.5)
    RMSprop(lr=1e-3, momentum=0.8, weight_decay=0.01, maximize=True),
    RMSprop(lr=1e-3, momentum=0.8, centered=True, eps=1e-6),
    Adagrad(lr=0.05), Adagrad(lr=0.05, lr_decay=0.01, weight_decay=0.02),
    Adagrad(lr=0.05, initial_accumulator_value=0.1, eps=1e-6, maximize=True),
]


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1537,), (3, 7)])
@pytest.mark.parametrize("rule", _STEP_RULES, ids=repr)
def test_fused_sgd_rmsprop_adagrad_are_the_numpy_rules_to_the_bit(step_calls, dtype, shape,
                                                                   rule):
    rng = np.random.default_rng(11)
    steps = 120
    fast = make_fused(rule, required=True)
    assert type(fast) is {SGD: FusedSGD, RMSprop: FusedRMSprop, Adagrad: FusedAdagrad}[
        type(rule)]
    assert fast.config() == rule.config()
    p_ref = rng.standard_normal(shape).astype(dtype)
    p = p_ref.copy()
    s_ref, s = rule.init(p_ref), fast.init(p)
    n = int(np.prod(shape))
    for t, g in enumerate(_grads(rng, n, dtype, steps)):
        lr = rule.lr * 0.99 ** t  # a scheduled rate: a new Python float every step
        rule.step(p_ref, g.reshape(shape), s_ref, lr)
        fast.step(p, g.reshape(shape), s, lr)
    assert step_calls[0] == steps  # the compiled pass ran, every step
    assert _same_bits(p, p_ref)
    assert s.keys() == s_ref.keys() and s["step"] == s_ref["step"] == steps
    for key in s_ref:
        if key != "step":
            assert _same_bits(s[key], s_ref[key]), key


@needs_numba
@pytest.mark.parametrize("make", [lambda m: SGD(lr=0.01, momentum=m),
                                  lambda m: SGD(lr=0.01, momentum=m, nesterov=m > 0),
                                  lambda m: RMSprop(lr=1e-3, momentum=m)])
def test_fused_steps_with_a_scheduled_momentum(step_calls, make):
    """A momentum set per step by the schedule (OneCycleLR's cycle_momentum), on a rule with
    a momentum, and on one without, which the schedule switches on (NumPy's step then
    creates the buffer, and the kernel goes on from it)."""
    rng = np.random.default_rng(4)
    for own in (0.5, 0.0):
        rule = make(own)
        fast = make_fused(rule, required=True)
        p_ref = rng.standard_normal((2, 40))
        p = p_ref.copy()
        s_ref, s = rule.init(p_ref), fast.init(p)
        calls = step_calls[0]
        for t, g in enumerate(_grads(rng, 80, np.float64, 60)):
            mom = 0.85 + 0.1 * np.cos(t / 7)  # a NumPy float, as schedules give it
            rule.step(p_ref, g.reshape(2, 40), s_ref, 3e-3, momentum=mom)
            fast.step(p, g.reshape(2, 40), s, 3e-3, momentum=mom)
        assert _same_bits(p, p_ref)
        assert _same_bits(s["momentum_buffer"], s_ref["momentum_buffer"])
        # every step compiled but, without a momentum of its own, the first
        assert step_calls[0] - calls == (60 if own else 59)


@needs_numba
@pytest.mark.parametrize("rule", [Adam(lr=1e-3), SGD(lr=0.01, momentum=0.9),
                                  RMSprop(lr=1e-3, centered=True), Adagrad(lr=0.05)], ids=repr)
def test_fused_steps_take_the_numpy_step_where_the_kernel_does_not_apply(kernel_calls,
                                                                         step_calls, rule):
    rng = np.random.default_rng(5)
    fast = make_fused(rule, required=True)
    cases = [
        # float32 parameters with a NumPy float64 rate: NumPy computes in float64
        (rng.standard_normal(50).astype(np.float32), np.float64(1e-3)),
        # not C-contiguous
        (rng.standard_normal((50, 2))[:, 0], 1e-3),
        # a dtype the kernel is not built for
        (rng.standard_normal(50).astype(np.float16), 1e-3),
    ]
    for p0, lr in cases:
        p_ref, p = p0.copy(), p0.copy()
        if not p0.flags.c_contiguous:
            p = np.empty((50, 2))[:, 0]
            p[...] = p0
        s_ref, s = rule.init(p_ref), fast.init(p)
        with np.errstate(all="ignore"):  # (float16 underflows; the loop silences it too)
            for g in _grads(rng, 50, p0.dtype, 20):
                rule.step(p_ref, g, s_ref, lr)
                fast.step(p, g, s, lr)
        np.testing.assert_array_equal(p, p_ref)
    assert kernel_calls[0] == step_calls[0] == 0
    # a gradient of another dtype than the parameters
    p_ref = rng.standard_normal(50)
    p = p_ref.copy()
    s_ref, s = rule.init(p_ref), fast.init(p)
    g = rng.standard_normal(50).astype(np.float32)
    rule.step(p_ref, g, s_ref, 1e-3)
    fast.step(p, g, s, 1e-3)
    assert _same_bits(p, p_ref) and kernel_calls[0] == step_calls[0] == 0
    # a state array of another shape (a bad checkpoint)
    key = next(k for k in s if k != "step")
    s[key] = np.zeros(51)
    with pytest.raises(ValueError):  # NumPy's broadcast error, not memory read out of bounds
        fast.step(p, rng.standard_normal(50), s, 1e-3)
    assert kernel_calls[0] == step_calls[0] == 0


def test_make_fused_applies_to_five_rules_only():
    for rule in (Adam(), AdamW(), SGD(lr=0.1), RMSprop(), Adagrad()):
        assert (make_fused(rule) is not None) is kernels.numba_available()
    with pytest.raises(ParameterError, match="adam, adamw, sgd, rmsprop, adagrad, not 'nadam'"):
        make_fused(make_rule("nadam"), required=True)
    assert make_fused(make_rule("lbfgs")) is None

    class MyAdam(Adam):  # a subclass may change the step: not fused
        pass

    assert make_fused(MyAdam()) is None


@needs_numba
def test_prepare_compiles_the_steps_for_the_rows_of_a_race():
    from gdlab.optim.fused import prepare
    assert prepare((1, 2), np.float64)
    steps = kernels.step_kernels()
    for kernel in (kernels.adam_kernel(), steps.sgd, steps.rmsprop, steps.adagrad):
        arrays = [str(a) for sig in kernel.signatures for a in sig if "array" in str(a)]
        assert "array(float64, 2d, C)" in arrays, kernel


@needs_numba
def test_the_playground_races_with_the_fused_rules():
    from gdlab.serve.explore import RunSpec
    assert type(RunSpec("nesterov", 0.1, {}, None, "n").rule(False)) is FusedSGD
    assert type(RunSpec("adam", 0.1, {"amsgrad": True}, None, "a").rule(True)) is FusedAdam
    assert type(RunSpec("nadam", 0.1, {}, None, "n").rule(False)).__name__ == "NAdam"


def test_make_fused_without_numba(no_numba):
    assert make_fused(Adam()) is None
    with pytest.raises(ParameterError, match=r"pip install 'gdlab\[fast\]'"):
        make_fused(AdamW(), required=True)
    assert kernels.adam_kernel() is None and kernels.mlp_kernels() is None
    assert kernels.step_kernels() is None and make_fused(SGD(lr=0.1)) is None
    assert kernels.mixed_kernel() is None
    from gdlab.optim.fused import prepare
    assert prepare() is False
    # a FusedAdam made elsewhere (e.g. unpickled) takes the NumPy step
    rule = Adam(lr=1e-2, amsgrad=True)
    fast = FusedAdam(lr=1e-2, amsgrad=True)
    rng = np.random.default_rng(0)
    p_ref = rng.standard_normal(40)
    p = p_ref.copy()
    s_ref, s = rule.init(p_ref), fast.init(p)
    for g in _grads(rng, 40, np.float64, 10):
        rule.step(p_ref, g, s_ref, 1e-2)
        fast.step(p, g, s, 1e-2)
    assert _same_bits(p, p_ref)


# ---------------------------------------------------------------------------
# the MLP's compiled passes
# ---------------------------------------------------------------------------

def _numpy_path(monkeypatch):
    monkeypatch.setattr(kernels, "mlp_kernels", lambda: None)


def _mlp_problem(task, targets, activation="relu", l2=0.05, dtype=np.float64, n=57, seed=0):
    rng = np.random.default_rng(seed)
    sizes = [6, 9, 7, 4] if task == "classification" else [6, 9, 7, 2]
    obj = MLPLoss(sizes, activation=activation, task=task, l2=l2)
    p = obj.init_params(rng, dtype=dtype)
    p[obj.penalized.stop:] = rng.normal(scale=0.3, size=obj.n_params - obj.penalized.stop)
    X = rng.standard_normal((n, 6)).astype(dtype)
    if task == "regression":
        y = rng.standard_normal((n, 2)).astype(dtype)
    elif targets == "onehot":
        y = np.eye(4)[rng.integers(0, 4, n)]
    else:
        y = rng.integers(0, 4, n)
        y = {"int64": y, "int32": y.astype(np.int32), "uint8": y.astype(np.uint8),
             "float": y.astype(dtype)}[targets]
    return obj, p, X, y


_CASES = [("classification", t) for t in ("int64", "int32", "uint8", "float", "onehot")] + [
    ("regression", None)]


@needs_numba
@pytest.mark.parametrize("task,targets", _CASES)
@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("l2", [0.0, 0.05])
def test_compiled_mlp_loss_and_gradient_equal_the_numpy_path(monkeypatch, task, targets,
                                                             activation, l2):
    obj, p, X, y = _mlp_problem(task, targets, activation, l2)
    L, g = obj.value_and_grad(p, X, y)
    V = obj.value(p, X, y)
    P = obj.forward(p, X)
    with monkeypatch.context() as m:
        _numpy_path(m)
        L_ref, g_ref = obj.value_and_grad(p, X, y)
        V_ref = obj.value(p, X, y)
        P_ref = obj.forward(p, X)
    assert L == pytest.approx(L_ref, rel=1e-13)
    assert V == pytest.approx(V_ref, rel=1e-13)
    assert V == pytest.approx(L, rel=1e-13)
    np.testing.assert_allclose(g, g_ref, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(P, P_ref, rtol=1e-12, atol=1e-15)


@needs_numba
@pytest.mark.parametrize("task,targets", [("classification", "int64"),
                                          ("classification", "float"), ("regression", None)])
def test_compiled_mlp_gradient_equals_finite_differences(task, targets):
    obj, p, X, y = _mlp_problem(task, targets, "relu", l2=0.05, n=23, seed=2)
    # keep the differences away from ReLU's kinks
    a = X
    for W, b in obj.layers(p)[:-1]:
        z = a @ W + b
        assert np.min(np.abs(z)) > 1e-5
        a = np.maximum(z, 0)
    L, g = obj.value_and_grad(p, X, y)
    h = 1e-6
    num = np.empty_like(p)
    q = p.copy()
    for i in range(p.size):
        q[i] = p[i] + h
        fp = obj.value(q, X, y)
        q[i] = p[i] - h
        fm = obj.value(q, X, y)
        q[i] = p[i]
        num[i] = (fp - fm) / (2 * h)
    np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-8)


@needs_numba
@pytest.mark.parametrize("task,targets", [("classification", "int64"), ("regression", None)])
def test_compiled_mlp_in_float32_is_float32_and_close(monkeypatch, task, targets):
    obj, p, X, y = _mlp_problem(task, targets, "relu", l2=0.05, dtype=np.float32, n=300)
    L, g = obj.value_and_grad(p, X, y)
    with monkeypatch.context() as m:
        _numpy_path(m)
        L_ref, g_ref = obj.value_and_grad(p, X, y)
    assert g.dtype == np.float32
    assert float(np.float32(L)) == L  # the loss in float32, as the NumPy path gives it
    assert float(np.float32(obj.value(p, X, y))) == obj.value(p, X, y)
    assert L == pytest.approx(L_ref, rel=1e-5)
    np.testing.assert_allclose(g, g_ref, rtol=2e-4, atol=2e-6)


@needs_numba
@pytest.mark.parametrize("bad", [4, -1, 1.5, np.nan])
def test_compiled_mlp_refuses_bad_labels_as_the_numpy_path(monkeypatch, bad):
    obj, p, X, y = _mlp_problem("classification", "float")
    y = y.copy()
    y[11] = bad
    if float(bad).is_integer():
        y = y.astype(np.int64)
    with pytest.raises(DataError) as got:
        obj.value_and_grad(p, X, y)
    with pytest.raises(DataError) as got_value:
        obj.value(p, X, y)
    with monkeypatch.context() as m:
        _numpy_path(m)
        with pytest.raises(DataError) as want:
            obj.value_and_grad(p, X, y)
    assert str(got.value) == str(want.value) == str(got_value.value)


@needs_numba
def test_compiled_mlp_propagates_nan_and_inf(monkeypatch):
    obj, p, X, y = _mlp_problem("classification", "int64")
    X = X.copy()
    X[3, 2] = np.nan
    L, g = obj.value_and_grad(p, X, y)
    with monkeypatch.context() as m:
        _numpy_path(m)
        L_ref, g_ref = obj.value_and_grad(p, X, y)
    assert np.isnan(L) and np.isnan(L_ref)
    np.testing.assert_array_equal(np.isnan(g), np.isnan(g_ref))
    q = p.copy()
    q[0] = np.inf
    assert not np.isfinite(obj.value_and_grad(q, X[:3], y[:3])[0])


# ---------------------------------------------------------------------------
# training
# ---------------------------------------------------------------------------

def _train_mlp(dtype, rule, compiled=None, schedule=None, epochs=3):
    rng = np.random.default_rng(11)
    X = rng.standard_normal((600, 12)).astype(dtype)
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)
    obj = MLPLoss([12, 16, 8, 3], l2=1e-3)
    p0 = obj.init_params(np.random.default_rng(0), dtype=dtype)
    stream = ArrayStream(X, y, batch_size=50, seed=1)
    return train(obj, p0, stream, rule, epochs=epochs, tol=None, compiled=compiled,
                 schedule=schedule)


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rule", [Adam(lr=1e-2), AdamW(lr=1e-2, amsgrad=True),
                                  Adam(lr=1e-2, weight_decay=1e-3, maximize=False)])
def test_training_with_the_fused_step_gives_the_same_numbers(kernel_calls, dtype, rule):
    fast = _train_mlp(dtype, rule)
    assert kernel_calls[0] == fast.n_steps == 3 * 12
    slow = _train_mlp(dtype, rule, compiled=False)
    assert kernel_calls[0] == fast.n_steps  # compiled=False: the NumPy step
    assert _same_bits(fast.params, slow.params)
    assert fast.history["loss"] == slow.history["loss"]
    assert fast.status == slow.status


@needs_numba
def test_training_with_a_momentum_schedule_gives_the_same_numbers(kernel_calls):
    schedule = make_schedule({"name": "OneCycleLR", "max_lr": 0.02, "total_steps": 36})
    fast = _train_mlp(np.float32, Adam(lr=1e-2), schedule=schedule)
    slow = _train_mlp(np.float32, Adam(lr=1e-2), schedule=schedule, compiled=False)
    assert kernel_calls[0] > 0
    assert _same_bits(fast.params, slow.params)


@needs_numba
def test_training_without_numba_matches(monkeypatch):
    fast = _train_mlp(np.float64, Adam(lr=1e-2))
    monkeypatch.setitem(sys.modules, "numba", None)  # as if numba were not installed
    monkeypatch.setattr(kernels, "_adam", None)
    monkeypatch.setattr(kernels, "_steps", None)
    monkeypatch.setattr(kernels, "_mixed", None)
    monkeypatch.setattr(kernels, "_mlp", None)
    monkeypatch.setattr(kernels, "_rows", None)
    assert not kernels.numba_available() and kernels.mlp_kernels() is None
    slow = _train_mlp(np.float64, Adam(lr=1e-2))
    assert slow.n_steps == fast.n_steps
    np.testing.assert_allclose(fast.params, slow.params, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fast.history["loss"], slow.history["loss"], rtol=1e-10)
