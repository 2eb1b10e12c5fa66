"""The descent loop's own contract (gdlab.loop.descend and the stepper protocol).

Each property is checked against numbers computed independently of the loop: closed-form
iterates of gradient descent on quadratics, or a plain Python loop written here.
"""

import json

import numpy as np
import pytest

from gdlab import kernels
from gdlab.loop import LoopState, StopRules, descend
from gdlab.models import LinearLoss
from gdlab.optim import SGD, Adam, Armijo, Stepper
from gdlab.optim.online import make_sweep
from gdlab.optim.stepper import StepReport
from gdlab.result import History, Status
from gdlab.train import ModelObjective


class Quadratic:
    """f(x) = sum(a * x**2) / 2 per row: gradient a * x, so GD with rate lr gives
    x_k = (1 - lr * a)**k * x_0 exactly (up to rounding)."""

    def __init__(self, a):
        self.a = np.asarray(a, dtype=float)

    def value_and_grad(self, x, batch=None):
        return 0.5 * np.sum(self.a * x * x, axis=1), self.a * x

    def value(self, x, batch=None):
        return 0.5 * np.sum(self.a * x * x, axis=1)


def closed_form(x0, a, lr, k):
    return (1 - lr * np.asarray(a)) ** k * np.asarray(x0, dtype=float)


def test_plain_gd_follows_the_closed_form():
    a, lr = [1.0, 4.0], 0.1
    out = descend(Quadratic(a), np.array([3.0, -2.0]), SGD(lr=lr),
                  stop=StopRules(eps=None, max_iter=37))
    np.testing.assert_allclose(out.x[0], closed_form([3, -2], a, lr, 37), rtol=1e-13)
    assert out.status == [Status.MAX_ITER] and out.nit[0] == 37 and out.step == 37
    # the history holds the start and every iterate before the last update
    np.testing.assert_allclose(out.history.x, [closed_form([3, -2], a, lr, k) for k in range(38)],
                               rtol=1e-13)


class Quartic:
    """f(x) = x**4 / 4, gradient x**3: gradient descent converges (slowly) from small starts
    and diverges from starts with lr * x0**2 > 2."""

    def value_and_grad(self, x, batch=None):
        return (x[:, 0] ** 4) / 4, x ** 3


def scalar_run(x0, lr, eps, max_iter, explode=1e10):
    """The loop's rules for one start, as a plain Python loop: (status, steps, x)."""
    x = np.float64(x0)
    with np.errstate(all="ignore"):
        f0 = x ** 4 / 4
        for k in range(max_iter + 1):
            f, g = x ** 4 / 4, x ** 3
            if not (np.isfinite(f) and np.isfinite(x)) or f - f0 > explode * (1 + abs(f0)):
                return Status.DIVERGED, k, x
            if abs(g) < eps:
                return Status.CONVERGED, k, x
            if k >= max_iter:
                return Status.MAX_ITER, k, x
            x = x - lr * g


def test_stopped_rows_stay_frozen_and_keep_their_own_status():
    starts = [1e-3, 0.2, 3.0, 0.011]  # converges at once, max_iter, diverges, converges later
    lr, eps, max_iter = 0.5, 1e-6, 5_000
    moving = []

    class Counting(SGD):
        def update(self, x, ev, state, ctx):
            moving.append(len(x))
            super().update(x, ev, state, ctx)

    out = descend(Quartic(), np.array(starts)[:, None], Counting(lr=lr),
                  stop=StopRules(eps=eps, max_iter=max_iter))
    expected = [scalar_run(x0, lr, eps, max_iter) for x0 in starts]
    assert out.status == [e[0] for e in expected]
    assert out.status == [Status.CONVERGED, Status.MAX_ITER, Status.DIVERGED, Status.CONVERGED]
    for i, (status, k, x) in enumerate(expected):
        assert out.nit[i] == k
        assert out.x[i, 0] == x  # frozen exactly where the row stopped
        assert out.diverged_step[i] == (k if status == Status.DIVERGED else -1)
    # stopped rows leave the working set: 3 rows move at first (row 0 stopped at once), then
    # 2 once row 2 diverged, then 1 once row 3 converged
    assert moving[0] == 3 and moving[-1] == 1
    assert [moving.count(m) for m in (3, 2, 1)] == [expected[2][1], expected[3][1] -
                                                    expected[2][1], max_iter - expected[3][1]]
    # and they stay frozen in the history
    hx = out.history.x
    k3 = expected[3][1]
    assert np.all(hx[k3:, 3, 0] == out.x[3, 0]) and np.all(hx[:, 0, 0] == 1e-3)


