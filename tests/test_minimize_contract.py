"""minimize/maximize as people call them: bounds, stop reasons, scipy's conventions.

Numbers are checked against scipy (L-BFGS-B with bounds), closed forms and known minima.
"""

import time
import warnings

import numpy as np
import pytest
from scipy.optimize import minimize as scipy_minimize

import gdlab
from gdlab import optim
from gdlab.errors import ParameterError
from gdlab.result import Status

OPTIMIZERS = ["sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad"]


# ---- bounds: a projected step for every optimizer and for the line search -------------------

@pytest.mark.parametrize("name", [None, *OPTIMIZERS])
def test_bounds_constrain_every_optimizer(name):
    lr = None if name is None else 0.05
    res = gdlab.minimize("(x - 5)**2", x0=0.0, optimizer=name, lr=lr, bounds=[(-1, 1)],
                         max_iter=20_000)
    assert res.x[0] == 1.0  # the constrained minimum is the bound
    assert res.status == Status.CONVERGED and res.converged
    assert np.all(res.history.x <= 1.0) and np.all(res.history.x >= -1.0)
    assert "at a bound" in res.reason


def test_bounded_rosenbrock_equals_scipy_lbfgsb():
    box = [(-2.0, 0.5), (-1.0, 3.0)]  # excludes the unconstrained minimum (1, 1)
    ours = gdlab.minimize("rosenbrock", x0=[-1.2, 1.0], bounds=box, eps=1e-9)
    f = gdlab.Function("rosenbrock")
    ref = scipy_minimize(lambda p: float(f(*p)), [-1.2, 1.0], method="L-BFGS-B",
                         jac=lambda p: f.grad_at(list(p)), bounds=box,
                         options={"ftol": 1e-15, "gtol": 1e-12})
    np.testing.assert_allclose(ours.x, ref.x, atol=1e-6)
    assert ours.fun == pytest.approx(ref.fun, abs=1e-10)
    assert ours.x[0] == 0.5  # on the bound, exactly


def test_restarts_in_a_test_functions_domain_stay_there():
    # McCormick's unconstrained descent runs off to -inf; its domain holds the minimum
    res = gdlab.minimize("mccormick", restarts=20, seed=0)
    tf = gdlab.functions.get("mccormick")
    lo, hi = np.array(tf.bounds).T
    assert np.all((res.xs >= lo) & (res.xs <= hi))
    assert res.fun == pytest.approx(tf.fmin, abs=1e-6)


def test_a_start_outside_the_box_moves_into_it_as_scipy_does():
    res = gdlab.minimize("x**2 + y**2", x0=[5.0, -5.0], bounds=[(1, 2), (-1, 1)], lr=0.1)
    assert res.x0.tolist() == [2.0, -1.0]
    np.testing.assert_allclose(res.x, [1.0, 0.0], atol=1e-6)


def test_one_sided_bounds():
    res = gdlab.minimize("(x + 3)**2", x0=1.0, bounds=[(0, None)])
    assert res.x[0] == 0.0 and res.status == Status.CONVERGED


# ---- stop reasons that say what happened --------------------------------------------------

def test_no_minimum_is_unbounded_not_a_kink():
    res = gdlab.minimize("x**3", x0=-1.0)
    assert res.status == Status.UNBOUNDED and not res.success
    assert res.fun < -1e20 and "no minimum" in res.reason
    up = gdlab.maximize("x**2", x0=1.0, lr=0.1)
    assert up.status == Status.UNBOUNDED and "no maximum" in up.reason
    # x_k = 1.2**k: f = 1.44**k passes 1e20 first at k = ceil(20 / log10(1.44))
    assert up.nit == int(np.ceil(20 / np.log10(1.44)))
    rosen = gdlab.maximize("rosenbrock")
    assert rosen.status == Status.UNBOUNDED
    assert gdlab.minimize("x**3", x0=-1.0, objective_limit=None).status != Status.UNBOUNDED


