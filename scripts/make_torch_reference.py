"""Generate PyTorch reference trajectories for gdlab's optimizer/schedule tests.

PyTorch is NOT a dependency of gdlab (neither runtime nor test). This script is
run ONCE, by hand, in a separate virtualenv outside the repo, and its output
``tests/data/torch_trajectories.json`` is committed:

    python3 -m venv /tmp/torchvenv
    /tmp/torchvenv/bin/pip install torch==2.13.0 numpy
    /tmp/torchvenv/bin/python scripts/make_torch_reference.py

(run from the repository root, or from anywhere: the output path is resolved
relative to this file).  ``--check`` only re-runs the determinism self-check
and compares against the existing JSON file without rewriting it.

What it does: for each case, a single float64 parameter tensor of shape (2,)
starts at ``x0`` and is optimised with the torch single-tensor implementation
(``foreach=False``, CPU).  Each step is

    opt.zero_grad(); loss = sign * f(p); loss.backward(); opt.step(); sched.step()

with gradients from autograd (``sched.step(loss)`` for ReduceLROnPlateau).  ``sign`` is
-1 for the ``maximize=True`` cases, so the optimizer climbs g = -f (and therefore
descends f).  ``x[k]`` is the parameter after the k-th ``opt.step()`` (``x[0] = x0``);
``lr[k]`` is ``param_groups[0]["lr"]`` read just before the (k+1)-th ``opt.step()``, and
``momentum[k]`` (cases whose scheduler cycles the momentum) the group's ``momentum`` or
``betas[0]`` read then.

L-BFGS: one iteration per ``step(closure)`` (``max_iter=1``) with ``max_eval`` raised to
25 (with ``max_iter=1`` torch's default ``max_eval`` is 1, which leaves its strong-Wolfe
search no trial beyond the first); ``func_evals[k]`` is ``state["func_evals"]`` after the
(k+1)-th call.  ``check_long_call`` verifies, for every L-BFGS case, that these iterates
are those of one long call (``max_iter=steps``, unlimited ``max_eval``) until that call
stops on its own tests.  torch's L-BFGS has no ``maximize``: the maximize case minimizes
the negated loss.

Cases where torch itself diverges (a non-finite loss or parameter) stop there: ``x``
holds the finite iterates and ``diverged`` the step whose loss or point is not finite.
ASGD cases also record the final averaged iterate ``ax``.
"""

from __future__ import annotations

import json
import math
import os
import sys

import torch

TORCH_VERSION = "2.13.0"
STEPS = 150

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, os.pardir, "tests", "data", "torch_trajectories.json")

OBJECTIVES = {
    "quadratic": "x**2 + 2*x*y + 5*y**2 - 3*x + y",
    "rosenbrock": "(1 - x)**2 + 100*(y - x**2)**2",
}
X0 = {"quadratic": [2.5, -1.5], "rosenbrock": [-1.2, 1.0]}


def f_quadratic(p):
    x, y = p[0], p[1]
    return x**2 + 2 * x * y + 5 * y**2 - 3 * x + y


def f_rosenbrock(p):
    x, y = p[0], p[1]
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


FUNCS = {"quadratic": f_quadratic, "rosenbrock": f_rosenbrock}

OPTIMIZERS = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "rmsprop": torch.optim.RMSprop,
    "adagrad": torch.optim.Adagrad,
    "adadelta": torch.optim.Adadelta,
    "adamax": torch.optim.Adamax,
    "nadam": torch.optim.NAdam,
    "radam": torch.optim.RAdam,
    "rprop": torch.optim.Rprop,
    "asgd": torch.optim.ASGD,
    "lbfgs": torch.optim.LBFGS,
}