def test_a_callbacks_stop_takes_effect_before_the_update():
    a, lr = [2.0], 0.1
    calls = []

    def cb(info):
        calls.append((info.step, info.x[0, 0]))
        return "enough" if info.step == 5 else None

    out = descend(Quadratic(a), np.array([1.0]), SGD(lr=lr), callbacks=(cb,),
                  stop=StopRules(eps=None, max_iter=100))
    assert out.status == [Status.STOPPED] and out.stop_detail == "enough"
    # stopped at step 5 before its update: x is x_5, five updates made
    assert out.nit[0] == 5 and out.step == 5
    assert out.x[0, 0] == pytest.approx(closed_form([1.0], a, lr, 5)[0], rel=1e-14)
    # the callback saw each x before its update
    assert [s for s, _ in calls] == list(range(6))
    np.testing.assert_allclose([v for _, v in calls],
                               [closed_form([1.0], a, lr, k)[0] for k in range(6)], rtol=1e-14)


def test_continuing_from_a_loop_state_equals_an_uninterrupted_run():
    rng = np.random.default_rng(3)
    X0 = rng.normal(size=(6, 3))
    a = np.array([1.0, 3.0, 10.0])
    stop_all = StopRules(eps=1e-3, max_iter=120)
    whole = descend(Quadratic(a), X0, Adam(lr=0.05), stop=stop_all)
    first = descend(Quadratic(a), X0, Adam(lr=0.05), stop=StopRules(eps=1e-3, max_iter=45))
    # some rows converged in the first part; the rest stopped on the limit and go on
    assert Status.MAX_ITER in first.status
    rest = descend(Quadratic(a), None, Adam(lr=0.05), stop=stop_all, state=first.state)
    np.testing.assert_array_equal(rest.x, whole.x)
    np.testing.assert_array_equal(rest.nit, whole.nit)
    assert rest.step == whole.step
    converged_first = [i for i, s in enumerate(first.status) if s == Status.CONVERGED]
    assert [whole.status[i] for i in converged_first] == [Status.CONVERGED] * len(converged_first)


@pytest.mark.skipif(not kernels.numba_available(), reason="numba not installed")
@pytest.mark.parametrize("loss, factor", [("half_mse", 1.0), ("mse", 2.0)])
def test_a_sweep_equals_plain_steps_and_the_closed_form(loss, factor):
    # every sample is (x = 1, y = c): one SGD step is b <- b - lr * factor * (b - c), so
    # b_k = c + (1 - factor * lr)**k * (b_0 - c)
    c, lr, n = 3.0, 0.01, 500
    X = np.ones((n, 1))
    y = np.full(n, c)
    model = LinearLoss(1, fit_intercept=False, loss=loss)
    stop = StopRules(eps=None, max_iter=None)
    sweep = make_sweep(model, SGD(lr=lr), required=True)
    segments = iter([(X[:200], y[:200]), (X[200:], y[200:])])
    swept = descend(ModelObjective(model), np.zeros(1), sweep, batches=segments, stop=stop)
    plain = descend(ModelObjective(model), np.zeros(1), SGD(lr=lr), stop=stop,
                    batches=((X[i:i + 1], y[i:i + 1]) for i in range(n)))
    expected = c + (1 - factor * lr) ** n * (0.0 - c)
    assert swept.status == plain.status == [Status.END_OF_DATA]
    assert swept.step == plain.step == n and swept.nit[0] == n
    assert swept.x[0, 0] == pytest.approx(expected, rel=1e-12)
    assert swept.x[0, 0] == pytest.approx(plain.x[0, 0], rel=1e-13)
    assert swept.state.rule_state["step"] == plain.state.rule_state["step"] == n


