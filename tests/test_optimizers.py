"""The optimizers as people use them: by name everywhere an optimizer is accepted, with
PyTorch's defaults and keyword names, argument checks, L-BFGS through ``minimize``,
estimators and checkpoints, ASGD's averaged iterate, and a momentum schedule across a
checkpoint. Trajectories against PyTorch itself are in ``test_optim_torch.py``."""

from __future__ import annotations

import json

import numpy as np
import pytest

import gdlab
from gdlab import optim
from gdlab.data import ArrayStream
from gdlab.errors import ParameterError
from gdlab.loop import StopRules, descend
from gdlab.models import LinearLoss, LinearRegression
from gdlab.optim import OPTIMIZERS, make_rule, make_schedule
from gdlab.result import Status
from gdlab.train import load_checkpoint, train

#: torch.optim 2.13's defaults of the numeric options (foreach/capturable/... aside)
TORCH_DEFAULTS = {
    "adadelta": {"lr": 1.0, "rho": 0.9, "eps": 1e-6, "weight_decay": 0.0, "maximize": False},
    "adamax": {"lr": 2e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0,
               "maximize": False},
    "nadam": {"lr": 2e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0,
              "momentum_decay": 4e-3, "decoupled_weight_decay": False, "maximize": False},
    "radam": {"lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0,
              "decoupled_weight_decay": False, "maximize": False},
    "rprop": {"lr": 1e-2, "etas": [0.5, 1.2], "step_sizes": [1e-6, 50], "maximize": False},
    "asgd": {"lr": 1e-2, "lambd": 1e-4, "alpha": 0.75, "t0": 1e6, "weight_decay": 0.0,
             "maximize": False},
    "lbfgs": {"lr": 1.0, "max_eval": 25, "tolerance_grad": 1e-7, "tolerance_change": 1e-9,
              "history_size": 100, "line_search_fn": None, "maximize": False},
}


@pytest.mark.parametrize("name", sorted(TORCH_DEFAULTS))
def test_each_optimizer_by_name_with_torch_defaults(name):
    assert name in OPTIMIZERS
    rule = make_rule(name)
    cfg = rule.config()
    assert cfg == {"name": name, **TORCH_DEFAULTS[name]}
    assert json.loads(json.dumps(cfg)) == cfg
    assert getattr(optim, name)().config() == cfg  # gdlab.optim.<name>(**torch keywords)
    rebuilt = make_rule(name, **{k: v for k, v in cfg.items() if k != "name"})
    assert rebuilt.config() == cfg
    assert make_rule(name, maximize=True).maximize


@pytest.mark.parametrize("name, options, message", [
    ("adadelta", {"rho": 1.5}, r"rho must be a number in \[0, 1\]"),
    ("adamax", {"betas": (1.0, 0.9)}, r"betas\[0\] must be a number in \[0, 1\)"),
    ("nadam", {"decoupled_weight_decay": "yes"}, "decoupled_weight_decay must be True or"),
    ("radam", {"eps": -1}, "eps must be a non-negative number"),
    ("rprop", {"etas": (1.2, 0.5)}, "0 < etaminus < 1 < etaplus"),
    ("rprop", {"step_sizes": (1.0, 0.1)}, "min <= max"),
    ("rprop", {"eta": (0.5, 1.2)}, "did you mean etas instead of eta"),
    ("asgd", {"lambd": -1}, "lambd must be a non-negative number"),
    ("lbfgs", {"line_search_fn": "armijo"}, "line_search_fn must be one of strong_wolfe"),
    ("lbfgs", {"history_size": 0}, "history_size must be a positive whole number"),
    ("lbfgs", {"max_iter": 20}, "one iteration per loop step"),
    ("lbfgs", {"momentum": 0.9}, "has no option momentum"),
])
def test_options_are_checked(name, options, message):
    with pytest.raises(ParameterError, match=message):
        make_rule(name, lr=0.1, **options)