# Base learning rate per (optimizer, objective).
LR = {
    "sgd": {"quadratic": 0.05, "rosenbrock": 1e-3},
    "adam": {"quadratic": 0.05, "rosenbrock": 0.05},
    "adamw": {"quadratic": 0.05, "rosenbrock": 0.05},
    "rmsprop": {"quadratic": 0.01, "rosenbrock": 0.01},
    "adagrad": {"quadratic": 0.5, "rosenbrock": 0.2},
    "adadelta": {"quadratic": 1.0, "rosenbrock": 1.0},
    "adamax": {"quadratic": 0.05, "rosenbrock": 0.05},
    "nadam": {"quadratic": 0.05, "rosenbrock": 0.05},
    "radam": {"quadratic": 0.05, "rosenbrock": 1e-3},
    "rprop": {"quadratic": 0.01, "rosenbrock": 0.01},
    "asgd": {"quadratic": 0.05, "rosenbrock": 1e-3},
    "lbfgs": {"quadratic": 1.0, "rosenbrock": 1.0},
}

# Cases whose trajectory is chaotic at the base rate get a smaller one: RMSprop with
# alpha=0.9 at lr=0.01 bounces across Rosenbrock's valley so that a one-ulp difference
# (any other implementation's rounding) grows a hundredfold every three steps, and no
# reimplementation could agree to 1e-10 after step 90. A reference must be well-conditioned.
LR_OVERRIDE = {("rmsprop-alpha", "rosenbrock"): 0.002,
               # L-BFGS without a line search at lr=1 leaps across Rosenbrock's valley (to
               # x = 28 and back): torch's fused multiply-adds vs. numpy's two roundings
               # grow to 1e-7 there; at lr=0.5 they stay below 1e-12
               ("lbfgs-default", "rosenbrock"): 0.5}