def test_undefined_at_the_start_names_the_domain_not_the_learning_rate():
    res = gdlab.minimize("log(x)", x0=-1.0, lr=0.1)
    assert res.status == Status.UNDEFINED and res.nit == 0
    assert "start" in res.reason and "learning rate" not in res.reason
    assert res.diverged_step is None


def test_a_step_that_leaves_the_domain_is_undefined_with_a_smaller_rate_to_try():
    # x_1 = 0.5 - 3 * (2 * (0.5 - 1) + 0.5 / sqrt(0.5)) < 0: sqrt of a negative number
    res = gdlab.minimize("(x - 1)**2 + sqrt(x)", x0=0.5, lr=3.0)
    assert res.status == Status.UNDEFINED and res.nit >= 1
    assert "domain" in res.reason and res.lr_hint == pytest.approx(0.3)


def test_a_plateau_is_flat_not_converged():
    res = gdlab.minimize("tanh(x)**2", x0=50.0)
    assert res.status == Status.FLAT and not res.converged
    assert "flat" in res.reason and res.nit == 0
    # a genuine minimum that starts exactly on it stays "converged"
    assert gdlab.minimize("x**2", x0=0.0).status == Status.CONVERGED


def test_flat_or_curved_is_screened_by_gradient_differences(monkeypatch):
    # the curvature comes from the compiled gradient for all starts at once (two step
    # sizes that agree), without building the symbolic Hessian
    from gdlab.calculus import Function
    from gdlab.optimize import _gradient_curvature

    fn = Function("x**2 + 3*x*y + 5*y**2 + x**4")
    X = np.array([[0.0, 0.0], [1.0, 2.0], [-3.0, 0.5]])
    exact = [np.abs(np.linalg.eigvalsh(fn.hessian_at(x))).max() for x in X]
    np.testing.assert_allclose(_gradient_curvature(fn, X, 1e-4), exact, rtol=1e-7)
    # many starts of many variables go in pieces (here 2 of 312 and 88 rows): 2*40*40*400
    # coordinates at once would be 1.3 million
    wide = Function(" + ".join(f"{i + 1}*x{i}**2" for i in range(40)))
    W = np.random.default_rng(0).normal(size=(400, 40))
    np.testing.assert_allclose(_gradient_curvature(wide, W, 1e-4), 80.0, rtol=1e-9)

    asked = []
    real = Function.hessian_at
    monkeypatch.setattr(Function, "hessian_at", lambda self, x: asked.append(x) or real(self, x))
    res = gdlab.minimize("tanh(x)**2", x0=[[50.0], [0.3], [-40.0]])
    assert [str(s) for s in res.statuses] == ["flat", "converged", "flat"] and asked == []
    # where the two step sizes disagree (a kink at the point), the exact Hessian decides
    res = gdlab.minimize("abs(x)**3 + 1e-9*x**2", x0=0.0)
    assert res.status == Status.FLAT and len(asked) == 1


def test_divergence_from_a_too_large_step_keeps_the_two_over_l_hint():
    res = gdlab.minimize("x**2", x0=1.0, lr=1.5)
    # x_k = (-2)**k: f = 4**k passes explode * (1 + f_0) = 2e10 first at k = 18
    assert res.status == Status.DIVERGED and res.diverged_step == 18
    assert "2/L = 1" in res.reason and res.lr_hint == pytest.approx(0.5)


def test_overflowing_runs_warn_nothing_and_norms_do_not_overflow():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = gdlab.minimize("x**2", x0=1e200)
        assert res.grad_norm == 2e200
        assert res.status == Status.DIVERGED and "start" in res.reason
        gdlab.minimize("x**2", x0=1.0, lr=1e300)
        gdlab.maximize("exp(x**2)", x0=1.0)


# ---- scipy's conventions --------------------------------------------------------------------