def test_a_momentum_schedule_needs_an_optimizer_with_momentum():
    with pytest.raises(ParameterError, match="cycles the momentum.*adagrad has no momentum"):
        gdlab.minimize("x^2 + y^2", x0=[1, 1], optimizer="adagrad", lr=0.1, max_iter=5,
                       schedule={"name": "OneCycleLR", "max_lr": 0.1, "total_steps": 10})
    res = gdlab.minimize("x^2 + y^2", x0=[1, 1], optimizer="adagrad", lr=0.1, max_iter=5,
                         schedule={"name": "OneCycleLR", "max_lr": 0.1, "total_steps": 10,
                                   "cycle_momentum": False})
    assert res.nit == 5


def test_lbfgs_minimizes_rosenbrock_and_counts_its_evaluations():
    res = gdlab.minimize("rosenbrock", x0=[-1.2, 1], optimizer="lbfgs",
                         line_search_fn="strong_wolfe")
    # where torch's L-BFGS stops too (34 iterations): the direction's slope g.d is above
    # -tolerance_change, so no further step can descend
    assert res.status == Status.STALLED and res.nit == 34
    assert np.allclose(res.x, [1, 1], atol=1e-4) and res.fun < 1e-9
    assert res.nfev > res.nit + 1  # the line search's evaluations count
    plain = gdlab.minimize("rosenbrock", x0=[-1.2, 1], optimizer="lbfgs", lr=0.5)
    assert plain.nfev == plain.nit + 1            # one evaluation per iteration
    up = gdlab.maximize("-(x - 1)^2 - 3*(y + 2)^2", x0=[4, 4], optimizer="lbfgs",
                        line_search_fn="strong_wolfe")
    assert up.converged and np.allclose(up.x, [1, -2], atol=1e-6)


def test_lbfgs_rows_are_independent_runs():
    """Starts that converge, stall or keep going at different times compact the per-row
    history (``select``) without disturbing the others."""
    starts = [[-1.2, 1.0], [2.0, 2.0], [1.0, 1.0], [0.5, -1.5]]
    opts = dict(optimizer="lbfgs", line_search_fn="strong_wolfe", history_size=3,
                max_iter=200)
    many = gdlab.minimize("rosenbrock", x0=starts, **opts)
    for i, x0 in enumerate(starts):
        one = gdlab.minimize("rosenbrock", x0=x0, **opts)
        np.testing.assert_array_equal(many.xs[i], one.x)
        assert many.nits[i] == one.nit and many.statuses[i] == one.status


def _quadratic(x, batch=None):
    a, b = x[:, 0], x[:, 1]
    return a**2 + 2 * a * b + 5 * b**2 - 3 * a + b, \
        np.stack([2 * a + 2 * b - 3, 2 * a + 10 * b + 1], axis=1)


class _Quad:
    value_and_grad = staticmethod(_quadratic)

    @staticmethod
    def value(x, batch=None):
        return _quadratic(x)[0]


def test_asgd_averaged_iterate_is_the_mean_of_the_iterates():
    rule = optim.asgd(lr=0.05, lambd=0.0, t0=0.0)
    iterates = []
    out = descend(_Quad(), np.array([2.5, -1.5]), rule, stop=StopRules(eps=None, max_iter=40),
                  callbacks=(lambda info: iterates.append(info.x[0].copy()),))
    iterates.append(out.x[0].copy())
    # mu is 1 for the first two steps, then 1/(t - 1): ax averages the iterates from step 2
    np.testing.assert_allclose(rule.averaged(out.state.rule_state)[0],
                               np.mean(iterates[2:], axis=0), rtol=1e-12)


def _linear_data(n=150, seed=4):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = X @ np.array([2.0, -1.0, 0.5]) + 1.0 + 0.1 * rng.normal(size=n)
    return X, y


@pytest.mark.parametrize("name", ["adadelta", "adamax", "nadam", "radam", "rprop", "asgd",
                                  "lbfgs"])