# (id stem, optimizer, extra kwargs)  -- kwargs use torch's names.
OPT_CASES = [
    ("sgd-plain", "sgd", {}),
    ("sgd-momentum", "sgd", {"momentum": 0.9}),
    ("sgd-momentum-dampening", "sgd", {"momentum": 0.9, "dampening": 0.3}),
    ("sgd-nesterov", "sgd", {"momentum": 0.9, "nesterov": True}),
    ("sgd-weight-decay", "sgd", {"weight_decay": 0.05}),
    ("sgd-maximize", "sgd", {"maximize": True}),
    (
        "sgd-nesterov-wd-maximize",
        "sgd",
        {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01, "maximize": True},
    ),
    ("adam-default", "adam", {}),
    ("adam-amsgrad", "adam", {"amsgrad": True}),
    ("adam-weight-decay", "adam", {"weight_decay": 0.05}),
    ("adam-betas-eps", "adam", {"betas": [0.8, 0.99], "eps": 1e-6}),
    ("adam-maximize", "adam", {"maximize": True}),
    (
        "adam-amsgrad-wd-maximize",
        "adam",
        {"amsgrad": True, "weight_decay": 0.01, "maximize": True},
    ),
    ("adamw-default", "adamw", {}),
    ("adamw-weight-decay", "adamw", {"weight_decay": 0.1}),
    ("adamw-amsgrad", "adamw", {"amsgrad": True}),
    ("adamw-maximize", "adamw", {"maximize": True}),
    ("rmsprop-default", "rmsprop", {}),
    ("rmsprop-alpha", "rmsprop", {"alpha": 0.9}),
    ("rmsprop-momentum", "rmsprop", {"momentum": 0.9}),
    ("rmsprop-centered", "rmsprop", {"centered": True}),
    ("rmsprop-centered-momentum", "rmsprop", {"centered": True, "momentum": 0.5}),
    ("rmsprop-weight-decay", "rmsprop", {"weight_decay": 0.05}),
    ("rmsprop-maximize", "rmsprop", {"maximize": True}),
    ("rmsprop-eps", "rmsprop", {"eps": 1e-4}),
    ("adagrad-default", "adagrad", {}),
    ("adagrad-lr-decay", "adagrad", {"lr_decay": 0.01}),
    ("adagrad-initial-accumulator", "adagrad", {"initial_accumulator_value": 0.1}),
    ("adagrad-weight-decay", "adagrad", {"weight_decay": 0.05}),
    ("adagrad-eps", "adagrad", {"eps": 1e-6}),
    ("adagrad-maximize", "adagrad", {"maximize": True}),
    ("adadelta-default", "adadelta", {}),
    ("adadelta-rho", "adadelta", {"rho": 0.5}),
    ("adadelta-eps", "adadelta", {"eps": 1e-5}),  # eps=1e-3 circles the minimum chaotically
    ("adadelta-weight-decay", "adadelta", {"weight_decay": 0.05}),
    ("adadelta-maximize", "adadelta", {"maximize": True}),
    ("adamax-default", "adamax", {}),
    ("adamax-betas-eps", "adamax", {"betas": [0.8, 0.99], "eps": 1e-4}),
    ("adamax-weight-decay", "adamax", {"weight_decay": 0.05}),
    ("adamax-maximize", "adamax", {"maximize": True}),
    ("nadam-default", "nadam", {}),
    ("nadam-momentum-decay", "nadam", {"momentum_decay": 0.05}),
    ("nadam-betas-eps", "nadam", {"betas": [0.8, 0.99], "eps": 1e-6}),
    ("nadam-weight-decay", "nadam", {"weight_decay": 0.05}),
    ("nadam-decoupled-weight-decay", "nadam", {"weight_decay": 0.1,
                                               "decoupled_weight_decay": True}),
    ("nadam-maximize", "nadam", {"maximize": True}),
    ("radam-default", "radam", {}),
    ("radam-betas-eps", "radam", {"betas": [0.8, 0.99], "eps": 1e-6}),
    ("radam-weight-decay", "radam", {"weight_decay": 0.05}),
    ("radam-decoupled-weight-decay", "radam", {"weight_decay": 0.1,
                                               "decoupled_weight_decay": True}),
    ("radam-maximize", "radam", {"maximize": True}),
    ("rprop-default", "rprop", {}),
    ("rprop-etas", "rprop", {"etas": [0.3, 1.5]}),
    ("rprop-step-sizes", "rprop", {"step_sizes": [1e-3, 0.05]}),
    ("rprop-maximize", "rprop", {"maximize": True}),
    ("asgd-default", "asgd", {}),
    ("asgd-averaging", "asgd", {"t0": 20.0, "lambd": 1e-3, "alpha": 0.5}),
    ("asgd-weight-decay", "asgd", {"weight_decay": 0.05}),
    ("asgd-maximize", "asgd", {"maximize": True}),
    ("lbfgs-default", "lbfgs", {}),
    ("lbfgs-lr", "lbfgs", {"lr": 0.8}),
    ("lbfgs-strong-wolfe", "lbfgs", {"line_search_fn": "strong_wolfe"}),
    ("lbfgs-history", "lbfgs", {"line_search_fn": "strong_wolfe", "history_size": 2}),
    ("lbfgs-max-eval", "lbfgs", {"line_search_fn": "strong_wolfe", "max_eval": 3}),
    ("lbfgs-tolerances", "lbfgs", {"line_search_fn": "strong_wolfe", "tolerance_grad": 1e-3,
                                   "tolerance_change": 1e-4}),
    ("lbfgs-maximize", "lbfgs", {"line_search_fn": "strong_wolfe", "maximize": True}),
]

# L-BFGS runs one iteration per step(); with max_iter=1 torch's max_eval would be 1.
LBFGS_MAX_EVAL = 25

# Where torch itself diverges: (id stem, optimizer, kwargs, objective).
DIVERGING = [
    ("sgd-diverges", "sgd", {"lr": 0.01}, "rosenbrock"),
    ("radam-diverges", "radam", {"lr": 0.05}, "rosenbrock"),
    ("asgd-diverges", "asgd", {"lr": 0.05}, "rosenbrock"),
]

# Schedules are combined with these two base optimizers.
SCHED_BASES = [("sgd-momentum", "sgd", {"momentum": 0.9}), ("adam", "adam", {})]