@pytest.mark.skipif(not kernels.numba_available(), reason="numba not installed")
def test_a_sweep_stopped_by_a_callback_keeps_the_segment_start():
    X, y = np.ones((300, 1)), np.full(300, 2.0)
    model = LinearLoss(1, fit_intercept=False, loss="half_mse")
    sweep = make_sweep(model, SGD(lr=0.1), required=True)
    seen = []

    def cb(info):
        seen.append((info.step, len(info.batch[0]), float(info.x[0, 0])))
        return "stop" if len(seen) == 2 else None

    out = descend(ModelObjective(model), np.zeros(1), sweep, callbacks=(cb,),
                  stop=StopRules(eps=None, max_iter=None),
                  batches=iter([(X[:100], y[:100]), (X[100:], y[100:])]))
    after_first = 2.0 + 0.9 ** 100 * (0.0 - 2.0)
    assert out.status == [Status.STOPPED] and out.step == 100
    assert out.x[0, 0] == pytest.approx(after_first, rel=1e-12)
    assert seen[0][:2] == (0, 100) and seen[1][:2] == (100, 200)
    assert seen[1][2] == pytest.approx(after_first, rel=1e-12)


@pytest.mark.skipif(not kernels.numba_available(), reason="numba not installed")
def test_a_sweep_that_diverges_mid_segment_stops_where_plain_steps_stop():
    # lr * 2 > 2 on mse: |b - c| grows by |1 - 2 lr| every sample
    X, y = np.ones((400, 1)), np.full(400, 1.0)
    model = LinearLoss(1, fit_intercept=False, loss="mse")
    stop = StopRules(eps=None, max_iter=None, explode=1e6)
    sweep = make_sweep(model, SGD(lr=1.2), required=True)
    swept = descend(ModelObjective(model), np.zeros(1), sweep, stop=stop,
                    batches=iter([(X[:5], y[:5]), (X[5:], y[5:])]))
    plain = descend(ModelObjective(model), np.zeros(1), SGD(lr=1.2), stop=stop,
                    batches=((X[i:i + 1], y[i:i + 1]) for i in range(400)))
    assert swept.status == plain.status == [Status.DIVERGED]
    assert swept.diverged_step[0] == plain.diverged_step[0] == swept.step == plain.step
    assert swept.x[0, 0] == pytest.approx(plain.x[0, 0], rel=1e-13)
    assert swept.fun[0] == pytest.approx(plain.fun[0], rel=1e-13)
    # |f| = (b - 1)**2 = 1.4**(2k): over 1e6 * (1 + f_0) first at step k = 21
    assert plain.diverged_step[0] == next(k for k in range(100) if 1.4 ** (2 * k) - 1 > 2e6)


def test_a_new_stepper_plugs_in_without_touching_the_loop():
    """A projected step (gradient descent, then clip to a box) as a stepper of its own."""

    class Projected(Stepper):
        name = "projected_gd"

        def __init__(self, lr, lo, hi):
            self.lr, self.lo, self.hi = lr, lo, hi

        def update(self, x, ev, state, ctx):
            x -= ctx.lr * ev.g
            np.clip(x, self.lo, self.hi, out=x)

        def evaluate(self, objective, x, batch, state, ctx):
            ev = super().evaluate(objective, x, batch, state, ctx)
            # stationarity on a box: the projected gradient
            ev.grad_norm = np.linalg.norm(x - np.clip(x - ev.g, self.lo, self.hi), axis=1)
            return ev

    # f = (x - 5)**2 on [-1, 1]: the minimum on the box is the bound 1
    class Shifted:
        def value_and_grad(self, x, batch=None):
            return ((x - 5) ** 2).sum(1), 2 * (x - 5)

    out = descend(Shifted(), np.array([[0.0], [-0.5]]), Projected(0.1, -1.0, 1.0),
                  stop=StopRules(eps=1e-9, max_iter=100))
    assert out.status == [Status.CONVERGED, Status.CONVERGED]
    np.testing.assert_array_equal(out.x, [[1.0], [1.0]])