def test_estimators_take_every_optimizer_by_name(name):
    X, y = _linear_data()
    lr = {"adadelta": 10.0, "lbfgs": 1.0, "rprop": 0.01, "asgd": 0.05}.get(name, 0.05)
    options = {"line_search_fn": "strong_wolfe"} if name == "lbfgs" else None
    model = LinearRegression(optimizer=name, lr=lr, batch_size=None, epochs=300, tol=None,
                             optimizer_options=options).fit(X, y)
    assert model.score(X, y) > 0.95, model.stop_reason_


def _train(rule, schedule, ckpt=None, resume=None, halt_at=None, batch_size=15, epochs=8):
    X, y = _linear_data()
    obj = LinearLoss(3)
    cbs = (lambda info: "halt" if info.step == halt_at else None,) if halt_at else ()
    return train(obj, obj.init_params(), ArrayStream(X, y, batch_size=batch_size, seed=3),
                 rule, schedule=make_schedule(schedule), epochs=epochs, tol=None,
                 checkpoint=ckpt, checkpoint_every=4 if ckpt else 0, resume=resume,
                 callbacks=cbs)


@pytest.mark.parametrize("rule, schedule, batch_size", [
    # plain SGD: OneCycleLR switches the momentum on, and the buffer appears after step 0
    (lambda: optim.sgd(lr=0.05), {"name": "OneCycleLR", "max_lr": 0.1, "total_steps": 80},
     15),
    (lambda: optim.rmsprop(lr=0.01), {"name": "CyclicLR", "base_lr": 0.001, "max_lr": 0.01,
                                      "step_size_up": 7}, 15),
    (lambda: optim.nadam(lr=0.05), {"name": "OneCycleLR", "max_lr": 0.05,
                                    "total_steps": 80}, 15),
    (lambda: optim.lbfgs(line_search_fn="strong_wolfe", history_size=4), None, 15),
    (lambda: optim.lbfgs(lr=0.5), {"name": "ExponentialLR", "gamma": 0.99}, 30),
    (lambda: optim.asgd(lr=0.05, t0=5), {"name": "StepLR", "step_size": 9}, 15),
])
def test_checkpoints_resume_new_optimizers_and_momentum_schedules(tmp_path, rule, schedule,
                                                                    batch_size):
    ref = _train(rule(), schedule, batch_size=batch_size)
    ckpt = str(tmp_path / "run.gdlab")
    part = _train(rule(), schedule, ckpt=ckpt, halt_at=30, batch_size=batch_size)
    assert part.reason == "stopped early: halt"
    meta, arrays = load_checkpoint(ckpt)
    assert meta["step"] == 28
    res = _train(rule(), schedule, ckpt=ckpt, resume=ckpt, batch_size=batch_size)
    np.testing.assert_array_equal(res.params, ref.params)
    assert res.history["lr"] == ref.history["lr"] and res.n_steps == ref.n_steps
    if schedule and schedule["name"] == "OneCycleLR" and "sgd" in repr(rule()):
        assert "opt_momentum_buffer" in arrays  # made by the schedule, restored on resume


def test_compiled_sweep_steps_aside_for_momentum_and_loss_schedules():
    X, y = _linear_data()
    obj = LinearLoss(3)
    one = {"name": "OneCycleLR", "max_lr": 0.05, "total_steps": 2000}

    def run(compiled):
        return train(obj, obj.init_params(), ArrayStream(X, y, batch_size=1, seed=1),
                     optim.sgd(lr=0.01), schedule=make_schedule(one), epochs=2, tol=None,
                     compiled=compiled)

    np.testing.assert_array_equal(run(None).params, run(False).params)
    with pytest.raises(ParameterError, match="sets the momentum or follows the loss"):
        run(True)


def test_lbfgs_stalls_where_it_cannot_descend():
    # a direction that is not a descent direction any more: torch breaks, gdlab stops there
    rule = optim.lbfgs(lr=1.0, tolerance_change=1e3)
    out = descend(_Quad(), np.array([2.5, -1.5]), rule, stop=StopRules(eps=None, max_iter=10))
    assert out.status == [Status.STALLED] and out.nit[0] == 0