# Momentum cycling (OneCycleLR's default) on every optimizer with a momentum or beta1; plain
# SGD and RMSprop have momentum 0 until the scheduler sets it.
CYCLE_BASES = [("sgd", "sgd", {}), ("rmsprop", "rmsprop", {}), ("adamw", "adamw", {}),
               ("adamax", "adamax", {}), ("nadam", "nadam", {}), ("radam", "radam", {})]


def sched_specs(lr):
    return [
        {"name": "step", "kwargs": {"step_size": 30, "gamma": 0.5}},
        {"name": "exponential", "kwargs": {"gamma": 0.98}},
        {"name": "cosine", "kwargs": {"T_max": 100, "eta_min": 0.001 * lr}},
        {
            "name": "linear",
            "kwargs": {"start_factor": 0.1, "end_factor": 1.0, "total_iters": 20},
        },
        {"name": "inverse_time", "kwargs": {"decay": 0.05}},
    ] + torch_sched_specs(lr)


def torch_sched_specs(lr):
    """Every scheduler of torch.optim.lr_scheduler that a step count or the loss drives,
    by its class name and keywords (base rate ``lr``)."""
    one = {"max_lr": 2 * lr, "total_steps": STEPS}
    return [
        {"name": "StepLR", "kwargs": {"step_size": 30, "gamma": 0.7}},
        {"name": "MultiStepLR", "kwargs": {"milestones": [20, 50, 50, 90], "gamma": 0.6}},
        {"name": "ConstantLR", "kwargs": {"factor": 0.3, "total_iters": 25}},
        {"name": "LinearLR", "kwargs": {"start_factor": 0.2, "end_factor": 0.9,
                                        "total_iters": 40}},
        {"name": "ExponentialLR", "kwargs": {"gamma": 0.97}},
        {"name": "PolynomialLR", "kwargs": {"total_iters": 120, "power": 1.7}},
        {"name": "CosineAnnealingLR", "kwargs": {"T_max": 40, "eta_min": 0.01 * lr}},
        {"name": "CosineAnnealingWarmRestarts", "kwargs": {"T_0": 15, "T_mult": 2,
                                                          "eta_min": 0.01 * lr}},
        {"name": "CyclicLR", "kwargs": {"base_lr": lr / 10, "max_lr": lr, "step_size_up": 20,
                                        "step_size_down": 30}},
        {"name": "CyclicLR", "id": "CyclicLR-triangular2",
         "kwargs": {"base_lr": lr / 10, "max_lr": lr, "step_size_up": 15,
                    "mode": "triangular2"}},
        {"name": "CyclicLR", "id": "CyclicLR-exp-range",
         "kwargs": {"base_lr": lr / 10, "max_lr": lr, "step_size_up": 15, "mode": "exp_range",
                    "gamma": 0.99, "base_momentum": 0.7, "max_momentum": 0.95}},
        {"name": "CyclicLR", "id": "CyclicLR-no-momentum",
         "kwargs": {"base_lr": lr / 10, "max_lr": lr, "step_size_up": 25,
                    "cycle_momentum": False}},
        {"name": "OneCycleLR", "kwargs": one},
        {"name": "OneCycleLR", "id": "OneCycleLR-linear-three-phase",
         "kwargs": {**one, "anneal_strategy": "linear", "three_phase": True,
                    "pct_start": 0.25, "div_factor": 10.0, "final_div_factor": 100.0}},
        {"name": "OneCycleLR", "id": "OneCycleLR-epochs-no-momentum",
         "kwargs": {"max_lr": 2 * lr, "epochs": 10, "steps_per_epoch": 15,
                    "cycle_momentum": False, "pct_start": 0.4}},
        {"name": "ReduceLROnPlateau", "kwargs": {"factor": 0.5, "patience": 3,
                                                 "threshold": 1e-2, "cooldown": 2}},
        {"name": "ReduceLROnPlateau", "id": "ReduceLROnPlateau-abs-min-lr",
         "kwargs": {"factor": 0.3, "patience": 5, "threshold": 1e-3,
                    "threshold_mode": "abs", "min_lr": 0.05 * lr}},
        {"name": "SequentialLR", "kwargs": {
            "schedulers": [{"name": "LinearLR", "kwargs": {"start_factor": 0.1,
                                                           "total_iters": 10}},
                           {"name": "ExponentialLR", "kwargs": {"gamma": 0.98}},
                           {"name": "CosineAnnealingLR", "kwargs": {"T_max": 30}}],
            "milestones": [10, 60]}},
        {"name": "ChainedScheduler", "kwargs": {
            "schedulers": [{"name": "ConstantLR", "kwargs": {"factor": 0.5,
                                                             "total_iters": 20}},
                           {"name": "ExponentialLR", "kwargs": {"gamma": 0.98}},
                           {"name": "StepLR", "kwargs": {"step_size": 40, "gamma": 0.5}}]}},
    ]


