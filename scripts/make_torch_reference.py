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

with gradients from autograd.  ``sign`` is -1 for the ``maximize=True`` cases,
so the optimizer climbs g = -f (and therefore descends f).  ``x[k]`` is the
parameter after the k-th ``opt.step()`` (``x[0] = x0``); ``lr[k]`` is
``param_groups[0]["lr"]`` read just before the (k+1)-th ``opt.step()``.
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
}

# Base learning rate per (optimizer, objective).
LR = {
    "sgd": {"quadratic": 0.05, "rosenbrock": 1e-3},
    "adam": {"quadratic": 0.05, "rosenbrock": 0.05},
    "adamw": {"quadratic": 0.05, "rosenbrock": 0.05},
    "rmsprop": {"quadratic": 0.01, "rosenbrock": 0.01},
    "adagrad": {"quadratic": 0.5, "rosenbrock": 0.2},
}

# Cases whose trajectory is chaotic at the base rate get a smaller one: RMSprop with
# alpha=0.9 at lr=0.01 bounces across Rosenbrock's valley so that a one-ulp difference
# (any other implementation's rounding) grows a hundredfold every three steps, and no
# reimplementation could agree to 1e-10 after step 90. A reference must be well-conditioned.
LR_OVERRIDE = {("rmsprop-alpha", "rosenbrock"): 0.002}

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
]

# Schedules are combined with these two base optimizers.
SCHED_BASES = [("sgd-momentum", "sgd", {"momentum": 0.9}), ("adam", "adam", {})]


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
    ]


def make_scheduler(opt, spec):
    if spec is None:
        return None
    name, kw = spec["name"], spec["kwargs"]
    S = torch.optim.lr_scheduler
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
                cid = f"{stem}-{spec['name']}-{objective}"
                cases.append(_case(cid, objective, oname, kwargs, spec))
    return cases


def _case(cid, objective, oname, kwargs, schedule):
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


def run_case(case):
    """Run one case with torch; returns (x, lr) lists of Python floats."""
    f = FUNCS[case["objective"]]
    sign = case["sign"]
    p = torch.tensor(case["x0"], dtype=torch.float64, requires_grad=True)
    kw = dict(case["kwargs"])
    if "betas" in kw:
        kw["betas"] = tuple(kw["betas"])
    opt = OPTIMIZERS[case["optimizer"]]([p], foreach=False, **kw)
    sched = make_scheduler(opt, case["schedule"])
    xs = [[float(v) for v in p.detach().tolist()]]
    lrs = []
    for _ in range(case["steps"]):
        opt.zero_grad()
        loss = sign * f(p)
        loss.backward()
        lrs.append(float(opt.param_groups[0]["lr"]))
        opt.step()
        if sched is not None:
            sched.step()
        xs.append([float(v) for v in p.detach().tolist()])
    return xs, lrs


def sanity(case, xs):
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
        c["x"], c["lr"] = run_case(c)
        sanity(c, c["x"])
    return cases


def self_check(cases):
    """Determinism: re-run a couple of cases and require bit-identical output."""
    by_id = {c["id"]: c for c in cases}
    for cid in ("sgd-nesterov-wd-maximize-rosenbrock", "adam-cosine-quadratic"):
        c = by_id[cid]
        xs, lrs = run_case(c)
        assert xs == c["x"] and lrs == c["lr"], f"non-deterministic: {cid}"


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

    cases = generate()
    self_check(cases)
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
