"""Every optimizer, option and schedule reproduces torch.optim's trajectory step for step.

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
from gdlab.result import History

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
_SCHED = {"step": "step", "exponential": "exponential", "cosine": "cosine",
          "linear": "warmup", "inverse_time": "inverse_time"}


def test_reference_file_covers_every_optimizer_and_option():
    cases = DATA["cases"]
    seen = {(c["optimizer"], k) for c in cases for k in c["kwargs"]}
    for opt, opts in {"sgd": ["momentum", "dampening", "nesterov", "weight_decay", "maximize"],
                      "adam": ["amsgrad", "weight_decay", "betas", "eps", "maximize"],
                      "adamw": ["weight_decay", "amsgrad", "maximize"],
                      "rmsprop": ["alpha", "momentum", "centered", "weight_decay", "maximize",
                                  "eps"],
                      "adagrad": ["lr_decay", "initial_accumulator_value", "weight_decay", "eps",
                                  "maximize"]}.items():
        for o in opts:
            assert (opt, o) in seen, (opt, o)
    assert {c["schedule"]["name"] for c in cases if c["schedule"]} >= set(_SCHED)
    assert {c["objective"] for c in cases} == {"quadratic", "rosenbrock"}
    assert all(c["steps"] >= 100 for c in cases)


def _rule_and_schedule(case):
    kw = dict(case["kwargs"])
    if "betas" in kw:
        kw["betas"] = tuple(kw["betas"])
    lr = kw.pop("lr")
    maximize = kw.pop("maximize", False)
    rule = make_rule(case["optimizer"], lr=lr, maximize=maximize, **kw)
    sched = None
    if case["schedule"]:
        s = case["schedule"]
        skw = dict(s["kwargs"])
        sched = make_schedule(_SCHED[s["name"]], **skw)
    return rule, sched, maximize


@pytest.mark.parametrize("case", DATA["cases"], ids=[c["id"] for c in DATA["cases"]])
def test_trajectory_matches_torch(case):
    rule, sched, maximize = _rule_and_schedule(case)
    obj = Signed(_FG[case["objective"]], case["sign"])
    steps = case["steps"]
    out = descend(obj, np.array(case["x0"], dtype=float), rule, schedule=sched,
                  stop=StopRules(eps=None, max_iter=steps, explode=0), maximize=maximize,
                  history=History())
    ref = np.array(case["x"])
    assert out.history.x.shape == ref.shape
    np.testing.assert_allclose(out.history.x, ref, rtol=0, atol=1e-10)
    np.testing.assert_allclose(out.history.lr[:steps], case["lr"], rtol=1e-12, atol=0)
    # the run really moved: a trajectory that stays put would match trivially
    assert np.linalg.norm(ref[-1] - ref[0]) > 1e-3


@pytest.mark.parametrize("case", [c for c in DATA["cases"] if c["schedule"] is None][:12],
                         ids=lambda c: c["id"])
def test_many_starts_move_like_single_runs(case):
    """Each row of a many-start run follows its own torch trajectory."""
    rule, sched, maximize = _rule_and_schedule(case)
    obj = Signed(_FG[case["objective"]], case["sign"])
    x0 = np.array([case["x0"], case["x0"], [0.3, -0.2]])
    out = descend(obj, x0, rule, schedule=sched, maximize=maximize,
                  stop=StopRules(eps=None, max_iter=case["steps"], explode=0))
    ref = np.array(case["x"])
    np.testing.assert_allclose(out.x[0], ref[-1], atol=1e-10, rtol=0)
    np.testing.assert_allclose(out.x[1], ref[-1], atol=1e-10, rtol=0)
