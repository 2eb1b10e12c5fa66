"""The ``gdlab`` command: thin argument parsing around the library; no maths here.

Every command prints text for people, or one JSON object with ``--json``. Exit codes: 0
done (converged, or stopped by a limit the user set), 1 the run failed (diverged, unbounded,
or left the function's domain), 2 bad input. A failure is one line on stderr, never a
traceback (``GDLAB_DEBUG=1`` shows one). Heavy libraries are imported inside the
commands, so ``gdlab diff`` starts fast.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from typing import Any, NoReturn, Sequence

EXIT_DONE, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2

#: subcommands whose positional EXPR may start with "-" ('-x**2 + 4*x')
_FORMULA_COMMANDS = ("diff", "grad", "hessian", "minimize", "maximize", "compare", "plot")

_EPILOG = ("Formulas use x**2 or x^2, + - * /, parentheses and sin cos tan exp log (also ln, "
           "the natural log) sqrt abs tanh sinh cosh asin acos atan sigmoid max min; pi, and "
           "e (or E) for Euler's number. Quote them in the shell: gdlab diff 'x**2 + 2*x + 3'; "
           "a leading minus works: gdlab maximize '-x**2 + 4*x' --x0 0 --lr 0.1. "
           "Exit codes: 0 done (converged, or stopped by a limit you set), 1 the run failed "
           "(diverged, unbounded, or left the function's domain), 2 bad input.")

#: options whose value may start with "-" (negative numbers): ``--x0 -1,2`` works
_VALUE_OPTIONS = ("--x0", "--at", "--bounds", "--lr", "--betas")


class _Usage(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit code 2
        raise _Usage(f"{self.prog}: {message} (see {self.prog} --help)")


def _number(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return v


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative whole number, got {text!r}")
    return v


def _numbers(text: str) -> list[float]:
    parts = [p for p in text.replace(";", ",").split(",") if p.strip()]
    if not parts:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}")
    return [_number(p.strip()) for p in parts]


def _point(text: str) -> dict[str, float] | list[float]:
    """``x=1,y=2`` (by name) or ``1,2`` (in variable order)."""
    if "=" not in text:
        return _numbers(text)
    out: dict[str, float] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise argparse.ArgumentTypeError(
                f"expected name=value pairs like x=1,y=2, got {text!r}")
        k, v = part.split("=", 1)
        out[k.strip()] = _number(v.strip())
    return out


def _start(text: str) -> dict[str, float] | list[float]:
    """``--x0``: ``1,2`` in variable order, or ``y=2,x=1`` by name."""
    return _point(text)


def _bounds(text: str) -> list[tuple[float, float]]:
    """``-5:5,-2:2`` — one low:high pair per variable."""
    pairs = []
    for part in text.split(","):
        if not part.strip():
            continue
        if ":" not in part:
            raise argparse.ArgumentTypeError(f"bounds are low:high pairs separated by commas, "
                                             f"like -5:5,-5:5; got {text!r}")
        lo, hi = part.split(":", 1)
        pairs.append((_number(lo.strip()), _number(hi.strip())))
    return pairs


def _fix_negative_values(argv: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in _VALUE_OPTIONS and i + 1 < len(argv) and argv[i + 1].startswith("-") \
                and len(argv[i + 1]) > 1 and (argv[i + 1][1].isdigit() or argv[i + 1][1] == "."):
            out.append(f"{a}={argv[i + 1]}")
            i += 2
            continue
        out.append(a)
        i += 1
    return out


def _formula_last(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """A formula that starts with "-" (``'-x**2 + 4*x'``) is the EXPR argument, not an
    option: move it behind ``--`` so that argparse reads it as the positional argument."""
    if not argv or argv[0] not in _FORMULA_COMMANDS or "--" in argv:
        return argv
    sub = _subparser(parser, argv[0])
    if sub is None:
        return argv
    rest, expr, i = [argv[0]], None, 1
    while i < len(argv):
        tok = argv[i]
        action = _option_action(sub, tok)
        if action is not None:
            rest.append(tok)
            if action.nargs != 0 and "=" not in tok and i + 1 < len(argv):
                rest.append(argv[i + 1])  # the option's value, whatever it looks like
                i += 1
        elif tok.startswith("-") and len(tok) > 1 and expr is None:
            expr = tok
        else:
            rest.append(tok)
        i += 1
    return argv if expr is None else [*rest, "--", expr]


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices.get(name)
    return None


def _option_action(sub: argparse.ArgumentParser, tok: str) -> argparse.Action | None:
    """The option ``tok`` names (exactly, as ``--opt=value``, or by a unique prefix of a
    long option, as argparse allows), or ``None`` when it is no option of ``sub``."""
    if not tok.startswith("-") or len(tok) < 2:
        return None
    name = tok.split("=", 1)[0]
    table = sub._option_string_actions
    if name in table:
        return table[name]
    if name.startswith("--"):
        hits = {table[o] for o in table if o.startswith(name)}
        if len(hits) == 1:
            return hits.pop()
    return None


# ---- parser ---------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="gdlab", description="Gradient descent, from the derivative of a typed "
                "formula to training a network.", epilog=_EPILOG)
    p.add_argument("--version", action="version", version="gdlab 0.1.0")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    d = sub.add_parser("diff", help="derivative of a formula (symbolic)",
                       description="Print the derivative of EXPR; the last line is the "
                                   "derivative as a formula.")
    d.add_argument("expr", metavar="EXPR", help="formula text, e.g. 'x**2 + 2*x + 3'")
    d.add_argument("--wrt", metavar="VAR", help="variable to differentiate by (needed when "
                   "there are several)")
    d.add_argument("--order", type=_positive_int, default=1, help="order of the derivative "
                   "(default 1)")
    d.add_argument("--at", type=_point, metavar="POINT", help="also evaluate at a point: "
                   "x=1,y=2 or 1,2")
    d.add_argument("--latex", action="store_true", help="print LaTeX instead of text")
    d.add_argument("--json", action="store_true", help="print one JSON object")

    g = sub.add_parser("grad", help="gradient vector of a formula",
                       description="Print the partial derivatives and the gradient vector.")
    g.add_argument("expr", metavar="EXPR")
    g.add_argument("--vars", metavar="NAMES", help="variable order, e.g. x,y (default: "
                   "alphabetical)")
    g.add_argument("--at", type=_point, metavar="POINT")
    g.add_argument("--latex", action="store_true")
    g.add_argument("--json", action="store_true")

    h = sub.add_parser("hessian", help="Hessian matrix of a formula")
    h.add_argument("expr", metavar="EXPR")
    h.add_argument("--vars", metavar="NAMES")
    h.add_argument("--at", type=_point, metavar="POINT")
    h.add_argument("--latex", action="store_true")
    h.add_argument("--json", action="store_true")

    for name, helptext in (("minimize", "gradient descent on a formula or test function"),
                           ("maximize", "gradient ascent on a formula")):
        m = sub.add_parser(name, help=helptext, description=f"{name.capitalize()} EXPR (a "
                           "formula or a test function's name, see `gdlab functions`).",
                           epilog=_EPILOG)
        _add_descent_options(m)

    c = sub.add_parser("compare", help="several optimizers from the same start, one picture",
                       description="Run EXPR with several optimizers from the same start.")
    c.add_argument("expr", metavar="EXPR")
    c.add_argument("--optimizers", default="sgd,momentum,nesterov,adam,rmsprop,adagrad",
                   help="comma-separated names (default: %(default)s)")
    c.add_argument("--x0", type=_numbers, metavar="VALUES")
    c.add_argument("--lr", type=_numbers, metavar="RATES", help="one rate for all, or one per "
                   "optimizer (comma-separated)")
    c.add_argument("--max-iter", type=_positive_int, default=2000)
    c.add_argument("--eps", type=_number, default=1e-6)
    c.add_argument("--vars", metavar="NAMES")
    c.add_argument("--plot", metavar="FILE.png")
    c.add_argument("--json", action="store_true")

    pl = sub.add_parser("plot", help="draw a function alone",
                        description="Draw EXPR: a curve for one variable, a contour map for two.")
    pl.add_argument("expr", metavar="EXPR")
    pl.add_argument("--bounds", type=_bounds, metavar="LO:HI,...")
    pl.add_argument("--vars", metavar="NAMES")
    pl.add_argument("--surface", action="store_true", help="3-D surface view")
    pl.add_argument("--gradients", action="store_true", help="draw gradient arrows")
    pl.add_argument("--out", "--plot", dest="plot", metavar="FILE.png", required=True)

    f = sub.add_parser("fit", help="train a model on data",
                       description="Train a model on DATA: a .csv or .parquet file (with "
                       "--target), an IDX pair 'images.idx,labels.idx', or a bundled dataset "
                       "(digits, iris, diabetes, breast_cancer); or, on a Dask cluster, a "
                       "glob or folder of Parquet or CSV files ('data/*.parquet', quoted), "
                       "read by the workers. Prints the scores, the coefficients of linear "
                       "models and, for linear regression, the gap to the least-squares "
                       "solution.")
    f.add_argument("data", metavar="DATA")
    f.add_argument("--target", metavar="COL", help="target column of a CSV/Parquet file "
                   "(numbers, or text class labels such as cat/dog)")
    f.add_argument("--features", metavar="COLS", help="feature columns (default: all others)")
    _add_delimiter(f)
    f.add_argument("--model", default=None, choices=["linear", "logistic", "softmax", "mlp"],
                   help="default: linear for regression data, softmax for class labels")
    f.add_argument("--task", choices=["regression", "classification"],
                   help="for --model mlp (default: from the data)")
    f.add_argument("--loss", choices=["mse", "rmse", "half_mse"], help="linear model's loss")
    f.add_argument("--hidden", type=lambda t: tuple(int(v) for v in _numbers(t)), metavar="SIZES",
                   help="MLP hidden layer sizes, e.g. 128,64")
    f.add_argument("--activation", choices=["relu", "tanh", "sigmoid"])
    f.add_argument("--optimizer", help="sgd, momentum, nesterov, adam, adamw, rmsprop, adagrad, "
                   "adadelta, adamax, nadam, radam, rprop, asgd, lbfgs "
                   "(default: sgd for linear models, adam for MLPs)")
    f.add_argument("--lr", type=_number, help="learning rate (default: the model's)")
    f.add_argument("--momentum", type=_number, help="momentum for sgd")
    f.add_argument("--schedule", help="constant, step, exponential, inverse_time, cosine, warmup, "
                   "or a PyTorch scheduler that needs no options: ConstantLR, LinearLR, "
                   "PolynomialLR, ReduceLROnPlateau")
    f.add_argument("--batch-size", type=_positive_int, help="default: full batch for linear "
                   "models in memory, 200 for MLPs, 256 for files; 1 = online SGD")
    f.add_argument("--epochs", type=_positive_int, help="at most this many epochs (default: the "
                   "model's budget, 1000 for linear models and 200 for MLPs; training stops "
                   "earlier once the loss stops improving)")
    f.add_argument("--l2", type=_number, help="L2 penalty (l2/2)*||w||^2 on the weights")
    f.add_argument("--val-fraction", type=_number, help="hold out this fraction for early "
                   "stopping (restores the best weights)")
    f.add_argument("--test-fraction", type=_number, default=0.25, help="held out for the "
                   "reported test score (default 0.25; 0 = none); in files about this fraction "
                   "of the rows, chosen by a hash of the row number and --seed")
    f.add_argument("--no-standardize", action="store_true", help="train on raw features")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--time-limit", type=_number, metavar="SECONDS")
    f.add_argument("--out", metavar="MODEL", help="save the model here (.gdlab)")
    f.add_argument("--checkpoint", metavar="PATH", help="write a checkpoint to this file (or "
                   "DIR/checkpoint.gdlab for a folder) while training, atomically: a kill "
                   "leaves the last good one")
    f.add_argument("--checkpoint-every", type=_positive_int, default=100, metavar="STEPS",
                   help="steps between checkpoints (default 100)")
    f.add_argument("--resume", action="store_true", help="continue from --checkpoint; ends "
                   "with the weights of an uninterrupted run")
    f.add_argument("--json", action="store_true", help="print one JSON object")
    f.add_argument("--quiet", action="store_true", help="no progress bar")
    f.add_argument("--plot", metavar="FILE.png", help="draw the loss curve")
    f.add_argument("--dask", nargs="?", type=_positive_int, const=0, metavar="N",
                   help="train on an embedded Dask cluster of N worker processes, which read "
                   "the files; without N (and for a glob without --dask): one worker process "
                   "per core (at most 8) when the files take more than a quarter of the "
                   "available memory, else one worker in this process. Full batch by "
                   "default: only parameters and gradient sums cross between processes")
    f.add_argument("--scheduler", metavar="ADDRESS", help="train on the running Dask cluster "
                   "whose scheduler is at ADDRESS (tcp://host:8786); its workers read the "
                   "files at the same paths")

    pr = sub.add_parser("predict", help="predict with a saved model")
    pr.add_argument("model", metavar="MODEL")
    pr.add_argument("data", metavar="DATA")
    pr.add_argument("--target", metavar="COL", help="column to leave out of the features")
    pr.add_argument("--out", metavar="FILE.csv", help="write predictions here (default: stdout)")
    _add_delimiter(pr)

    ev = sub.add_parser("evaluate", help="score a saved model on labelled data")
    ev.add_argument("model", metavar="MODEL")
    ev.add_argument("data", metavar="DATA")
    ev.add_argument("--target", metavar="COL")
    ev.add_argument("--json", action="store_true")
    _add_delimiter(ev)

    sub.add_parser("functions", help="list the named test functions").add_argument(
        "--json", action="store_true")

    dm = sub.add_parser("demo", help="the lecture's tour on bundled data (under a minute)")
    dm.add_argument("--quick", action="store_true", help="a shorter tour")
    dm.add_argument("--plots", metavar="DIR", help="also save the tour's pictures here")

    sv = sub.add_parser("serve", help="the playground: the lectures as an interactive page "
                                      "on a local server (needs the extra gdlab[serve])")
    sv.add_argument("--port", type=_positive_int, default=8000, help="default 8000")
    sv.add_argument("--host", default="127.0.0.1",
                    help="address to listen on (default 127.0.0.1: this machine only)")
    sv.add_argument("--no-browser", action="store_true", help="do not open a browser")
    return p


_DELIMITER_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "pipe": "|",
                    "space": " "}


def _delimiter(text: str) -> str:
    d = _DELIMITER_NAMES.get(text.lower(), text)
    if len(d) != 1 or d in "\r\n\"":
        raise argparse.ArgumentTypeError(f"expected one character or comma, semicolon, tab, "
                                         f"pipe, space; got {text!r}")
    return d


def _add_delimiter(p: argparse.ArgumentParser) -> None:
    p.add_argument("--delimiter", type=_delimiter, metavar="CHAR", help="CSV delimiter: one "
                   "character, or comma, semicolon, tab, pipe (default: sniffed from the "
                   "header and the first lines)")


def _add_descent_options(m: argparse.ArgumentParser) -> None:
    m.add_argument("expr", metavar="EXPR")
    m.add_argument("--x0", type=_start, action="append", metavar="VALUES",
                   help="start, e.g. --x0 5, --x0 1,2 or --x0 y=2,x=1 (repeat for several "
                        "starts; negative numbers work: --x0 -1.2,1). Default: the origin")
    m.add_argument("--vars", metavar="NAMES", help="variable order (default alphabetical)")
    m.add_argument("--optimizer", default=None, help="sgd (default), momentum, nesterov, adam, "
                   "adamw, rmsprop, adagrad, adadelta, adamax, nadam, radam, rprop, asgd, lbfgs")
    m.add_argument("--lr", type=_number, help="learning rate (default: line search for sgd, "
                   "PyTorch's default otherwise)")
    m.add_argument("--momentum", type=_number, help="SGD/RMSProp momentum (torch's meaning)")
    m.add_argument("--dampening", type=_number, help="SGD momentum dampening")
    m.add_argument("--nesterov", action="store_true", default=None, help="Nesterov momentum")
    m.add_argument("--weight-decay", type=_number, help="L2 weight decay (decoupled for adamw)")
    m.add_argument("--betas", type=_numbers, metavar="B1,B2", help="Adam's betas, e.g. 0.9,0.999")
    m.add_argument("--alpha", type=_number, help="RMSProp smoothing constant")
    m.add_argument("--centered", action="store_true", default=None, help="centered RMSProp")
    m.add_argument("--amsgrad", action="store_true", default=None, help="AMSGrad variant of Adam")
    m.add_argument("--lr-decay", type=_number, help="AdaGrad learning-rate decay")
    m.add_argument("--opt-eps", type=_number, metavar="EPS", help="the optimizer's eps "
                   "(Adam, RMSProp, AdaGrad)")
    m.add_argument("--schedule", help="constant, step, exponential, inverse_time, cosine, warmup, "
                   "or a PyTorch scheduler with numeric options: StepLR, ConstantLR, LinearLR, "
                   "ExponentialLR, PolynomialLR, CosineAnnealingLR, "
                   "CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR, ReduceLROnPlateau")
    m.add_argument("--schedule-args", type=_point, metavar="K=V,...",
                   help="schedule options, e.g. step_size=50,gamma=0.5")
    m.add_argument("--eps", type=_number, default=1e-6, help="stop when |grad| < eps "
                   "(default 1e-6)")
    m.add_argument("--max-iter", type=_positive_int, default=10_000, help="at most this many "
                   "updates (default 10000)")
    m.add_argument("--ftol", type=_number, help="also stop when f changes by less than this "
                   "(relative; default 1e-10 with the default L-BFGS, else none)")
    m.add_argument("--time-limit", type=_number, metavar="SECONDS")
    m.add_argument("--restarts", type=_positive_int, metavar="N", help="N random starts in "
                   "--bounds (default: a test function's domain), run at once")
    m.add_argument("--bounds", type=_bounds, metavar="LO:HI,...", help="a box the descent "
                   "stays in (every step is projected onto it) and restarts are drawn in, "
                   "e.g. -5:5,-5:5")
    m.add_argument("--seed", type=int, help="seed of the random starts")
    m.add_argument("--json", action="store_true", help="print one JSON object")
    m.add_argument("--history", action="store_true", help="include the per-step history "
                   "(with --json) or print it")
    m.add_argument("--plot", metavar="FILE.png", help="draw the path (for three or more "
                   "variables: f and norm(grad) per step)")
    m.add_argument("--animate", metavar="FILE.gif", help="animate the path")


# ---- commands -------------------------------------------------------------------------------

def _function(expr: str, vars_: str | None = None) -> Any:
    from .calculus import Function
    return Function(expr, vars_)


def _fmt(v: float) -> str:
    return f"{v:.10g}"


def _at(fn: Any, at: Any) -> Any:
    """A point for ``Function`` calls: dict by name or list in variable order."""
    if isinstance(at, dict):
        return at
    from .errors import ParameterError
    if len(at) != fn.n_vars:
        raise ParameterError(f"--at needs {fn.n_vars} value(s) for {', '.join(fn.variables)}")
    return dict(zip(fn.variables, at))


def _point_text(point: dict[str, float]) -> str:
    return ", ".join(f"{k}={_fmt(v)}" for k, v in point.items())


def cmd_diff(a: argparse.Namespace) -> int:
    fn = _function(a.expr)
    der = fn.derivative(a.wrt if a.wrt else None, a.order)
    var = a.wrt or (fn.variables[0] if fn.variables else "x")
    power = "^" + str(a.order) if a.order != 1 else ""
    label = f"d{power}f/d{var}{power}"
    out: dict[str, Any] = {"formula": fn.text, "variables": list(fn.variables), "wrt": var,
                           "order": a.order, "derivative": der.text, "latex": der.latex}
    if a.at is not None:
        point = _at(fn, a.at)
        out["at"] = point
        out["value"] = der(**point)
    if a.json:
        print(json.dumps(out))
        return 0
    print(f"f({', '.join(fn.variables)}) = {fn.latex if a.latex else fn.text}")
    if a.at is not None:
        print(f"{label} at ({_point_text(out['at'])}) = {_fmt(out['value'])}")
    print(f"{label} =")
    print(der.latex if a.latex else der.text)
    return 0


def cmd_grad(a: argparse.Namespace) -> int:
    fn = _function(a.expr, a.vars)
    parts = fn.gradient()
    out: dict[str, Any] = {"formula": fn.text, "variables": list(fn.variables),
                           "gradient": [p.text for p in parts], "latex": [p.latex for p in parts]}
    if a.at is not None:
        point = _at(fn, a.at)
        out["at"] = point
        out["value"] = [float(v) for v in fn.grad_at(**point)]
    if a.json:
        print(json.dumps(out))
        return 0
    print(f"f({', '.join(fn.variables)}) = {fn.text}")
    for v, p in zip(fn.variables, parts):
        print(f"df/d{v} = {p.latex if a.latex else p.text}")
    if a.at is not None:
        vals = ", ".join(_fmt(v) for v in out["value"])
        print(f"grad f at ({_point_text(out['at'])}) = [{vals}]")
    print("[" + ", ".join(p.latex if a.latex else p.text for p in parts) + "]")
    return 0


def cmd_hessian(a: argparse.Namespace) -> int:
    fn = _function(a.expr, a.vars)
    H = fn.hessian()
    out: dict[str, Any] = {"formula": fn.text, "variables": list(fn.variables),
                           "hessian": [[h.text for h in row] for row in H]}
    if a.at is not None:
        point = _at(fn, a.at)
        out["at"] = point
        out["value"] = fn.hessian_at(**point).tolist()
    if a.json:
        print(json.dumps(out))
        return 0
    print(f"f({', '.join(fn.variables)}) = {fn.text}")
    if a.at is not None:
        print(f"Hessian at ({_point_text(out['at'])}):")
        for row in out["value"]:
            print("  [" + ", ".join(_fmt(v) for v in row) + "]")
    print("Hessian:")
    print("[" + ", ".join("[" + ", ".join(h.latex if a.latex else h.text for h in row) + "]"
                          for row in H) + "]")
    return 0


def _descent(a: argparse.Namespace, maximize: bool) -> int:
    from .calculus import Function
    from .optimize import maximize as gd_max
    from .optimize import minimize as gd_min
    from .result import Status

    fn = Function(a.expr, a.vars)
    options = {"momentum": a.momentum, "dampening": a.dampening, "nesterov": a.nesterov,
               "weight_decay": a.weight_decay, "betas": tuple(a.betas) if a.betas else None,
               "alpha": a.alpha, "centered": a.centered, "amsgrad": a.amsgrad,
               "lr_decay": a.lr_decay, "eps": a.opt_eps}
    options = {k: v for k, v in options.items() if v is not None}
    schedule = None
    if a.schedule:
        schedule = {"name": a.schedule, **(a.schedule_args or {})}  # the schedule checks them
    run = gd_max if maximize else gd_min
    res = run(fn, x0=_starts_of(fn, a.x0), optimizer=a.optimizer, lr=a.lr, eps=a.eps,
              max_iter=a.max_iter, restarts=a.restarts, bounds=a.bounds, seed=a.seed,
              schedule=schedule, ftol=a.ftol, time_limit=a.time_limit, **options)
    written = _descent_pictures(a, res, fn)
    failed = Status(res.status).failed
    if a.json:
        print(json.dumps({**res.to_dict(history=a.history), "files": written}))
        return EXIT_FAILED if failed else EXIT_DONE
    _print_descent(a, res, fn, maximize)
    for kind, path in written.items():
        print(f"{kind}: {path}")
    print(res.reason)
    return EXIT_FAILED if failed else EXIT_DONE


def _starts_of(fn: Any, x0: list | None) -> Any:
    """The ``--x0`` values as starts in variable order (each given by position or by name)."""
    from .errors import ParameterError
    if not x0:
        return None
    rows = []
    for v in x0:
        if isinstance(v, dict):
            unknown = sorted(set(v) - set(fn.variables))
            missing = [n for n in fn.variables if n not in v]
            if unknown or missing:
                raise ParameterError(f"--x0 by name needs a value for each of "
                                     f"{', '.join(fn.variables)}"
                                     + (f"; unknown: {', '.join(unknown)}" if unknown else ""))
            v = [v[n] for n in fn.variables]
        rows.append(v)
    if len({len(r) for r in rows}) > 1:
        raise ParameterError("every --x0 needs the same number of values")
    return rows[0] if len(rows) == 1 else rows


def _descent_pictures(a: argparse.Namespace, res: Any, fn: Any) -> dict[str, str]:
    """Draw what ``--plot``/``--animate`` ask for; returns ``{kind: path}`` written."""
    written: dict[str, str] = {}
    if a.plot or a.animate:
        from . import plot
        if a.plot:
            plot.plot_path(res, fn, path=a.plot)
            written["picture"] = a.plot
        if a.animate:
            plot.animate_path(res, fn, a.animate)
            written["animation"] = a.animate
    return written


def _print_descent(a: argparse.Namespace, res: Any, fn: Any, maximize: bool) -> None:
    verb = "maximize" if maximize else "minimize"
    print(f"{verb} f({', '.join(fn.variables)}) = {fn.text}")
    opt = res.optimizer
    print(f"optimizer: {_optimizer_text(opt)}")
    names = res.variables
    if "bounds" in opt:
        print("bounds: " + ", ".join(f"{lo:g} <= {n} <= {hi:g}"
                                     for n, (lo, hi) in zip(names, opt["bounds"])))
    if res.n_starts > 1:
        assert res.converged_all is not None  # set with the starts
        print(f"starts: {res.n_starts} run at once, {int(res.converged_all.sum())} converged; "
              f"best is #{res.best}")
    if res.x0 is not None:
        origin = " (the origin; choose with --x0)" if not a.x0 and not a.restarts else ""
        label = "start" if res.n_starts == 1 else "start of the best"
        print(f"{label}: " + ", ".join(f"{n} = {_fmt(v)}" for n, v in zip(names, res.x0))
              + origin)
    print(f"iterations: {res.nit}")
    print("x: " + ", ".join(f"{n} = {_fmt(v)}" for n, v in zip(names, res.x)))
    print(f"f(x) = {_fmt(res.fun)}")
    gname = "|grad|" if len(names) == 1 else "norm(grad)"
    print(f"{gname} = {res.grad_norm:.3g}")
    if a.history:
        h = res.history
        for s, xv, fv in zip(h.steps, h.x, h.fun):
            print(f"  step {s}: x = [{', '.join(_fmt(v) for v in xv)}], f = {_fmt(fv)}")


def _optimizer_text(opt: dict[str, Any]) -> str:
    """The optimizer line of the report: its name and the settings that are not off."""
    desc = opt.get("name", "sgd")
    if desc == "quasi_newton":
        return ("L-BFGS quasi-Newton steps with a backtracking line search (no lr given; "
                "plain gradient descent: --lr, or --optimizer sgd)")
    if opt.get("line_search"):
        desc += " with backtracking line search (no lr given)"
    else:
        desc += " " + ", ".join(f"{k}={v}" for k, v in opt.items()
                                if k not in ("name", "maximize", "schedule", "bounds")
                                and (k == "lr" or v not in (0, 0.0, False)))
        if "schedule" in opt:
            desc += f", schedule {opt['schedule']['name']}"
    return desc


def cmd_minimize(a: argparse.Namespace) -> int:
    return _descent(a, maximize=False)


def cmd_maximize(a: argparse.Namespace) -> int:
    return _descent(a, maximize=True)


def cmd_compare(a: argparse.Namespace) -> int:
    from .calculus import Function
    from .errors import ParameterError
    from .optimize import minimize

    fn = Function(a.expr, a.vars)
    names = [n.strip() for n in a.optimizers.split(",") if n.strip()]
    if not names:
        raise ParameterError("--optimizers needs at least one name")
    lrs = a.lr or [None]
    if len(lrs) not in (1, len(names)):
        raise ParameterError(f"--lr needs one rate or one per optimizer ({len(names)})")
    if len(lrs) == 1:
        lrs = lrs * len(names)
    x0 = a.x0
    if x0 is None and fn.test_function is not None:
        lo = [b[0] for b in fn.test_function.bounds]
        hi = [b[1] for b in fn.test_function.bounds]
        x0 = [l_ + 0.15 * (h_ - l_) for l_, h_ in zip(lo, hi)]
    results = {}
    for name, lr in zip(names, lrs):
        label = name if lr is None else f"{name} lr={lr:g}"
        results[label] = minimize(fn, x0=x0, optimizer=name, lr=lr, eps=a.eps,
                                  max_iter=a.max_iter,
                                  line_search=False if name != "sgd" or lr else None)
    if a.plot:
        from . import plot
        plot.plot_compare(results, fn, path=a.plot)
    if a.json:
        print(json.dumps({k: r.to_dict() for k, r in results.items()}))
        return 0
    print(f"f({', '.join(fn.variables)}) = {fn.text}")
    width = max(len(k) for k in results)
    for k, r in results.items():
        print(f"{k:<{width}}  f = {r.fun:<14.6g} steps = {r.nit:<6d} x = "
              f"[{', '.join(f'{v:.6g}' for v in r.x)}]  {r.status}")
    if a.plot:
        print(f"picture: {a.plot}")
    return 0


def cmd_plot(a: argparse.Namespace) -> int:
    from . import plot
    fn = _function(a.expr, a.vars)
    plot.plot_function(fn, bounds=a.bounds, path=a.plot, surface=a.surface,
                       show_gradients=a.gradients)
    print(f"picture: {a.plot}")
    return 0


def cmd_functions(a: argparse.Namespace) -> int:
    from . import functions
    table = [functions.get(n) for n in functions.names()]
    if a.json:
        print(json.dumps([{"name": t.name, "title": t.title, "formula": t.formula,
                           "bounds": t.bounds, "minima": t.minima, "fmin": t.fmin}
                          for t in table]))
        return 0
    for t in table:
        dom = " x ".join(f"[{lo:g}, {hi:g}]" for lo, hi in t.bounds)
        mins = "; ".join("(" + ", ".join(f"{v:.6g}" for v in m) + ")" for m in t.minima)
        print(f"{t.name:<16} {t.formula}")
        print(f"{'':<16} domain {dom}; minimum f = {t.fmin:.10g} at {mins}")
    return 0


def cmd_fit(a: argparse.Namespace) -> int:
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from .data._names import command_line
    from .models.fitting import fit_data
    from .result import Status
    with command_line(), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # the last line says it
        est, summary = fit_data(
            a.data, a.target, features=[c.strip() for c in a.features.split(",")]
            if a.features else None, model=a.model, task=a.task,
            test_fraction=a.test_fraction, seed=a.seed, delimiter=a.delimiter,
            checkpoint=a.checkpoint, checkpoint_every=a.checkpoint_every, resume=a.resume,
            standardize=not a.no_standardize, verbose=not a.quiet and sys.stderr.isatty(),
            optimizer=a.optimizer, lr=a.lr, batch_size=a.batch_size, epochs=a.epochs, l2=a.l2,
            time_limit=a.time_limit, schedule=a.schedule, loss=a.loss,
            hidden_layer_sizes=a.hidden, activation=a.activation,
            optimizer_options={"momentum": a.momentum} if a.momentum is not None else None,
            early_stopping=True if a.val_fraction else None,
            validation_fraction=a.val_fraction or None, dask=a.dask, scheduler=a.scheduler)
        if a.out:
            from .models.io import save_model
            save_model(est, a.out, extra={"data": a.data, "target": summary["target"],
                                          "feature_names": summary["feature_names"]})
            summary["model_file"] = a.out
    if a.plot:
        from . import plot
        plot.plot_loss(est, path=a.plot)
        summary["picture"] = a.plot
    code = EXIT_FAILED if Status(est.status_).failed else EXIT_DONE
    if a.json:
        print(json.dumps(summary))
        return code
    _print_fit(a, summary)
    return code


#: coefficients printed for at most this many features (the largest in magnitude)
_COEF_ROWS = 20
#: ... and classes
_COEF_COLUMNS = 12


def _print_fit(a: argparse.Namespace, s: dict[str, Any]) -> None:
    target = s["target"]
    print(f"{s['model']} on {a.data}: {s['n_samples']} rows, {s['n_features']} features"
          f"{f', target {target!r}' if target else ''}{_where(s)}")
    if s["n_test"]:
        how = "by a hash of the row number" if s["streamed"] else "at random"
        print(f"split: {s['n_train']} rows to train, {s['n_test']} to test ({how}, "
              f"--seed {a.seed})")
    if s["constant_columns"]:
        names = s["constant_columns"]
        shown = ", ".join(names[:10]) + (f", ... ({len(names)} in all)" if len(names) > 10
                                         else "")
        print(f"constant columns (std 0; centred, not scaled): {shown}")
    print(f"epochs: {s['epochs']} ({s['steps']} updates)   final training loss: "
          f"{s['final_loss']:.6g}")
    print(f"train {s['score_name']}: {s['train_score']:.4f}" +
          (f"   test {s['score_name']}: {s['test_score']:.4f}"
           if s["test_score"] is not None else ""))
    if "coef" in s:
        for line in _coef_lines(s):
            print(line)
    if "closed_form" in s:
        c = s["closed_form"]
        if c is None:
            print(f"closed form (lstsq): skipped: {s.get('closed_form_skipped')}")
        else:
            print(f"closed form (lstsq): train R^2 {c['train_r2_lstsq']:.6f}, gap to GD "
                  f"{c['r2_gap']:.2e}, largest coefficient gap {c['max_coef_gap']:.3g}")
    if a.out:
        print(f"model saved to {a.out}")
    if a.plot:
        print(f"picture: {a.plot}")
    reason = s["reason"]
    if s["converged"] is False and s["status"] != "diverged":
        epochs = s["epochs"]
        if not reason.startswith("not converged"):
            reason = f"not converged after {epochs} epochs: {reason}"
        reason += f"; more with --epochs {2 * max(epochs, 1)}"
    print(f"{reason} ({s['seconds']:.2f} s)")


def _where(s: dict[str, Any]) -> str:
    """Where the data was read: a Dask cluster, a file streamed, or memory."""
    if "dask" in s:
        return f" (on {s['dask']['cluster']}: {s['dask']['blocks']} blocks)"
    return " (streamed from the file)" if s["streamed"] else ""


def _coef_lines(s: dict[str, Any]) -> list[str]:
    """The coefficient table: one row per feature (the largest in magnitude past
    :data:`_COEF_ROWS`), one column per output (class), the intercept last."""
    import numpy as np

    coef = np.atleast_2d(np.asarray(s["coef"], dtype=float))  # (outputs, features)
    intercept = np.atleast_1d(np.asarray(s["intercept"], dtype=float))
    names = s["feature_names"]
    if len(coef) > _COEF_COLUMNS:
        return [f"coefficients: {len(coef)} classes x {coef.shape[1]} features, too many to "
                f"print (all of them are in --json)"]
    classes = [_label(c) for c in s.get("classes", range(len(coef)))]
    if len(coef) == 1:
        titles = [f"class {classes[-1]}" if "classes" in s else "coef"]
    else:
        titles = [f"class {c}" for c in classes]
    rows = np.arange(coef.shape[1])
    head = "coefficients (original feature scale)"
    if len(rows) > _COEF_ROWS:
        rows = np.argsort(-np.abs(coef).max(axis=0), kind="stable")[:_COEF_ROWS]
        head += f", the {_COEF_ROWS} largest in magnitude of {coef.shape[1]}"
    width = min(max(len(str(names[j])) for j in rows), 30)
    width = max(width, len("(intercept)"))
    lines = [head + ":", f"  {'feature':<{width}}" + "".join(f" {t[:12]:>12}" for t in titles)]
    for j in rows:
        lines.append(f"  {str(names[j])[:width]:<{width}}"
                     + "".join(f" {v:>12.6g}" for v in coef[:, j]))
    lines.append(f"  {'(intercept)':<{width}}" + "".join(f" {v:>12.6g}" for v in intercept))
    return lines


def _label(c: Any) -> str:
    """A class label as people write it: ``3`` rather than ``3.0``."""
    return f"{c:g}" if isinstance(c, float) else str(c)


def _model_data(model_path: str, data: str, target: str | None,
                delimiter: str | None = None) -> tuple[Any, Any, Any, dict]:
    from .data.open import load_xy
    from .models.io import load_model
    est, meta = load_model(model_path)
    features = meta.get("extra", {}).get("feature_names")
    t = target if target is not None else meta.get("extra", {}).get("target")
    from .models.fitting import is_file_source
    if not is_file_source(data):
        t = None
        features = None
    X, y, _, _ = load_xy(data, t, features, delimiter=delimiter)
    if X.shape[1] != est.n_features_in_:
        from .errors import DataError
        raise DataError(f"the model expects {est.n_features_in_} features, the data has "
                        f"{X.shape[1]}", file=data)
    return est, X, y, meta


def cmd_predict(a: argparse.Namespace) -> int:
    import io

    import numpy as np

    from .data._names import command_line
    with command_line():
        est, X, _, _ = _model_data(a.model, a.data, a.target, a.delimiter)
    pred = est.predict(X)
    buf = io.StringIO()
    buf.write("prediction\n")
    for v in np.asarray(pred).reshape(len(X), -1):
        buf.write(",".join(f"{x:.10g}" if isinstance(x, float) else str(x)
                           for x in v.tolist()) + "\n")
    if a.out:
        from .persist import atomic_write_bytes
        atomic_write_bytes(a.out, buf.getvalue().encode())
        print(f"{len(X)} predictions written to {a.out}")
    else:
        sys.stdout.write(buf.getvalue())
    return 0


def cmd_evaluate(a: argparse.Namespace) -> int:
    from .data._names import command_line
    with command_line():
        est, X, y, _ = _model_data(a.model, a.data, a.target, a.delimiter)
    score = float(est.score(X, y))
    name = "accuracy" if hasattr(est, "classes_") else "R^2"
    if a.json:
        print(json.dumps({"model": type(est).__name__, "n_samples": int(len(X)), name: score}))
    else:
        print(f"{type(est).__name__} on {a.data}: {len(X)} rows, {name} = {score:.4f}")
    return 0


def cmd_demo(a: argparse.Namespace) -> int:
    from .demo import run_demo
    return run_demo(quick=a.quick, plots=a.plots)


def cmd_serve(a: argparse.Namespace) -> int:
    from .serve import serve
    serve(a.host, a.port, open_browser=not a.no_browser)
    return 0


COMMANDS = {"diff": cmd_diff, "grad": cmd_grad, "hessian": cmd_hessian,
            "minimize": cmd_minimize, "maximize": cmd_maximize, "compare": cmd_compare,
            "plot": cmd_plot, "functions": cmd_functions, "demo": cmd_demo, "fit": cmd_fit,
            "predict": cmd_predict, "evaluate": cmd_evaluate, "serve": cmd_serve}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    import warnings

    def one_line_warning(message, category, filename, lineno, file=None, line=None):
        print(_one_line(f"gdlab: warning: {message}"), file=sys.stderr)

    warnings.showwarning = one_line_warning
    parser = build_parser()
    try:
        args = parser.parse_args(_formula_last(parser, _fix_negative_values(argv)))
        if not args.command:
            parser.print_help()
            return EXIT_BAD_INPUT
        return COMMANDS[args.command](args)
    except _Usage as e:
        print(_one_line(str(e)), file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("gdlab: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:  # every failure ends as one line: bad input is the usual cause
        if os.environ.get("GDLAB_DEBUG"):
            raise
        print(_one_line(f"gdlab: error: {_describe(e)}"), file=sys.stderr)
        # a Dask cluster that failed during the run (a worker kept dying): the run failed
        return EXIT_FAILED if getattr(e, "run_failed", False) else EXIT_BAD_INPUT


def _describe(e: BaseException) -> str:
    from .errors import GdlabError
    if isinstance(e, GdlabError):
        return str(e)
    if isinstance(e, OSError) and e.strerror and e.filename:
        return f"{e.strerror}: {e.filename}"
    if isinstance(e, (MemoryError, RecursionError)):
        return "the input is too large or too deeply nested"
    return f"{type(e).__name__}: {e}"


def _one_line(text: str, limit: int = 400) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


if __name__ == "__main__":
    sys.exit(main())