def test_result_has_scipys_names_and_mapping_access():
    res = gdlab.minimize("x**2 + 2*x + 3", x0=5.0, lr=0.1)
    assert res.success is True and res.message == res.reason
    np.testing.assert_array_equal(res.jac, res.grad)
    assert res["x"] is res.x and res["fun"] == res.fun and "nfev" in res
    assert res.get("missing", 7) == 7
    with pytest.raises(KeyError):
        res["missing"]
    # with a fixed rate, one evaluation of f and its gradient per iteration and one more
    assert res.nfev == res.njev == res.nit + 1
    search = gdlab.minimize("rosenbrock", x0=[-1.2, 1.0])
    assert search.njev == search.nit + 1 and search.nfev > search.njev  # the trials


def test_scipy_style_callbacks():
    seen = []

    def cb(intermediate_result):
        seen.append((intermediate_result.nit, float(intermediate_result.x[0]),
                     intermediate_result["fun"]))
        if len(seen) == 3:
            raise StopIteration

    res = gdlab.minimize("x**2", x0=1.0, lr=0.1, callback=cb)
    assert res.status == Status.STOPPED and res.nit == 2
    assert [s[0] for s in seen] == [0, 1, 2]
    np.testing.assert_allclose([s[1] for s in seen], [1.0, 0.8, 0.64])
    np.testing.assert_allclose([s[2] for s in seen], [1.0, 0.64, 0.4096])
    points = []
    res = gdlab.minimize("x**2 + y**2", x0=[1.0, 2.0], lr=0.25, callback=points.append)
    # every point evaluated, the start first, but for the last one (where the run stopped)
    np.testing.assert_allclose(points, res.history.x[:-1])
    np.testing.assert_allclose(points, [[0.5 ** k, 2 * 0.5 ** k] for k in range(res.nit)])


def test_maximize_takes_any_optimizer_object():
    res = gdlab.maximize("-x**2 + 4*x", x0=0.0, optimizer=optim.adam(lr=0.1))
    assert res.x[0] == pytest.approx(2.0, abs=1e-5) and res.converged
    rule = optim.sgd(lr=0.1)
    gdlab.maximize("-x**2", x0=1.0, optimizer=rule)
    assert rule.maximize is False  # the caller's object is not changed
    with pytest.raises(ParameterError, match="maximize=True"):
        gdlab.minimize("x**2", x0=1.0, optimizer=optim.adam(lr=0.1, maximize=True))


@pytest.mark.parametrize("kwargs, words", [
    ({"foo": 0.1}, "minimize\\(\\) has no parameter foo, and plain gradient descent no such"),
    ({"history": True}, "did you mean history_limit instead of history"),
    ({"max_iters": 5}, "did you mean max_iter instead of max_iters"),
    ({"learning_rate": 0.1}, "did you mean lr"),
    ({"momentun": 0.9, "lr": 0.1}, "did you mean momentum"),
    ({"optimizer": "adam", "lr": 0.1, "momentum": 0.9}, "no option momentum"),
    ({"lr": 0.1, "line_search": True}, "either lr or line_search"),
    ({"schedule": "step"}, "schedule needs a learning rate"),
    ({"weight_decay": 0.1, "line_search": True}, "need a learning rate"),
    ({"max_iter": float("nan")}, "max_iter must be"),
    ({"eps": -1}, "eps must be"),
    ({"bounds": [(1, 0)]}, "low <= high"),
    ({"callback": 3}, "callback must be callable"),
])
def test_unknown_or_contradictory_settings_are_refused(kwargs, words):
    with pytest.raises(ParameterError, match=words):
        gdlab.minimize("x**2", x0=1.0, **kwargs)


def test_too_many_restarts_are_refused_at_once():
    t0 = time.perf_counter()
    with pytest.raises(ParameterError, match="restarts must be"):
        gdlab.minimize("x**2 + y**2", restarts=10**9, bounds=[(0, 1), (0, 1)])
    assert time.perf_counter() - t0 < 1.0