def cycle_specs(lr):
    """Momentum (beta1) cycling with every optimizer that has one."""
    return [{"name": "OneCycleLR", "kwargs": {"max_lr": 2 * lr, "total_steps": STEPS}},
            {"name": "CyclicLR", "kwargs": {"base_lr": lr / 10, "max_lr": lr,
                                            "step_size_up": 20}}]


def make_scheduler(opt, spec):
    if spec is None:
        return None
    name, kw = spec["name"], dict(spec["kwargs"])
    S = torch.optim.lr_scheduler
    if name in ("SequentialLR", "ChainedScheduler"):
        kids = [make_scheduler(opt, k) for k in kw.pop("schedulers")]
        if name == "ChainedScheduler":
            return S.ChainedScheduler(kids, optimizer=opt)
        return S.SequentialLR(opt, kids, **kw)
    if hasattr(S, name):
        return getattr(S, name)(opt, **kw)
    if name == "step":
        return S.StepLR(opt, **kw)
    if name == "exponential":
        return S.ExponentialLR(opt, **kw)
    if name == "cosine":
        return S.CosineAnnealingLR(opt, **kw)
    if name == "linear":
        return S.LinearLR(opt, **kw)
    if name == "inverse_time":
        decay = kw["decay"]
        return S.LambdaLR(opt, lambda t: 1 / (1 + decay * t))
    raise ValueError(name)


def build_cases():
    cases = []
    for objective in ("quadratic", "rosenbrock"):
        for stem, oname, extra in OPT_CASES:
            kwargs = {"lr": LR_OVERRIDE.get((stem, objective), LR[oname][objective]), **extra}
            cases.append(_case(f"{stem}-{objective}", objective, oname, kwargs, None))
        for stem, oname, extra in SCHED_BASES:
            lr = LR[oname][objective]
            for spec in sched_specs(lr):
                kwargs = {"lr": lr, **extra}
                cid = f"{stem}-{spec.pop('id', spec['name'])}-{objective}"
                cases.append(_case(cid, objective, oname, kwargs, spec))
        for stem, oname, extra in CYCLE_BASES:
            lr = LR[oname][objective]
            for spec in cycle_specs(lr):
                cid = f"{stem}-cycle-{spec['name']}-{objective}"
                cases.append(_case(cid, objective, oname, {"lr": lr, **extra}, spec))
    for stem, oname, kwargs, objective in DIVERGING:
        cases.append(_case(f"{stem}-{objective}", objective, oname, kwargs, None))
    return cases


def _case(cid, objective, oname, kwargs, schedule):
    if cid.startswith(tuple(stem for stem, *_ in DIVERGING)):
        return {"id": cid, "objective": objective, "sign": 1, "optimizer": oname,
                "kwargs": kwargs, "schedule": schedule, "x0": list(X0[objective]),
                "steps": STEPS, "diverged": None}
    return {
        "id": cid,
        "objective": objective,
        "sign": -1 if kwargs.get("maximize", False) else 1,
        "optimizer": oname,
        "kwargs": kwargs,
        "schedule": schedule,
        "x0": list(X0[objective]),
        "steps": STEPS,
    }


