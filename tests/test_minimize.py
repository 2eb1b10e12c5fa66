"""gdlab.minimize / gdlab.maximize checked against closed forms, known minima and scipy.

Independent references: the closed-form trajectory of fixed-step gradient descent
on a quadratic (``x_k = x* + (1 - lr*L)^k (x_0 - x*)``), the published minima of the
named test functions, ``scipy.optimize.minimize`` and ``scipy.optimize.rosen``.

Every test runs with RuntimeWarnings turned into errors: no overflow or invalid-value
warning may escape gdlab.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
import sympy

from gdlab import Function, functions, maximize, minimize
from gdlab.errors import GdlabError, ParameterError

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

LECTURE = "x**2 + 2*x + 3"  # minimum at x = -1, f = 2, f' = 2x + 2, L = 2


def _gd_steps_to_converge(x0: float, lr: float, eps: float = 1e-6) -> int:
    """Fixed-step GD on x**2 + 2x + 3: |grad_k| = 2 |1 - 2 lr|^k |x0 + 1|; first k below eps."""
    k = 0
    while 2 * abs(1 - 2 * lr) ** k * abs(x0 + 1) >= eps:
        k += 1
    return k


# ---- the lecture ---------------------------------------------------------------------------------

def test_lecture_gradient_descent_with_lr_0_1():
    res = minimize(LECTURE, x0=5.0, lr=0.1)
    assert res.converged and res.status == "converged"
    assert res.x.shape == (1,)
    assert res.x[0] == pytest.approx(-1.0, abs=1e-6)
    assert abs(res.grad[0]) < 1e-6
    assert res.fun == pytest.approx(2.0, abs=1e-12)
    assert res.nit == _gd_steps_to_converge(5.0, 0.1) == 74
    assert res.reason.startswith("converged: |grad| = ") and "< eps = 1e-06" in res.reason
    # the whole path is the closed form x_k = -1 + 0.8^k (x0 + 1), start included
    k = np.arange(res.nit + 1)
    assert res.history.x.shape == (res.nit + 1, 1)
    np.testing.assert_array_equal(res.history.steps, k)
    np.testing.assert_allclose(res.history.x[:, 0], -1 + 0.8**k * 6.0, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(res.history.fun, 2 + (0.8**k * 6.0) ** 2, rtol=1e-12)
    np.testing.assert_allclose(res.history.grad_norm, 2 * 0.8**k * 6.0, rtol=1e-10)
    np.testing.assert_allclose(res.history.lr[:-1], 0.1)


def test_default_method_is_quasi_newton():
    res = minimize(LECTURE)  # x0 = 0, no lr, no optimizer: L-BFGS steps
    assert res.converged and res.x[0] == pytest.approx(-1.0, abs=1e-9)
    assert res.optimizer["name"] == "quasi_newton" and res.nit <= 3


def test_default_method_leaves_a_concave_stretch_as_lbfgsb_does():
    # Jennrich-Sampson from a start whose first step crosses a region of huge curvature
    # (exp(10*y) at y = 0.87) into one where f is concave along the steps: the stored pair's
    # scale (gamma ~ 1e-9) would keep every later step ~1e-6 long (it crawled 10,000
    # iterations); forgetting the pairs where s'y <= 0 reaches the minimum as scipy's
    # L-BFGS-B does from the same start
    f = " + ".join(f"(2 + 2*{i} - exp({i}*x) - exp({i}*y))**2" for i in range(1, 11))
    x0, box = [0.08724998, 0.87014485], [(-1, 1), (-1, 1)]
    res = minimize(f, x0=x0, bounds=box)
    fn = Function(f)

    def fg(x):
        v, g = fn.value_and_grad(x[None])
        return float(v[0]), g[0]

    ref = scipy.optimize.minimize(fg, x0, method="L-BFGS-B", jac=True, bounds=box)
    assert res.converged and res.nit <= 2 * ref.nit
    assert res.fun == pytest.approx(ref.fun, rel=1e-10)
    np.testing.assert_allclose(res.x, ref.x, atol=1e-5)


def test_lecture_gradient_descent_default_start_and_line_search():
    res = minimize(LECTURE, optimizer="sgd")  # x0 = 0, no lr: Armijo line search
    assert res.converged
    assert res.x[0] == pytest.approx(-1.0, abs=1e-6)
    assert abs(res.grad[0]) < 1e-6
    assert res.optimizer.get("line_search") == "armijo"
    assert res.nit < 20
    assert res.history.x.shape == (res.nit + 1, 1)
    assert res.history.x[0, 0] == 0.0


def test_sympy_expression_and_function_objects_are_accepted():
    x = sympy.Symbol("x", real=True)
    res = minimize(x**2 + 2 * x + 3, x0=5.0, lr=0.1)
    assert res.nit == 74 and res.x[0] == pytest.approx(-1.0, abs=1e-6)
    res2 = minimize(Function(LECTURE), x0=5.0, lr=0.1)
    np.testing.assert_array_equal(res2.x, res.x)


def test_gradient_ascent_reaches_the_maximum():
    f = "-(x-1)**2 - (y+2)**2 + 3"
    for kw in ({}, {"lr": 0.1}):
        res = maximize(f, x0=[4.0, 4.0], **kw)
        assert res.maximize and res.converged
        np.testing.assert_allclose(res.x, [1.0, -2.0], atol=1e-6)
        assert res.fun == pytest.approx(3.0, abs=1e-12)
        assert res.variables == ("x", "y")
    # fixed step: x_k - x* = (1 - 2 lr)^k (x0 - x*), the ascent mirror of descent
    res = maximize(f, x0=[4.0, 4.0], lr=0.1, eps=None, max_iter=10)
    np.testing.assert_allclose(res.x, [1 + 0.8**10 * 3, -2 + 0.8**10 * 6], rtol=1e-12)
    # with many starts, "best" is the largest value
    res = maximize("-(x-1)**2 - (y+2)**2 + 3", restarts=20, bounds=[(-5, 5), (-5, 5)], seed=0,
                   lr=0.1, max_iter=5)
    assert res.best == int(np.argmax(res.funs))
    assert res.fun == res.funs.max()


# ---- named test functions: global minima with restarts -------------------------------------------

# restarts per function: the fewest with seed=0 that find a global minimum (with some margin
# where it is cheap). Easom's hole covers ~1/10^4 of its square, Rastrigin's basin ~1/100.
RESTARTS = {
    "rosenbrock": 10, "beale": 10, "booth": 5, "himmelblau": 10, "matyas": 5,
    "three-hump-camel": 10, "goldstein-price": 10, "rastrigin": 1000, "ackley": 100,
    "styblinski-tang": 20, "six-hump-camel": 10,
    # McCormick is unbounded below outside its domain and the descent is not kept inside
    # the bounds (they only say where starts are drawn): with 30 starts one walks down the
    # valley x - y = 1 to (-54, -55) and the "best" is then outside the domain, below fmin.
    "mccormick": 10,
    "easom": 30000,
}


def test_every_named_function_has_a_restart_count():
    assert sorted(RESTARTS) == sorted(functions.names())
    assert len(RESTARTS) == 13


@pytest.mark.parametrize("name", functions.names())
def test_named_function_global_minimum_found_with_restarts(name):
    tf = functions.get(name)
    res = minimize(name, restarts=RESTARTS[name], seed=0)
    assert res.n_starts == RESTARTS[name]
    assert res.variables == tf.variables
    assert abs(res.fun - tf.fmin) <= 1e-6, res
    dist = min(np.max(np.abs(res.x - np.array(m))) for m in tf.minima)
    assert dist <= 1e-4, res
    lo, hi = np.array(tf.bounds).T
    assert np.all((res.x >= lo) & (res.x <= hi))
    if tf.smooth:
        assert res.converged, res
        # the gradient test, or (the default method) f no longer changing at floating-point
        # precision: Goldstein-Price's f = 3 moves by 1e-15 where its gradient is 2e-6
        assert res.grad_norm < 1e-6 or (res.status == "ftol" and res.grad_norm < 1e-5)
    else:
        # Ackley: |grad| tends to 20 * 0.2 * sqrt(0.5) = 2*sqrt(2) at the kink, never small,
        # so the gradient test never passes: the run ends when f stops changing (the default
        # method's ftol) or no step lowers f any more, right at the minimum.
        assert name == "ackley"
        assert res.status in ("stalled", "ftol") and (res.status == "ftol") == res.converged
        assert res.grad_norm > 1.0


def test_rosenbrock_agrees_with_scipy_bfgs():
    f = Function("rosenbrock")
    pts = np.random.default_rng(1).uniform(-2, 2, size=(5, 2))
    np.testing.assert_allclose(f.value(pts), [scipy.optimize.rosen(p) for p in pts], rtol=1e-13)
    np.testing.assert_allclose(f.grad_at(pts), [scipy.optimize.rosen_der(p) for p in pts],
                               rtol=1e-12)
    ref = scipy.optimize.minimize(scipy.optimize.rosen, [-1.2, 1.0], jac=scipy.optimize.rosen_der,
                                  method="BFGS")
    assert ref.success
    np.testing.assert_allclose(ref.x, [1.0, 1.0], atol=1e-5)
    res = minimize("rosenbrock", x0=[-1.2, 1.0])
    assert res.converged
    np.testing.assert_allclose(res.x, ref.x, atol=1e-5)
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-6)
    # the same text formula
    res2 = minimize("(1 - x)^2 + 100*(y - x^2)^2", x0=[-1.2, 1.0])
    np.testing.assert_array_equal(res2.x, res.x)


# ---- many starts ---------------------------------------------------------------------------------

def test_many_starts_run_together_each_with_its_own_status():
    x0 = np.array([[5.0], [1.0], [-1.0]])
    res = minimize(LECTURE, x0=x0, lr=0.1, max_iter=70)
    assert res.n_starts == 3
    assert res.xs.shape == (3, 1) and res.funs.shape == (3,) and res.grads.shape == (3, 1)
    # start 5 needs 74 steps (> max_iter), start 1 needs 69, start -1 is already there
    assert [_gd_steps_to_converge(v, 0.1) for v in (5.0, 1.0, -1.0)] == [74, 69, 0]
    np.testing.assert_array_equal(res.nits, [70, 69, 0])
    assert res.statuses == ["max_iter", "converged", "converged"]
    assert res.reasons[0].startswith("stopped: reached max_iter = 70")
    assert res.reasons[1].startswith("converged") and res.reasons[2].startswith("converged")
    np.testing.assert_array_equal(res.converged_all, [False, True, True])
    np.testing.assert_allclose(res.xs[:, 0], [-1 + 0.8**70 * 6, -1 + 0.8**69 * 2, -1.0],
                               rtol=1e-12)
    # best: the lowest value (f(-1) = 2 exactly)
    assert res.best == 2 == int(np.argmin(res.funs))
    assert res.x[0] == -1.0 and res.fun == 2.0 and res.nit == 0 and res.converged
    assert res.history.x.shape == (1, 1)
    # every start's records: (records, n_starts, d)
    assert res.all_history.x.shape == (71, 3, 1)
    np.testing.assert_array_equal(res.all_history.x[0], x0)
    h1 = res.all_history.run(1, int(res.nits[1]))
    assert h1.x.shape == (70, 1)
    np.testing.assert_allclose(h1.x[:, 0], -1 + 0.8 ** np.arange(70) * 2, rtol=1e-12)


def test_many_starts_equal_separate_runs():
    x0 = np.array([[0.0, 0.0], [-4.0, 4.0], [4.0, -4.0], [-4.0, -4.0]])
    res = minimize("himmelblau", x0=x0, lr=0.01, eps=1e-8)
    for i, p in enumerate(x0):
        one = minimize("himmelblau", x0=p, lr=0.01, eps=1e-8)
        np.testing.assert_allclose(res.xs[i], one.x, rtol=1e-13, atol=1e-15)
        assert res.nits[i] == one.nit and res.reasons[i] == one.reason
    # the four starts end in the four different minima
    mins = np.array(functions.get("himmelblau").minima)
    which = [int(np.argmin(np.abs(mins - x).max(axis=1))) for x in res.xs]
    assert sorted(which) == [0, 1, 2, 3]
    np.testing.assert_allclose(res.xs, mins[which], atol=1e-8)


def test_single_start_history_includes_the_start():
    res = minimize("himmelblau", x0=[0.5, -0.5])
    assert res.n_starts == 1 and res.xs is None
    h = res.history
    assert h.x.shape == (res.nit + 1, 2)
    np.testing.assert_array_equal(h.x[0], [0.5, -0.5])
    np.testing.assert_array_equal(h.x[-1], res.x)
    np.testing.assert_array_equal(h.steps, np.arange(res.nit + 1))
    assert h.fun[-1] == res.fun
    np.testing.assert_allclose(h.fun, Function("himmelblau").value(h.x), rtol=1e-15)
    assert np.all(np.diff(h.fun) < 0)  # the line search only accepts decreases


def test_restart_points_lie_in_bounds_and_seed_is_deterministic():
    b = [(2.0, 3.0), (-5.0, -4.0)]
    res = minimize("x**2 + y**2", x0=[10.0, 10.0], restarts=300, bounds=b, seed=7, max_iter=0)
    starts = res.all_history.x[0]
    assert starts.shape == (301, 2)
    # x0's rows come first, moved into the bounds (the descent stays in them)
    np.testing.assert_array_equal(starts[0], [3.0, -4.0])
    inner = starts[1:]
    assert np.all((inner >= [2, -5]) & (inner <= [3, -4]))
    assert np.ptp(inner, axis=0).min() > 0.9  # they spread over the box
    again = minimize("x**2 + y**2", x0=[10.0, 10.0], restarts=300, bounds=b, seed=7, max_iter=0)
    np.testing.assert_array_equal(again.all_history.x[0], starts)
    other = minimize("x**2 + y**2", x0=[10.0, 10.0], restarts=300, bounds=b, seed=8, max_iter=0)
    assert not np.array_equal(other.all_history.x[0][1:], inner)
    # a named function's restarts default to its domain; the whole run is reproducible
    tf = functions.get("six-hump-camel")
    r1 = minimize("six-hump-camel", restarts=50, seed=3)
    r2 = minimize("six-hump-camel", restarts=50, seed=3)
    s = r1.all_history.x[0]
    lo, hi = np.array(tf.bounds).T
    assert np.all((s >= lo) & (s <= hi))
    np.testing.assert_array_equal(r1.xs, r2.xs)
    np.testing.assert_array_equal(r1.nits, r2.nits)
    assert r1.best == r2.best


def test_one_variable_list_x0_is_many_starts():
    res = minimize(LECTURE, x0=[5.0, 1.0, -1.5], lr=0.1)
    assert res.n_starts == 3
    np.testing.assert_array_equal(res.nits, [_gd_steps_to_converge(v, 0.1) for v in (5, 1, -1.5)])


# ---- divergence ----------------------------------------------------------------------------------

def test_divergence_is_reported_with_a_learning_rate_hint():
    res = minimize("x**2", x0=1.0, lr=1.5)  # x_k = (-2)^k: |1 - lr*L| = 2 with L = 2
    assert not res.converged
    assert res.status == "diverged"
    assert "diverged" in res.reason
    assert "L = 2" in res.reason and "2/L = 1" in res.reason
    assert res.lr_hint is not None and 0 < res.lr_hint < 1
    # f_k = 4^k passes 1e10 * (1 + f_0) at k = 18 (the explosion rule)
    assert res.nit == 18 and res.x[0] == (-2.0) ** 18
    # the same for gradient ascent and for a Python function (numeric curvature)
    up = maximize("-x**2", x0=1.0, lr=1.5)
    assert up.status == "diverged" and "2/L = 1" in up.reason
    py = minimize(lambda v: v[0] ** 2, x0=[1.0], lr=1.5)
    assert py.status == "diverged" and "2/L = 1" in py.reason


def test_divergence_to_overflow_leaves_no_warning():
    res = minimize("exp(x^2)", x0=3.0, lr=1.0)
    assert res.status == "diverged" and "infinite or NaN" in res.reason
    assert not res.converged
    # one start diverges, the other converges: the run goes on for the good one
    res = minimize("x**2 + x**4/12", x0=[[5.0], [0.5]], lr=0.4)
    assert res.statuses == ["diverged", "converged"]
    assert res.best == 1 and res.converged
    assert abs(res.x[0]) < 1e-6


@pytest.mark.parametrize("kw", [dict(x0=709.0, lr=3.0), dict(x0=1e70, optimizer="adam", lr=0.1)],
                         ids=["sgd", "adam"])
def test_an_overflowing_step_leaves_no_warning(kw):
    f = "exp(x)" if "optimizer" not in kw else "x**4"
    res = minimize(f, max_iter=5, **kw)
    assert not res.converged


def test_a_step_to_infinity_is_not_convergence():
    res = minimize("exp(x)", x0=709.0, lr=3.0)
    assert not np.all(np.isfinite(res.x))
    assert not res.converged


def test_divergence_hint_never_recommends_a_larger_rate():
    res = minimize("log(x)", x0=1.0, lr=0.5)  # 1 -> 0.5 -> -0.5: log of a negative number
    assert res.status == "undefined"  # the step left the function's domain
    assert res.lr_hint is None or res.lr_hint < 0.5
    assert "too large" not in res.reason and "domain" in res.reason


def test_divergence_hint_for_a_formula_with_abs():
    res = minimize("x**2 + abs(x)", x0=1.0, lr=1.5)
    assert res.status == "diverged"


def test_starting_at_a_kinked_minimum_is_not_divergence():
    res = minimize("ackley", x0=[0.0, 0.0])
    assert res.fun == pytest.approx(0.0, abs=1e-12)
    assert res.status != "diverged"


# ---- stop rules ----------------------------------------------------------------------------------

def test_max_iter_stops_with_its_reason():
    res = minimize("x**2", x0=1.0, lr=0.1, max_iter=5)
    assert res.status == "max_iter" and not res.converged
    assert res.nit == 5
    assert res.reason.startswith("stopped: reached max_iter = 5 iterations")
    assert "still above eps" in res.reason
    assert res.x[0] == pytest.approx(0.8**5, rel=1e-14)
    res0 = minimize("x**2", x0=1.0, lr=0.1, max_iter=0)
    assert res0.nit == 0 and res0.x[0] == 1.0


def test_ftol_stops_when_f_barely_changes():
    # f_k = 0.64^k: |f_k - f_{k-1}| = 0.36 * 0.64^(k-1) <= 1e-3 first at k = 15
    k = next(k for k in range(1, 100) if 0.36 * 0.64 ** (k - 1) <= 1e-3)
    res = minimize("x**2", x0=1.0, lr=0.1, ftol=1e-3)
    assert res.status == "ftol" and res.converged
    assert res.nit == k == 15
    assert "ftol = 0.001" in res.reason


def test_time_limit_stops_a_long_run():
    res = minimize("x**2 + y**2", x0=[1.0, 1.0], lr=1e-12, eps=None, max_iter=None,
                   time_limit=0.05)
    assert res.status == "time_limit" and not res.converged
    assert "time limit of 0.05 s" in res.reason
    assert 0.05 <= res.elapsed < 5.0


def test_eps_none_runs_to_max_iter():
    res = minimize("x**2", x0=1.0, lr=0.1, eps=None, max_iter=200)
    assert res.status == "max_iter" and res.nit == 200
    assert res.reason == "stopped: reached max_iter = 200 iterations"
    assert res.history.x.shape == (201, 1)
    assert res.x[0] == pytest.approx(0.8**200, rel=1e-12)


# ---- optimizers and schedules --------------------------------------------------------------------

# convex; minimizer solves [[2, .5], [.5, 4]] v = [2, -2]
QUAD = "(x - 1)^2 + 2*(y + 0.5)^2 + x*y/2"
QUAD_MIN = np.linalg.solve([[2.0, 0.5], [0.5, 4.0]], [2.0, -2.0])


@pytest.mark.parametrize("optimizer,kw,tol", [
    ("sgd", {"lr": 0.1}, 1e-6),
    ("sgd", {"lr": 0.05, "momentum": 0.9}, 1e-6),
    ("momentum", {"lr": 0.05}, 1e-6),
    ("nesterov", {"lr": 0.05}, 1e-6),
    ("adam", {"lr": 0.05}, 1e-5),
    ("rmsprop", {"lr": 0.01}, 1e-5),
    ("adagrad", {"lr": 0.5}, 1e-5),
    ("adamw", {"lr": 0.05, "weight_decay": 0.0}, 1e-5),
    ("adamw", {"lr": 0.05}, 2e-2),  # decoupled weight decay 0.01 pulls the end point to 0
])
def test_optimizers_by_name_reach_the_minimum_of_a_convex_quadratic(optimizer, kw, tol):
    res = minimize(QUAD, x0=[3.0, 3.0], optimizer=optimizer, max_iter=5000, **kw)
    np.testing.assert_allclose(res.x, QUAD_MIN, atol=tol)
    assert res.optimizer["name"] == ("sgd" if optimizer in ("momentum", "nesterov") else optimizer)
    assert res.optimizer["lr"] == kw["lr"]
    assert "line_search" not in res.optimizer
    # compare with scipy's answer on the same function
    ref = scipy.optimize.minimize(lambda v: (v[0] - 1) ** 2 + 2 * (v[1] + 0.5) ** 2
                                  + v[0] * v[1] / 2, [3.0, 3.0], method="BFGS")
    np.testing.assert_allclose(ref.x, QUAD_MIN, atol=1e-5)


def test_optimizer_default_learning_rates_are_pytorchs():
    for name, lr in (("sgd", 1e-3), ("momentum", 1e-3), ("adam", 1e-3), ("adamw", 1e-3),
                     ("rmsprop", 1e-2), ("adagrad", 1e-2)):
        res = minimize("x**2", x0=1.0, optimizer=name, line_search=False, max_iter=1)
        assert res.optimizer["lr"] == lr
        assert res.x[0] < 1.0


@pytest.mark.parametrize("schedule", [
    "step", "exponential", "inverse_time", "cosine", "warmup",
    {"name": "step", "step_size": 50, "gamma": 0.5},
    {"name": "exponential", "gamma": 0.999},
])
def test_schedules_by_name_and_dict(schedule):
    res = minimize("x**2 + y**2", x0=[1.0, 1.0], lr=0.1, schedule=schedule, max_iter=2000)
    assert res.converged
    cfg = res.optimizer["schedule"]
    if isinstance(schedule, dict):
        assert cfg == schedule
    else:
        assert cfg["name"] == schedule


def test_step_schedule_follows_its_closed_form():
    # lr_t = 0.4 * 0.5^t, x_{t+1} = (1 - 2 lr_t) x_t
    res = minimize("x**2", x0=1.0, lr=0.4, schedule={"name": "step", "step_size": 1, "gamma": 0.5},
                   eps=None, max_iter=6)
    lrs = 0.4 * 0.5 ** np.arange(6)
    np.testing.assert_allclose(res.history.lr[:6], lrs, rtol=1e-15)
    np.testing.assert_allclose(res.history.x[1:, 0], np.cumprod(1 - 2 * lrs), rtol=1e-13)


# ---- bad input -----------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,match", [
    (dict(f="x**2 + y**2", x0=[1, 1], optimizer="adamm"),
     "unknown optimizer 'adamm'.*did you mean 'adam'"),
    (dict(f="x**2 + y**2", x0=[1, 1], lr=-0.1), "lr must be"),
    (dict(f="x**2 + y**2", x0=[1, 1], lr=float("nan")), "lr must be"),
    (dict(f="x**2 + y**2", x0=[1, 1, 1]), r"x0 must have 2 value\(s\) per start"),
    (dict(f="x**2 + y**2", restarts=5), "restarts need bounds"),
    (dict(f="x**2 + y**2", x0=[1, float("nan")]), "x0 must be finite"),
    (dict(f="x**2 + y**2", x0=[1, float("inf")]), "x0 must be finite"),
    (dict(f="x**2 + y**2", x0=[[1, 2], [3]]), "x0 must be numbers"),
    (dict(f="x**2 + y**2", x0=[1, 1], max_iter=-1), "max_iter must be"),
    (dict(f="x**2 + y**2", x0=[1, 1], eps=-1), "eps must be"),
    (dict(f="x**2 + y**2", restarts=2.5, bounds=[(0, 1)] * 2), "restarts must be"),
    (dict(f="x**2 + y**2", restarts=3, bounds=[(1, 0)] * 2), "low <= high"),
    (dict(f="x**2 + y**2", restarts=3, bounds=[(0, 1)]), "one \\(low, high\\) pair per variable"),
    (dict(f="x**2 + y**2", x0=[1, 1], lr=0.1, schedule="bogus"), "unknown schedule 'bogus'"),
    (dict(f="x**2 + y**2", x0=[1, 1], schedule="step"), "schedule needs a learning rate"),
    (dict(f="x**2 + y**2", x0=[1, 1], optimizer="adam", line_search=True), "give an lr"),
    (dict(f="x**2 + y**2", x0=[1, 1], lr=0.1, line_search=True), "either lr or line_search"),
    (dict(f="x**2 + y**2", x0=[1, 1], lr=0.1, optimizer="adam", momentum=0.9),
     "no option momentum"),
    (dict(f="5"), "no variables"),
    (dict(f=42), "f must be formula text"),
    (dict(f=lambda v: v[0] ** 2), "give x0"),
    (dict(f=lambda v: "a", x0=[1.0, 2.0]), "must return a number"),
    (dict(f="x**2 + y**2", x0=[1, 1], grad=lambda v: v), "grad= is for Python callables"),
])
def test_bad_input_raises_parameter_error(kwargs, match):
    with pytest.raises(ParameterError, match=match) as info:
        minimize(**kwargs)
    assert isinstance(info.value, GdlabError) and isinstance(info.value, ValueError)


def test_bad_formula_text_raises_gdlab_error():
    with pytest.raises(GdlabError):
        minimize("x**2 +", x0=1.0)
    with pytest.raises(GdlabError, match="2\\*x"):
        minimize("2x + y**2", x0=[1.0, 1.0])  # the parser's hint: did you mean 2*x?
    with pytest.raises(GdlabError):
        minimize("__import__('os')", x0=1.0)


@pytest.mark.parametrize("kw", [dict(restarts=0, bounds=[(0, 1)] * 2), dict(x0=np.zeros((0, 2)))],
                         ids=["restarts=0", "empty x0"])
def test_no_starts_is_a_parameter_error(kw):
    with pytest.raises(ParameterError):
        minimize("x**2 + y**2", **kw)


def test_bad_schedule_option_value_names_the_problem():
    with pytest.raises(ParameterError, match="step_size must be a positive whole number"):
        minimize("x**2", x0=1.0, lr=0.1, schedule={"name": "step", "step_size": 0})


# ---- Python callables ----------------------------------------------------------------------------

def _py(v):
    return (v[0] - 3) ** 2 + v[1] ** 2


def test_python_callable_with_numeric_gradient_matches_scipy():
    ref = scipy.optimize.minimize(_py, [0.0, 0.0])
    res = minimize(lambda v: (v[0] - 3) ** 2 + v[1] ** 2, x0=[0, 0])
    assert res.converged
    assert res.variables == ("x1", "x2")
    np.testing.assert_allclose(res.x, [3.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(res.x, ref.x, atol=1e-5)
    assert res.fun == pytest.approx(ref.fun, abs=1e-10)


def test_python_callable_with_gradient_matches_scipy():
    def grad(v):
        return np.array([2 * (v[0] - 3), 2 * v[1]])

    ref = scipy.optimize.minimize(_py, [0.0, 0.0], jac=grad, method="BFGS")
    res = minimize(_py, x0=[0, 0], grad=grad)
    assert res.converged
    np.testing.assert_allclose(res.x, ref.x, atol=1e-6)
    # fixed step: the closed form of GD on a quadratic, x_k = 3 - 3 * 0.8^k
    fixed = minimize(_py, x0=[0, 0], grad=grad, lr=0.1, eps=None, max_iter=30)
    np.testing.assert_allclose(fixed.x, [3 - 3 * 0.8**30, 0.0], rtol=1e-12)
    # the numeric gradient follows the same path to ~1e-9
    num = minimize(_py, x0=[0, 0], lr=0.1, eps=None, max_iter=30)
    np.testing.assert_allclose(num.x, fixed.x, atol=1e-8)


def test_python_callable_of_one_variable_gets_a_number():
    seen = []

    def f(x):
        seen.append(type(x))
        return (x - 3) ** 2

    res = minimize(f, x0=0.0, lr=0.1)
    assert res.x[0] == pytest.approx(3.0, abs=1e-6)
    assert all(t is float or issubclass(t, (float, np.floating)) for t in seen)
    ref = scipy.optimize.minimize_scalar(lambda t: (t - 3) ** 2)
    assert res.x[0] == pytest.approx(ref.x, abs=1e-6)


def test_python_callable_vectorized_with_gradient():
    res = minimize(lambda v: ((v - [3.0, 0.0]) ** 2).sum(axis=1), x0=[[0.0, 0.0], [5.0, 5.0]],
                   grad=lambda v: 2 * (v - [3.0, 0.0]), vectorized=True, lr=0.1)
    assert res.n_starts == 2 and all(res.converged_all)
    np.testing.assert_allclose(res.xs, [[3.0, 0.0], [3.0, 0.0]], atol=1e-6)


def test_python_callable_vectorized_without_gradient():
    res = minimize(lambda v: ((v - [3.0, 0.0]) ** 2).sum(axis=1), x0=[[0.0, 0.0], [5.0, 5.0]],
                   vectorized=True)
    np.testing.assert_allclose(res.xs, [[3.0, 0.0], [3.0, 0.0]], atol=1e-6)
