"""``minimize`` and ``maximize``: gradient descent and ascent on a formula or a Python function.

Both build an objective (:class:`~gdlab.calculus.Function` for text, names of test
functions and sympy expressions; :class:`~gdlab.calculus.CallableObjective` for Python
callables), the starting points, the update rule and the schedule, run the shared
:func:`gdlab.loop.descend`, and turn its per-start status into a :class:`~gdlab.result.Result`
with reasons written for people.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from . import checks
from .calculus import CallableObjective, Function, numeric_hessian
from .errors import ParameterError
from .loop import StopRules, descend
from .optim.linesearch import Armijo
from .optim.rules import Rule, make_rule
from .optim.schedules import make_schedule
from .result import History, Result, Status

#: at most this many floats of ``x`` are kept in a run's history (10,000 starts keep fewer steps)
_HISTORY_FLOATS = 10_000_000


def minimize(f: Any, x0: Any = None, optimizer: str | Rule | None = None, lr: float | None = None,
             eps: float | None = 1e-6, max_iter: int | None = 10_000,
             restarts: int | None = None, bounds: Sequence[tuple[float, float]] | None = None,
             seed: int | None = None, *, grad: Callable | None = None,
             variables: Sequence[str] | None = None, schedule: Any = None,
             ftol: float | None = None, time_limit: float | None = None,
             line_search: bool | None = None, history_limit: int = 100_000,
             vectorized: bool = False, maximize: bool = False, **optimizer_options: Any) -> Result:
    """Minimize ``f`` by gradient descent.

    Parameters
    ----------
    f : str, Function, sympy expression or callable
        Formula text (``"x**2 + 2*x + 3"``), a test function's name (``"rosenbrock"``), a
        :class:`~gdlab.calculus.Function`, or a Python function of a vector ``x`` (then
        ``x0`` or ``bounds`` says the dimension, ``grad=`` may give the gradient, else
        central differences are used).
    x0 : array_like, optional
        Start: shape ``(d,)``, or ``(n_starts, d)`` to run many starts at once. A number
        for one variable. Default: the origin (when ``restarts`` is not given).
    optimizer : str or Rule, optional
        ``"sgd"`` (plain gradient descent, default), ``"momentum"``, ``"nesterov"``,
        ``"adam"``, ``"adamw"``, ``"rmsprop"``, ``"adagrad"``, or a rule object from
        :mod:`gdlab.optim`. ``optimizer_options`` are its keyword arguments, with PyTorch's
        names (``momentum=0.9``, ``betas=(0.9, 0.99)``, ``weight_decay``, ...).
    lr : float, optional
        Learning rate. When neither ``lr`` nor an optimizer other than plain ``sgd`` is
        given, each step's size is chosen by a backtracking (Armijo) line search with
        Barzilai–Borwein trial steps. Otherwise PyTorch's default rate of the optimizer.
    eps : float or None
        Stop when ``|grad| < eps`` (one variable) or ``norm(grad) < eps`` (several).
    max_iter : int or None
        At most this many updates.
    restarts : int, optional
        Draw this many starts uniformly in ``bounds`` (default: a test function's domain)
        and run them all at once (with ``x0``'s rows, if given).
    bounds : sequence of (low, high), optional
        One pair per variable: where restarts are drawn.
    seed : int, optional
        Seed of the random starts.
    schedule : str, dict or Schedule, optional
        Learning-rate schedule (``"step"``, ``"exponential"``, ``"inverse_time"``,
        ``"cosine"``, ``"warmup"``, or ``{"name": "step", "step_size": 50, "gamma": 0.5}``).
    ftol : float, optional
        Also stop when ``|f_k - f_{k-1}| <= ftol * max(1, |f_k|)``.
    time_limit : float, optional
        Seconds; stop when spent.
    line_search : bool, optional
        Force the line search on or off.
    vectorized : bool
        A callable ``f`` (and ``grad``) takes ``(n, d)`` points at once.

    Returns
    -------
    Result
        ``x``, ``fun``, ``grad``, ``nit``, ``converged``, ``reason``, ``history``; and for
        several starts ``xs``, ``funs``, ``reasons``, ... with ``best`` the best start.
    """
    objective, fn, names = _objective(f, x0, bounds, grad, variables, vectorized)
    d = len(names)
    X0 = _starts(x0, d, restarts, bounds, fn, seed)
    n = X0.shape[0]

    if line_search is None:
        plain = optimizer is None or (isinstance(optimizer, str)
                                      and optimizer.lower() in ("sgd", "gd")
                                      and not any(v for k, v in optimizer_options.items()
                                                  if k in ("momentum", "nesterov")))
        line_search = lr is None and plain
    if line_search:
        if lr is not None:
            raise ParameterError("give either lr or line_search=True, not both")
        if optimizer not in (None, "sgd", "gd"):
            raise ParameterError("the line search moves along the gradient (plain gradient "
                                 "descent); give an lr for other optimizers")
        if schedule is not None:
            raise ParameterError("a schedule needs a learning rate; the line search chooses "
                                 "its own steps")
        rule: Any = Armijo()
        opt_info: dict[str, Any] = {"name": "sgd", "line_search": "armijo"}
    else:
        rule = make_rule(optimizer, lr=lr, maximize=maximize, **optimizer_options)
        opt_info = rule.config()
    sched = make_schedule(schedule)
    if not line_search and schedule is not None:
        opt_info["schedule"] = sched.config()

    stop = StopRules(eps=checks.number("eps", eps, low=0, none=True),
                     max_iter=checks.count("max_iter", max_iter, none=True),
                     ftol=checks.number("ftol", ftol, low=0, none=True),
                     time_limit=checks.number("time_limit", time_limit, low=0, none=True))
    limit = max(2, min(int(history_limit), _HISTORY_FLOATS // max(1, n * d)))
    out = descend(objective, X0, rule, schedule=sched, stop=stop, maximize=maximize,
                  history=History(limit=limit))

    sign = -1.0 if maximize else 1.0
    funs = out.fun
    score = np.where(np.isfinite(funs), sign * funs, np.inf)
    best = int(np.argmin(score))
    reasons, lr_hint = [], None
    for i in range(n):
        text, hint = _reason(out.status[i], out.grad_norm[i], stop, d, out.diverged_step[i],
                             funs[i], X0[i], rule, line_search, fn, objective, out.stop_detail)
        reasons.append(text)
        if i == best:
            lr_hint = hint
    converged = np.array([s.success for s in out.status])
    history = out.history if n == 1 else out.history.run(best, int(out.nit[best]))
    res = Result(
        x=out.x[best].copy(), fun=float(funs[best]), grad=out.grad[best].copy(),
        nit=int(out.nit[best]), converged=bool(converged[best]), reason=reasons[best],
        history=history, variables=tuple(names), maximize=maximize, status=out.status[best],
        lr_hint=lr_hint, elapsed=out.elapsed, optimizer=opt_info, best=best,
        diverged_step=int(out.diverged_step[best]) if out.diverged_step[best] >= 0 else None)
    if n > 1:
        res.diverged_steps = out.diverged_step.copy()
        res.xs, res.funs, res.grads = out.x, funs, out.grad
        res.nits, res.reasons, res.statuses = out.nit, reasons, list(out.status)
        res.converged_all = converged
        res.all_history = out.history
    return res


def maximize(f: Any, x0: Any = None, optimizer: str | Rule | None = None, lr: float | None = None,
             eps: float | None = 1e-6, max_iter: int | None = 10_000,
             restarts: int | None = None, bounds: Sequence[tuple[float, float]] | None = None,
             seed: int | None = None, **kwargs: Any) -> Result:
    """Maximize ``f`` by gradient ascent, ``x = x + lr * grad``: the same as :func:`minimize`
    with PyTorch's ``maximize=True`` (the rule negates the gradient); "best" means largest."""
    return minimize(f, x0, optimizer, lr, eps, max_iter, restarts, bounds, seed,
                    maximize=True, **kwargs)


# ---- building blocks ------------------------------------------------------------------------

def _objective(f: Any, x0: Any, bounds: Any, grad: Any, variables: Any,
               vectorized: bool) -> tuple[Any, Function | None, tuple[str, ...]]:
    if isinstance(f, (str, Function)) or _is_sympy(f):
        if grad is not None:
            raise ParameterError("grad= is for Python callables; a formula's gradient is exact")
        fn = f if isinstance(f, Function) and variables is None else Function(f, variables)
        if fn.n_vars == 0:
            raise ParameterError(f"the formula {fn.text!r} has no variables to move")
        return fn, fn, fn.variables
    if callable(f):
        if x0 is not None:
            d = np.atleast_1d(np.asarray(x0, dtype=float)).shape[-1]
        elif bounds is not None:
            d = len(bounds)
        else:
            raise ParameterError("for a Python function, give x0 (or bounds) so gdlab knows how "
                                 "many variables it takes")
        names = tuple(variables) if variables else \
            tuple(f"x{i + 1}" for i in range(d)) if d > 1 else ("x",)
        if len(names) != d:
            raise ParameterError(f"{len(names)} variable names for {d} variables")
        obj = CallableObjective(f, d, grad=grad, vectorized=vectorized,
                                scalar_arg=x0 is not None and np.ndim(x0) == 0)
        return obj, None, names
    raise ParameterError(f"f must be formula text, a test function's name, a Function or a "
                         f"callable, got {type(f).__name__}")


def _is_sympy(f: Any) -> bool:
    mod = type(f).__module__ or ""
    return mod.startswith("sympy")


def _starts(x0: Any, d: int, restarts: Any, bounds: Any, fn: Function | None,
            seed: Any) -> np.ndarray:
    rows = []
    if x0 is not None:
        try:
            a = np.asarray(x0, dtype=float)
        except (TypeError, ValueError):
            raise ParameterError(f"x0 must be numbers, got {x0!r}") from None
        if a.ndim == 0:
            a = a.reshape(1, 1)
        elif a.ndim == 1:
            a = a.reshape(1, -1) if not (d == 1 and a.size > 1) else a.reshape(-1, 1)
        if a.ndim != 2 or a.shape[1] != d:
            raise ParameterError(f"x0 must have {d} value(s) per start (variables "
                                 f"{', '.join(fn.variables) if fn else d}), got shape "
                                 f"{np.shape(x0)}")
        if not np.all(np.isfinite(a)):
            raise ParameterError("x0 must be finite numbers")
        rows.append(a)
    if restarts is not None:
        k = checks.count("restarts", restarts)
        if bounds is None and fn is not None and fn.test_function is not None:
            bounds = fn.test_function.bounds
        if bounds is None:
            raise ParameterError("restarts need bounds: one (low, high) pair per variable")
        b = _bounds(bounds, d)
        rng = np.random.default_rng(seed)
        rows.append(rng.uniform(b[:, 0], b[:, 1], size=(k, d)))
    if not rows:
        return np.zeros((1, d))
    starts = np.concatenate(rows).astype(float)
    if len(starts) == 0:
        raise ParameterError("no starting points: give x0 with at least one row or restarts >= 1")
    return starts


def _bounds(bounds: Any, d: int) -> np.ndarray:
    try:
        b = np.asarray(bounds, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError("bounds must be (low, high) pairs of numbers") from None
    if b.shape == (2,) and d == 1:
        b = b.reshape(1, 2)
    if b.shape != (d, 2):
        raise ParameterError(f"bounds need one (low, high) pair per variable ({d}), got shape "
                             f"{b.shape}")
    if not np.all(np.isfinite(b)) or np.any(b[:, 0] > b[:, 1]):
        raise ParameterError("each bound must be finite with low <= high")
    return b


def curvature(fn: Function | None, objective: Any, x: np.ndarray) -> float | None:
    """The largest |eigenvalue| of the Hessian at ``x``: symbolic for formulas, finite
    differences for callables of up to 50 variables."""
    if fn is not None:
        return fn.max_curvature(x)
    if x.size > 50:
        return None
    try:
        with np.errstate(all="ignore"):
            H = numeric_hessian(lambda p: float(objective.value(p[None, :])[0]), x)
        L = float(np.max(np.abs(np.linalg.eigvalsh((H + H.T) / 2))))
    except Exception:  # only a hint: a user's function may fail anywhere near the start
        return None
    return L if math.isfinite(L) and L > 0 else None


def _below(value: float, bound: float) -> str:
    """``value`` with enough digits that the printed number is visibly below ``bound``."""
    for digits in (3, 6, 10, 17):
        text = f"{value:.{digits}g}"
        if float(text) < bound:
            return text
    return repr(value)


def _reason(status: str, gnorm: float, stop: StopRules, d: int, div_step: int, fun: float,
            x0: np.ndarray, rule: Any, line_search: bool, fn: Function | None, objective: Any,
            detail: str) -> tuple[str, float | None]:
    g = "|grad|" if d == 1 else "norm(grad)"
    if status == Status.CONVERGED:
        assert stop.eps is not None  # only the eps test converges
        return f"converged: {g} = {_below(gnorm, stop.eps)} < eps = {stop.eps:g}", None
    if status == Status.FTOL:
        return f"converged: f changed by less than ftol = {stop.ftol:g} (relative)", None
    if status == Status.MAX_ITER:
        tail = f" ({g} = {gnorm:.3g} is still above eps = {stop.eps:g})" if stop.eps else ""
        return f"stopped: reached max_iter = {stop.max_iter} iterations{tail}", None
    if status == Status.TIME_LIMIT:
        return f"stopped: the time limit of {stop.time_limit:g} s was reached", None
    if status == Status.STALLED:
        return (f"stopped: no step along the gradient lowers f any more ({g} = {gnorm:.3g}): "
                f"the limit of floating-point precision, or a kink where f is not "
                f"differentiable"), None
    if status == Status.NO_GRADIENT:
        return ("stopped: the gradient is not defined at this point (a kink, or a point "
                "where the derivative's formula divides by zero)"), None
    if status == Status.STOPPED:
        return f"stopped: {detail or 'stopped by a callback'}", None
    if status == Status.END_OF_DATA:
        return "stopped: the data ran out", None
    if status == Status.DIVERGED:
        what = f"f = {fun:.3g}" if math.isfinite(fun) else "the values became infinite or NaN"
        msg = f"diverged at step {div_step}: {what}"
        lr = getattr(rule, "lr", float("nan"))
        L = curvature(fn, objective, x0)
        hint = None
        if L is not None and not line_search and lr > 2 / L:
            hint = 1.0 / L
            msg += (f"; the learning rate {lr:g} is too large: the curvature at the start is "
                    f"L = {L:.3g}, and gradient descent needs lr < 2/L = {2 / L:.3g} "
                    f"(try lr={hint:.3g})")
        elif not line_search and math.isfinite(lr):
            hint = lr / 10
            msg += (f"; the steps left the region where f is finite: try a smaller learning "
                    f"rate, e.g. lr={hint:g}")
        return msg, hint
    return status, None