def test_update_reports_stalled_rows_and_their_iterations():
    class Stalls(Stepper):
        lr = 0.1

        def update(self, x, ev, state, ctx):
            stuck = np.arange(len(x)) == 0   # the first working row cannot move
            x[~stuck] -= 0.1 * ev.g[~stuck]
            return StepReport(stop={Status.STALLED: stuck}, moved=~stuck, nfev=2)

    out = descend(Quadratic([1.0]), np.array([[1.0], [2.0], [4.0]]), Stalls(),
                  stop=StopRules(eps=None, max_iter=10))
    assert out.status == [Status.STALLED, Status.STALLED, Status.STALLED]
    assert out.nit.tolist() == [0, 1, 2]
    assert out.x[:, 0].tolist() == [1.0, 2.0 * 0.9, 4.0 * 0.9 * 0.9]
    assert out.nfev.tolist() == [1 + 2, 2 + 4, 3 + 6]


def test_armijo_stalls_at_the_precision_limit_without_counting_the_step():
    class Flat:
        def value_and_grad(self, x, batch=None):
            return np.zeros(len(x)), np.ones_like(x)  # f constant: no step can lower it

        def value(self, x, batch=None):
            return np.zeros(len(x))

    out = descend(Flat(), np.array([[0.0, 1.0]]), Armijo(), stop=StopRules(eps=1e-6))
    assert out.status == [Status.STALLED] and out.nit[0] == 0
    assert out.x.tolist() == [[0.0, 1.0]]
    assert out.nfev[0] == 1 + Armijo().max_backtracks


def test_evaluation_verdicts_replace_the_loops_tests():
    class Verdict(SGD):
        def evaluate(self, objective, x, batch, state, ctx):
            ev = super().evaluate(objective, x, batch, state, ctx)
            ev.status = [Status.NO_GRADIENT if ctx.t == 3 else None] * len(x)
            return ev

    # the loop's own tests would stop this at once (|grad| = 0 < eps): the verdict rules
    out = descend(Quadratic([1.0]), np.array([0.0]), Verdict(lr=0.1), stop=StopRules(eps=1.0))
    assert out.status == [Status.NO_GRADIENT] and out.step == 3


def test_status_is_one_enum_that_reads_as_words():
    assert Status.DIVERGED == "diverged" and str(Status.MAX_ITER) == "max_iter"
    assert json.dumps({"s": Status.FTOL}) == '{"s": "ftol"}'
    assert [s for s in Status if s.success] == [Status.CONVERGED, Status.FTOL]


def test_history_thinning_keeps_first_and_last_and_even_spacing():
    h = History(limit=8)
    for t in range(1000):
        h.append(t, np.array([float(t)]), float(t), 0.0, 0.1)
        steps = h.steps
        assert len(steps) <= 8
        assert steps[0] == 0 and steps[-1] == t
        gaps = np.diff(steps[:-1])
        assert len(set(gaps.tolist())) <= 1  # evenly spaced, but for the newest record
        np.testing.assert_array_equal(h.x[:, 0], steps)  # the records are those steps
    assert np.diff(h.steps[:-1])[0] == 256 and len(h) == 5


