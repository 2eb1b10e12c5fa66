"""Every optimizer, option and scheduler reproduces torch.optim's trajectory step for step.

The reference trajectories were recorded once with PyTorch 2.13.0 by
``scripts/make_torch_reference.py`` and committed as ``tests/data/torch_trajectories.json``;
torch is not needed to run these tests.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from gdlab.loop import StopRules, descend
from gdlab.optim import make_rule, make_schedule
from gdlab.result import History, Status

DATA = json.loads((Path(__file__).parent / "data" / "torch_trajectories.json").read_text())


def _quadratic(x):
    a, b = x[:, 0], x[:, 1]
    f = a**2 + 2 * a * b + 5 * b**2 - 3 * a + b
    g = np.stack([2 * a + 2 * b - 3, 2 * a + 10 * b + 1], axis=1)
    return f, g


def _rosenbrock(x):
    a, b = x[:, 0], x[:, 1]
    d = b - a**2
    f = (1 - a) ** 2 + 100 * d**2
    # the operations autograd performs, in its order, so rounding agrees too: on this
    # valley, differences of one ulp in the gradient grow to 1e-9 within 100 steps
    gd = 100 * (2 * d)
    g = np.stack([-(2 * (1 - a)) + (-gd) * (2 * a), gd], axis=1)
    return f, g


class Signed:
    def __init__(self, fg, sign):
        self.fg, self.sign = fg, sign

    def value_and_grad(self, x, batch=None):
        f, g = self.fg(x)
        return self.sign * f, self.sign * g

    def value(self, x, batch=None):
        return self.value_and_grad(x)[0]


_FG = {"quadratic": _quadratic, "rosenbrock": _rosenbrock}
#: the reference's names of gdlab's short-name schedules
_SCHED = {"step": "step", "exponential": "exponential", "cosine": "cosine",
          "linear": "warmup", "inverse_time": "inverse_time"}
#: every option of every optimizer, as torch names them (maximize wherever torch has it;
#: L-BFGS's maximize is gdlab's, recorded as torch minimizing the negated loss)
_OPTIONS = {"sgd": ["momentum", "dampening", "nesterov", "weight_decay", "maximize"],
            "adam": ["amsgrad", "weight_decay", "betas", "eps", "maximize"],
            "adamw": ["weight_decay", "amsgrad", "maximize"],
            "rmsprop": ["alpha", "momentum", "centered", "weight_decay", "maximize", "eps"],
            "adagrad": ["lr_decay", "initial_accumulator_value", "weight_decay", "eps",
                        "maximize"],
            "adadelta": ["rho", "eps", "weight_decay", "maximize"],
            "adamax": ["betas", "eps", "weight_decay", "maximize"],
            "nadam": ["betas", "eps", "weight_decay", "momentum_decay",
                      "decoupled_weight_decay", "maximize"],
            "radam": ["betas", "eps", "weight_decay", "decoupled_weight_decay", "maximize"],
            "rprop": ["etas", "step_sizes", "maximize"],
            "asgd": ["lambd", "alpha", "t0", "weight_decay", "maximize"],
            "lbfgs": ["lr", "line_search_fn", "history_size", "max_eval", "tolerance_grad",
                      "tolerance_change", "maximize"]}
#: every scheduler of torch.optim.lr_scheduler that a step count or the loss drives
_SCHEDULERS = ["StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR",
               "PolynomialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "CyclicLR",
               "OneCycleLR", "ReduceLROnPlateau", "SequentialLR", "ChainedScheduler"]
_MOMENTUM_RULES = ["sgd", "rmsprop", "adam", "adamw", "adamax", "nadam", "radam"]


def test_reference_file_covers_every_optimizer_and_option():
    cases = DATA["cases"]
    seen = {(c["optimizer"], k) for c in cases for k in c["kwargs"]}
    for opt, opts in _OPTIONS.items():
        for o in opts:
            assert (opt, o) in seen, (opt, o)
    for opt in _OPTIONS:  # each optimizer on both objectives, with its defaults too
        assert {c["objective"] for c in cases if c["optimizer"] == opt} == \
            {"quadratic", "rosenbrock"}
    names = {c["schedule"]["name"] for c in cases if c["schedule"]}
    assert names >= set(_SCHED) | set(_SCHEDULERS)
    for name in _SCHEDULERS:  # with SGD and with Adam, on both objectives
        used = {(c["optimizer"], c["objective"]) for c in cases
                if c["schedule"] and c["schedule"]["name"] == name}
        assert used >= {(o, f) for o in ("sgd", "adam") for f in ("quadratic", "rosenbrock")}
    modes = {c["schedule"]["kwargs"].get("mode", "triangular") for c in cases
             if c["schedule"] and c["schedule"]["name"] == "CyclicLR"}
    assert modes == {"triangular", "triangular2", "exp_range"}
    cycled = {c["optimizer"] for c in cases if "momentum" in c}
    assert cycled == set(_MOMENTUM_RULES)
    assert {c["objective"] for c in cases} == {"quadratic", "rosenbrock"}
    assert all(c["steps"] >= 100 for c in cases)
    assert sum("diverged" in c for c in cases) >= 3


def _schedule_config(spec):
    """A reference schedule spec as a gdlab schedule config (torch names as they are)."""
    kw = dict(spec["kwargs"])
    if "schedulers" in kw:
        kw["schedulers"] = [_schedule_config(k) for k in kw["schedulers"]]
    return {"name": _SCHED.get(spec["name"], spec["name"]), **kw}


def _rule_and_schedule(case):
    kw = dict(case["kwargs"])
    for k in ("betas", "etas", "step_sizes"):
        if k in kw:
            kw[k] = tuple(kw[k])
    lr = kw.pop("lr")
    maximize = kw.pop("maximize", False)
    rule = make_rule(case["optimizer"], lr=lr, maximize=maximize, **kw)
    sched = make_schedule(_schedule_config(case["schedule"])) if case["schedule"] else None
    return rule, sched, maximize


def _run(case, x0=None, steps=None):
    rule, sched, maximize = _rule_and_schedule(case)
    obj = Signed(_FG[case["objective"]], case["sign"])
    x0 = np.array(case["x0"] if x0 is None else x0, dtype=float)
    return rule, descend(obj, x0, rule, schedule=sched, maximize=maximize,
                         stop=StopRules(eps=None, max_iter=steps or case["steps"], explode=0),
                         history=History())


@pytest.mark.parametrize("case", DATA["cases"], ids=[c["id"] for c in DATA["cases"]])
def test_trajectory_matches_torch(case):
    rule, out = _run(case)
    ref = np.array(case["x"])
    n = len(ref)
    if "diverged" in case:  # torch's loss or point became inf/nan at this step: so does ours
        assert out.status == [Status.DIVERGED]
        assert out.diverged_step[0] == case["diverged"]
    elif out.status[0] == Status.STALLED:  # L-BFGS at a point torch cannot leave either
        n = out.nit[0] + 1
        assert np.all(ref[n:] == ref[n - 1])
    else:
        assert out.status == [Status.MAX_ITER] and out.history.x.shape == ref.shape
    # a diverging run's points grow past any scale: there, 1e-12 relative as well
    rtol = 1e-12 if "diverged" in case else 0
    np.testing.assert_allclose(out.history.x[:n], ref[:n], rtol=rtol, atol=1e-10)
    m = min(n, len(case["lr"]))
    np.testing.assert_allclose(out.history.lr[:m], case["lr"][:m], rtol=1e-12, atol=0)
    if "momentum" in case:  # the cycled momentum / beta1, as the rule received it
        sched = make_schedule(_schedule_config(case["schedule"]))
        got = [sched.momentum(t) for t in range(case["steps"])]
        np.testing.assert_allclose(got, case["momentum"], rtol=1e-12, atol=0)
    if "ax" in case:
        np.testing.assert_allclose(rule.averaged(out.state.rule_state)[0], case["ax"],
                                   rtol=0, atol=1e-10)
    if "func_evals" in case and out.status == [Status.MAX_ITER]:
        # torch's count after `steps` calls of step(), plus the loop's last evaluation
        assert out.nfev[0] == case["func_evals"][-1] + 1
    # the run really moved: a trajectory that stays put would match trivially
    assert np.linalg.norm(ref[-1] - ref[0]) > 1e-3


_SINGLE = [c for c in DATA["cases"] if "diverged" not in c
           and (c["schedule"] is None or "momentum" in c)]


@pytest.mark.parametrize("case", _SINGLE, ids=[c["id"] for c in _SINGLE])
def test_many_starts_move_like_single_runs(case):
    """Each row of a many-start run follows its own torch trajectory, and a row from
    another start is bit for bit the single run from there (L-BFGS's per-row histories
    and line searches included)."""
    other = [0.3, -0.2]
    _, out = _run(case, x0=[case["x0"], case["x0"], other])
    _, single = _run(case)
    _, alone = _run(case, x0=other)
    np.testing.assert_array_equal(out.x[0], single.x[0])
    np.testing.assert_array_equal(out.x[1], single.x[0])
    np.testing.assert_array_equal(out.x[2], alone.x[0])
    assert [out.status[0], out.status[2]] == [single.status[0], alone.status[0]]
    np.testing.assert_array_equal(out.nfev, [single.nfev[0], single.nfev[0], alone.nfev[0]])
    if single.status[0] == Status.MAX_ITER:
        np.testing.assert_allclose(out.x[0], case["x"][-1], atol=1e-10, rtol=0)


_LBFGS = [c for c in DATA["cases"] if c["optimizer"] == "lbfgs"]


@pytest.mark.parametrize("case", _LBFGS, ids=[c["id"] for c in _LBFGS])
def test_lbfgs_counts_torch_function_evaluations(case):
    """After k loop steps (k updates, then the evaluation of step k) a row has made
    torch's ``func_evals`` after k calls of ``step()``, plus one."""
    for k in (1, 2, 5, 17):
        _, out = _run(case, steps=k)
        if out.status == [Status.MAX_ITER]:
            assert out.nfev[0] == case["func_evals"][k - 1] + 1, k