def _optimizer(case, p, **over):
    kw = dict(case["kwargs"])
    for k in ("betas", "etas", "step_sizes"):
        if k in kw:
            kw[k] = tuple(kw[k])
    if case["optimizer"] == "lbfgs":
        kw.pop("maximize", None)
        kw = {"max_iter": 1, "max_eval": LBFGS_MAX_EVAL, **kw, **over}
        return torch.optim.LBFGS([p], **kw)
    return OPTIMIZERS[case["optimizer"]]([p], foreach=False, **kw)


def _closure(case, opt, p):
    """The loss of the case (negated for L-BFGS's maximize, which torch lacks)."""
    f = FUNCS[case["objective"]]
    sign = case["sign"] * (-1 if case["optimizer"] == "lbfgs" and case["sign"] < 0 else 1)

    def closure():
        opt.zero_grad()
        loss = sign * f(p)
        loss.backward()
        return loss
    return closure


def _momentum(group):
    return float(group["betas"][0]) if "betas" in group else float(group["momentum"])


def _finite(loss, p):
    return math.isfinite(float(loss)) and bool(torch.isfinite(p).all())


def run_case(case):
    """Run one case with torch: a dict of lists of Python floats (``x``, ``lr`` and, where
    they apply, ``momentum``, ``func_evals``, ``ax``, ``diverged``)."""
    p = torch.tensor(case["x0"], dtype=torch.float64, requires_grad=True)
    opt = _optimizer(case, p)
    sched = make_scheduler(opt, case["schedule"])
    out = {"x": [[float(v) for v in p.detach().tolist()]], "lr": []}
    if sched is not None and getattr(sched, "cycle_momentum", False):
        out["momentum"] = []
    if case["optimizer"] == "lbfgs":
        out["func_evals"] = []
    closure = _closure(case, opt, p)
    for k in range(case["steps"]):
        if not _step(case, opt, sched, closure, p, out):
            out["diverged"] = k if len(out["x"]) == k + 1 else k + 1
            out["x"] = out["x"][:k + 1]
            return out
    if case["optimizer"] == "asgd":
        out["ax"] = [float(v) for v in opt.state[p]["ax"].tolist()]
    return out


def _step(case, opt, sched, closure, p, out):
    """One step of ``run_case``, recorded in ``out``; False when torch's loss or point
    became non-finite in a case meant to diverge."""
    group = opt.param_groups[0]
    lr = float(group["lr"])
    mom = _momentum(group) if "momentum" in out else None
    if case["optimizer"] == "lbfgs":
        loss = opt.step(closure)
    else:
        loss = closure()
        opt.step()
    if not _finite(loss, p) and "diverged" in case:
        return False
    out["lr"].append(lr)
    if mom is not None:
        out["momentum"].append(mom)
    if "func_evals" in out:
        out["func_evals"].append(int(opt.state[p]["func_evals"]))
    if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
        sched.step(float(loss))
    elif sched is not None:
        sched.step()
    out["x"].append([float(v) for v in p.detach().tolist()])
    return all(math.isfinite(v) for v in out["x"][-1]) or "diverged" not in case