def test_history_keeps_everything_below_its_limit():
    h = History(limit=50)
    for t in range(50):
        h.append(t, np.array([t, -t], dtype=float), float(t * t), 1.0, 0.5)
    assert h.steps.tolist() == list(range(50))
    assert h.x.shape == (50, 2) and h.fun[7] == 49.0


def test_loop_state_reports_the_divergence_reference_and_rejects_nothing_silently():
    st = LoopState(x=np.array([[2.0]]), rule_state=SGD(lr=0.1).init(np.array([[2.0]])))
    out = descend(Quadratic([1.0]), None, SGD(lr=0.1), state=st,
                  stop=StopRules(eps=None, max_iter=3))
    assert out.state is st and st.step == 3
    assert st.f_start.tolist() == [2.0]  # f at the first evaluation: 2**2 / 2
    assert st.x[0, 0] == pytest.approx(2.0 * 0.9 ** 3, rel=1e-14)


def test_the_quick_stop_filter_never_hides_a_stop(monkeypatch):
    """stop_tests first asks a cheap filter whether any rule fires (on Python floats up to
    _ROWS_BY_FLOATS rows, on arrays beyond); its verdicts must equal those of the exact tests
    alone, on rows with NaN, infinities, explosions, small gradients and flat values."""
    from gdlab import loop

    rng = np.random.default_rng(3)
    specials = np.array([np.nan, np.inf, -np.inf, 1e300, -1e300, 0.0, 1e-13, 5.0, -5.0])

    def pick(n, scale):
        a = rng.standard_normal(n) * scale
        odd = rng.random(n) < 0.15
        a[odd] = rng.choice(specials, size=odd.sum())
        return a

    rules = [StopRules(), StopRules(eps=None, ftol=1e-3), StopRules(objective_limit=1e20,
             undefined=True, ftol=1e-9), StopRules(eps=1e-2, explode=0.0)]

    def never_quiet(f, *rest):  # the filter off: the exact tests decide alone
        return np.zeros(len(f), dtype=bool) if isinstance(f, np.ndarray) else False

    fired = set()
    for trial in range(400):
        n = int(rng.choice([1, 2, 5, 8, 9, 20]))
        stop = rules[trial % len(rules)]
        sign = -1.0 if trial % 3 == 0 else 1.0
        f, gn = pick(n, 10.0), np.abs(pick(n, 1e-3))
        with np.errstate(all="ignore"):
            f_prev = f + pick(n, 1e-3) * (rng.random(n) < 0.5)
        x = pick(2 * n, 3.0).reshape(n, 2)
        f_start = pick(n, 1.0)
        limit = loop.explode_limit(f_start, stop, sign)
        with np.errstate(all="ignore"):
            got = loop.stop_tests(f, gn, x, limit, f_prev, stop, sign)
            monkeypatch.setattr(loop, "_quiet", never_quiet)
            want = loop.stop_tests(f, gn, x, limit, f_prev, stop, sign)
            monkeypatch.undo()
        assert got.keys() == want.keys()
        for status in want:
            np.testing.assert_array_equal(got[status], want[status])
        fired |= set(want)
    # the draws reach every outcome the rules can give
    assert fired == {Status.DIVERGED, Status.NO_GRADIENT, Status.CONVERGED, Status.FTOL,
                     Status.UNDEFINED, Status.UNBOUNDED}


def test_row_norms_are_the_same_numbers_for_few_and_many_rows():
    from gdlab.optim.stepper import row_norms

    g = np.random.default_rng(4).standard_normal((1000, 2)) * 10.0 ** np.arange(-4, 6)[
        np.arange(1000) % 10, None]
    many = row_norms(g)                       # einsum (many rows)
    few = np.concatenate([row_norms(g[i:i + 5]) for i in range(0, 1000, 5)])  # vecdot
    np.testing.assert_array_equal(few, many)
    np.testing.assert_allclose(many, np.hypot(g[:, 0], g[:, 1]), rtol=5e-16)