class _RecordingLBFGS(torch.optim.LBFGS):
    """L-BFGS that records its iterates (the points after each iteration's step)."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.iterates = []
        self._trial = False

    def _directional_evaluate(self, closure, x, t, d):
        self._trial = True
        try:
            return super()._directional_evaluate(closure, x, t, d)
        finally:
            self._trial = False

    def _add_grad(self, step_size, update):
        super()._add_grad(step_size, update)
        if not self._trial:
            self.iterates.append([float(v) for v in self._params[0].detach().tolist()])


def check_long_call(case):
    """Compare one long torch call (max_iter=steps, unlimited max_eval) with the
    one-iteration calls recorded in ``case["x"]``: ``(iterations of the long call, the
    first iteration whose point differs, or None)``."""
    p = torch.tensor(case["x0"], dtype=torch.float64, requires_grad=True)
    kw = {k: v for k, v in case["kwargs"].items() if k != "maximize"}
    opt = _RecordingLBFGS([p], **{**kw, "max_iter": case["steps"], "max_eval": 10**9})
    opt.step(_closure(case, opt, p))
    its = opt.iterates
    same = [a == b for a, b in zip(its, case["x"][1:])]
    return len(its), (same.index(False) + 1 if False in same else None)


def sanity(case, out):
    if "diverged" in case:
        if out.get("diverged") is None:
            raise RuntimeError(f"{case['id']}: was meant to diverge")
        return
    xs = out["x"]
    last = xs[-1]
    if not all(math.isfinite(v) for v in last):
        raise RuntimeError(f"{case['id']}: non-finite final point {last}")
    if max(abs(v) for v in last) > 10:
        raise RuntimeError(f"{case['id']}: exploding final point {last}")
    moved = math.dist(xs[0], last)
    if moved < 0.05:
        raise RuntimeError(f"{case['id']}: barely moved ({moved})")


def generate():
    cases = build_cases()
    ids = [c["id"] for c in cases]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    for c in cases:
        out = run_case(c)
        sanity(c, out)
        c.update(out)
    report = []
    for c in cases:
        if c["optimizer"] == "lbfgs":
            n, differs = check_long_call(c)
            budget = c["kwargs"].get("max_eval", LBFGS_MAX_EVAL)
            if differs is None:
                report.append(f"{c['id']}: a long call's {n} iterations equal the "
                              f"one-iteration calls' (max_eval={budget} per call)")
            else:
                report.append(f"{c['id']}: a long call ({n} iterations) differs from "
                              f"iteration {differs} on (max_eval={budget} per call)")
                # with torch's per-call budget a search may stop early; 25 never binds here
                assert budget < LBFGS_MAX_EVAL, f"{c['id']}: the long call differs"
    return cases, report


def self_check(cases):
    """Determinism: re-run a couple of cases and require bit-identical output."""
    by_id = {c["id"]: c for c in cases}
    for cid in ("sgd-nesterov-wd-maximize-rosenbrock", "adam-cosine-quadratic",
                "lbfgs-strong-wolfe-rosenbrock", "adam-OneCycleLR-rosenbrock",
                "sgd-momentum-ReduceLROnPlateau-quadratic"):
        c = by_id[cid]
        out = run_case(c)
        assert all(out[k] == c[k] for k in out), f"non-deterministic: {cid}"


def dumps(cases):
    """JSON with one case per line (diff-friendly); floats via json's repr."""
    head = {
        "torch_version": TORCH_VERSION,
        "generated_by": "scripts/make_torch_reference.py",
        "objectives": OBJECTIVES,
    }
    lines = ["{"]
    for k, v in head.items():
        lines.append(f"{json.dumps(k)}: {json.dumps(v)},")
    lines.append('"cases": [')
    body = [json.dumps(c, allow_nan=False) for c in cases]
    lines.append(",\n".join(body))
    lines.append("]}")
    return "\n".join(lines) + "\n"


def main(argv):
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    ver = torch.__version__.split("+")[0]
    if ver != TORCH_VERSION:
        sys.exit(f"need torch=={TORCH_VERSION}, found {torch.__version__}")

    cases, report = generate()
    self_check(cases)
    print("\n".join(report))
    text = dumps(cases)
    data = json.loads(text)
    assert data["cases"] == cases

    out = os.path.normpath(OUT)
    if "--check" in argv:
        with open(out) as fh:
            same = fh.read() == text
        print(f"{out}: {'up to date' if same else 'DIFFERS'}")
        return 0 if same else 1
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as fh:
        fh.write(text)
    print(f"wrote {len(cases)} cases to {out} ({os.path.getsize(out)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
