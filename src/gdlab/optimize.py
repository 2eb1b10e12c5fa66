"""``minimize`` and ``maximize``: gradient descent and ascent on a formula or a Python function.

Both build an objective (:class:`~gdlab.calculus.Function` for text, names of test
functions and sympy expressions; :class:`~gdlab.calculus.CallableObjective` for Python
callables), the starting points, the update rule and the schedule, run the shared
:func:`gdlab.loop.descend`, and turn its per-start status into a :class:`~gdlab.result.Result`
with reasons written for people.
"""

from __future__ import annotations

import inspect
import math
from typing import Any, Callable, Sequence

import numpy as np

from . import checks
from .calculus import CallableObjective, Function, numeric_hessian
from .errors import ParameterError
from .loop import StopRules, descend
from .optim.bounds import Projected
from .optim.linesearch import Armijo
from .optim.projected_lbfgs import ProjectedLBFGS
from .optim.rules import SGD, Rule, check_options, guess_names, make_rule
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
             line_search: bool | None = None, callback: Callable | None = None,
             objective_limit: float | None = 1e20, history_limit: int = 100_000,
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
        Default (with no ``lr``): L-BFGS, see ``lr``. ``"sgd"`` (plain gradient descent),
        ``"momentum"``, ``"nesterov"``, ``"adam"``, ``"adamw"``, ``"rmsprop"``,
        ``"adagrad"``, every other optimizer of ``torch.optim`` by its lower-case name
        (``"nadam"``, ``"lbfgs"``, ...), or a rule object from :mod:`gdlab.optim`.
        ``optimizer_options`` are its keyword arguments, with PyTorch's names
        (``momentum=0.9``, ``betas=(0.9, 0.99)``, ``weight_decay``, ...); unknown ones are
        refused.
    lr : float, optional
        Learning rate. With neither ``lr`` nor ``optimizer`` (nor a schedule or options),
        the default method runs: L-BFGS quasi-Newton steps with a projected backtracking
        line search, vectorized over the starts (:mod:`gdlab.optim.projected_lbfgs`),
        stopping on ``eps`` or, where f stops changing at floating-point precision, on a
        relative change of f below 1e-12. ``optimizer="sgd"`` without ``lr``: the lecture's
        gradient descent with a backtracking (Armijo) line search and Barzilai–Borwein
        trial steps. Other optimizers without ``lr``: PyTorch's default rate.
    eps : float or None
        Stop when ``|grad| < eps`` (one variable) or ``norm(grad) < eps`` (several); with
        bounds, the projected gradient.
    max_iter : int or None
        At most this many updates.
    restarts : int, optional
        Draw this many starts uniformly in ``bounds`` (default: a test function's domain)
        and run them all at once (with ``x0``'s rows, if given).
    bounds : sequence of (low, high), optional
        One pair per variable (``None`` or ``±inf`` for a free side). The descent stays in
        the box: every update is projected onto it, for every optimizer and for the line
        search, and ``eps`` tests the projected gradient (as scipy's L-BFGS-B); ``x0`` is
        moved into the box first. Restarts are drawn in it. Restarts on a test function
        without ``bounds`` use its domain, which then bounds the descent too.
    seed : int, optional
        Seed of the random starts.
    schedule : str, dict or Schedule, optional
        Learning-rate schedule (``"step"``, ``"exponential"``, ``"inverse_time"``,
        ``"cosine"``, ``"warmup"``, or ``{"name": "step", "step_size": 50, "gamma": 0.5}``).
    ftol : float, optional
        Also stop when ``|f_k - f_{k-1}| <= ftol * max(1, |f_k|)``. Default: none, except
        ``1e-10`` for the default method (L-BFGS without ``lr``; scipy's L-BFGS-B: 2.2e-9).
    time_limit : float, optional
        Seconds; stop when spent.
    line_search : bool, optional
        Force the line search on or off.
    callback : callable, optional
        Called after every evaluation, as scipy calls it: ``callback(intermediate_result)``
        when its one parameter is named ``intermediate_result`` (an object with ``x``,
        ``fun``, ``jac``, ``nit``), else ``callback(x)``. Raising ``StopIteration`` stops
        the run (status ``stopped``).
    objective_limit : float or None
        A value below ``-objective_limit`` (above ``+objective_limit`` when maximizing)
        stops the run as *unbounded*, as MATLAB's ``ObjectiveLimit``; ``None`` turns the
        test off.
    vectorized : bool
        A callable ``f`` (and ``grad``) takes ``(n, d)`` points at once.

    Returns
    -------
    Result
        ``x``, ``fun``, ``grad``, ``nit``, ``converged``, ``reason``, ``status``,
        ``history``, and scipy's names ``success``, ``message``, ``jac``, ``nfev``,
        ``njev`` (``result["x"]`` works too); for several starts ``xs``, ``funs``,
        ``reasons``, ... with ``best`` the best start.
    """
    _refuse_unknown_keywords(optimizer, optimizer_options)
    objective, fn, names = _objective(f, x0, bounds, grad, variables, vectorized)
    d = len(names)
    box = _box(bounds, restarts, fn, d)
    X0 = _starts(x0, d, restarts, box, fn, seed)
    stepper, opt_info, searching = _stepper(optimizer, lr, schedule, line_search, maximize,
                                            optimizer_options, box)
    if ftol is None and isinstance(stepper, ProjectedLBFGS):
        ftol = QUASI_NEWTON_FTOL
    stop = StopRules(eps=checks.number("eps", eps, low=0, none=True),
                     max_iter=checks.count("max_iter", max_iter, none=True),
                     ftol=checks.number("ftol", ftol, low=0, none=True),
                     time_limit=checks.number("time_limit", time_limit, low=0, none=True),
                     objective_limit=checks.number("objective_limit", objective_limit, low=0,
                                                   low_open=True, none=True),
                     undefined=True)
    n = X0.shape[0]
    limit = max(2, min(int(history_limit), _HISTORY_FLOATS // max(1, n * d)))
    callbacks = () if callback is None else (_ScipyCallback(callback, n),)
    out = descend(objective, X0, stepper, schedule=make_schedule(schedule), stop=stop,
                  maximize=maximize, history=History(limit=limit), callbacks=callbacks)
    return _result(out, X0, names, fn, objective, stop, stepper, searching, opt_info,
                   maximize)


def _result(out: Any, X0: np.ndarray, names: tuple[str, ...], fn: Function | None,
            objective: Any, stop: StopRules, stepper: Any, searching: bool,
            opt_info: dict[str, Any], maximize: bool) -> Result:
    """The loop's output as a :class:`Result`: the best start, the reasons in words."""
    n, d = X0.shape
    sign = -1.0 if maximize else 1.0
    funs = out.fun
    statuses = _flat(list(out.status), out.x, stop, fn, objective)
    score = np.where(np.isfinite(funs) & [not s.failed for s in statuses], sign * funs, np.inf)
    if not np.isfinite(score).any():
        score = np.where(np.isfinite(funs), sign * funs, np.inf)
    best = int(np.argmin(score))
    why = _Why(stop, d, stepper, searching, fn, objective, out.stop_detail, maximize,
               box=np.array(opt_info["bounds"]) if "bounds" in opt_info else None)
    reasons, lr_hint = [], None
    for i in range(n):
        text, hint = why.reason(statuses[i], out, i, X0[i])
        reasons.append(text)
        if i == best:
            lr_hint = hint
    converged = np.array([s.success for s in statuses])
    history = out.history if n == 1 else out.history.run(best, int(out.nit[best]))
    res = Result(
        x=out.x[best].copy(), fun=float(funs[best]), grad=out.grad[best].copy(),
        nit=int(out.nit[best]), converged=bool(converged[best]), reason=reasons[best],
        history=history, variables=tuple(names), maximize=maximize, status=statuses[best],
        lr_hint=lr_hint, elapsed=out.elapsed, optimizer=opt_info, best=best,
        diverged_step=int(out.diverged_step[best]) if out.diverged_step[best] >= 0 else None,
        nfev=int(out.nfev[best]), njev=int(out.njev[best]), x0=X0[best].copy())
    if n > 1:
        res.diverged_steps = out.diverged_step.copy()
        res.xs, res.funs, res.grads = out.x, funs, out.grad
        res.nits, res.reasons, res.statuses = out.nit, reasons, statuses
        res.converged_all = converged
        res.all_history = out.history
    return res


def maximize(f: Any, x0: Any = None, optimizer: str | Rule | None = None, lr: float | None = None,
             eps: float | None = 1e-6, max_iter: int | None = 10_000,
             restarts: int | None = None, bounds: Sequence[tuple[float, float]] | None = None,
             seed: int | None = None, **kwargs: Any) -> Result:
    """Maximize ``f`` by gradient ascent, ``x = x + lr * grad``: the same as :func:`minimize`
    with PyTorch's ``maximize=True`` (the rule negates the gradient; an optimizer object
    built with the default ``maximize=False`` is used as its ascending copy); "best" means
    largest."""
    if "maximize" in kwargs:
        raise ParameterError("maximize() always maximizes; give maximize= to minimize()")
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


#: the default method's tolerance on f (relative): where the gradient test cannot be met
#: because f stopped changing at floating-point precision (f ~ 3: changes of ~1e-15), or
#: a start crawls along a plateau (f changes by less than 1e-10 per step), the run ends as
#: converged. scipy's L-BFGS-B has ftol 2.2e-9, which stops Rosenbrock from (-1.2, 1) while
#: its gradient is still 2.6e-5; this one is 22x smaller. On the 136 functions of
#: benchmarks/bench_minimize_suite.py (RESULTS.md section 10): 1e-12 found 114 in 12.5 s,
#: 1e-11 114 in 12.1 s, 1e-10 113 in 10.6 s, 1e-9 113 in 10.1 s (scipy: 109 in ~13 s)
QUASI_NEWTON_FTOL = 1e-10

#: at most this many start values (starts × variables) run at once: 80 MB per array
MAX_START_VALUES = 10_000_000


def _box(bounds: Any, restarts: Any, fn: Function | None, d: int) -> np.ndarray | None:
    """The ``(d, 2)`` box of the run: ``bounds``, or a test function's domain when restarts
    are drawn in it; ``None`` for an unbounded run."""
    if bounds is None and restarts is not None and fn is not None and \
            fn.test_function is not None:
        bounds = fn.test_function.bounds
    if bounds is None:
        return None
    try:
        b = np.array([[-np.inf if lo is None else lo, np.inf if hi is None else hi]
                      for lo, hi in (np.reshape(bounds, (-1, 2)) if np.ndim(bounds) == 1
                                     else bounds)], dtype=float)
    except (TypeError, ValueError):
        raise ParameterError("bounds must be (low, high) pairs of numbers, one per variable"
                             ) from None
    if b.shape != (d, 2):
        raise ParameterError(f"bounds need one (low, high) pair per variable ({d}), got "
                             f"{len(b)}")
    if np.isnan(b).any() or np.any(b[:, 0] > b[:, 1]):
        raise ParameterError("each bound must be a pair of numbers with low <= high")
    return b


def _starts(x0: Any, d: int, restarts: Any, box: np.ndarray | None, fn: Function | None,
            seed: Any) -> np.ndarray:
    """The ``(n, d)`` starting points: ``x0``'s rows, then ``restarts`` drawn in the box."""
    rows = []
    if x0 is not None:
        a = _x0_rows(x0, d, fn)
        if box is not None:  # as scipy's L-BFGS-B: a start outside the box moves into it
            a = np.clip(a, box[:, 0], box[:, 1])
        rows.append(a)
    if restarts is not None:
        k = checks.count("restarts", restarts, maximum=MAX_START_VALUES // d)
        if box is None:
            raise ParameterError("restarts need bounds: one (low, high) pair per variable")
        if not np.all(np.isfinite(box)):
            raise ParameterError("restarts need finite bounds to draw the starts in")
        rng = np.random.default_rng(seed)
        rows.append(rng.uniform(box[:, 0], box[:, 1], size=(k, d)))
    if not rows:
        start = np.zeros((1, d))
        return start if box is None else np.clip(start, box[:, 0], box[:, 1])
    starts = np.concatenate(rows).astype(float)
    if len(starts) == 0:
        raise ParameterError("no starting points: give x0 with at least one row or restarts >= 1")
    if starts.size > MAX_START_VALUES:
        raise ParameterError(f"{len(starts):,} starts of {d} variables are too many to run at "
                             f"once: at most {MAX_START_VALUES:,} values (starts x variables)")
    return starts


def _x0_rows(x0: Any, d: int, fn: Function | None) -> np.ndarray:
    """``x0`` as an ``(n, d)`` array of finite numbers."""
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
    return a


def _refuse_unknown_keywords(optimizer: Any, options: dict[str, Any]) -> None:
    """Without ``optimizer=``, a keyword that is no option of plain gradient descent is a
    mistyped or unknown argument of ``minimize`` itself: say so, with the nearest name."""
    if optimizer is not None:
        return  # make_rule checks them against the named optimizer's options
    sgd = set(inspect.signature(SGD).parameters) - {"self"}
    unknown = sorted(set(options) - sgd)
    if not unknown:
        return
    own = set(inspect.signature(minimize).parameters) - {"optimizer_options"}
    raise ParameterError(f"minimize() has no parameter {', '.join(unknown)}"
                         f"{guess_names(unknown, own | sgd)}, and plain gradient descent no "
                         f"such option (another optimizer's options go with optimizer=..., "
                         f"e.g. optimizer='adam', betas=(0.9, 0.99))")


def _stepper(optimizer: Any, lr: Any, schedule: Any, line_search: Any, maximize: bool,
             options: dict[str, Any], box: np.ndarray | None) -> tuple[Any, dict, bool]:
    """The stepper of a run, its description, and whether it chooses its own steps."""
    if optimizer is None and lr is None and line_search is None and not options \
            and schedule is None:
        # the default: quasi-Newton (L-BFGS) steps, projected onto the box when bounded
        qn = ProjectedLBFGS(None if box is None else (box[:, 0], box[:, 1]))
        qn_info = qn.config()
        if box is not None:
            qn_info["bounds"] = box.tolist()
        return qn, qn_info, True
    if line_search is None:
        plain = optimizer is None or (isinstance(optimizer, str) and
                                      optimizer.strip().lower() in ("sgd", "gd"))
        line_search = lr is None and plain and not options
    if line_search:
        if lr is not None:
            raise ParameterError("give either lr or line_search=True, not both")
        if optimizer not in (None, "sgd", "gd"):
            raise ParameterError("the line search moves along the gradient (plain gradient "
                                 "descent); give an lr for other optimizers")
        if schedule is not None:
            raise ParameterError("a schedule needs a learning rate; the line search chooses "
                                 "its own steps")
        if options:
            check_options("sgd", SGD, options)
            raise ParameterError(f"{', '.join(sorted(options))} need a learning rate (lr=...): "
                                 f"without lr the line search chooses the steps")
        stepper: Any = Armijo(project=None if box is None else
                              (lambda p: np.clip(p, box[:, 0], box[:, 1])))
        info: dict[str, Any] = {"name": "sgd", "line_search": "armijo"}
    else:
        stepper = make_rule(optimizer, lr=lr, maximize=maximize, **options)
        info = stepper.config()
        if schedule is not None:
            info["schedule"] = make_schedule(schedule).config()
    if box is not None:
        stepper = Projected(stepper, box[:, 0], box[:, 1])
        info["bounds"] = box.tolist()
    return stepper, info, bool(line_search)


class _ScipyCallback:
    """A scipy-style ``callback`` as a loop callback (``StopIteration`` stops the run)."""

    def __init__(self, callback: Callable, n: int):
        if not callable(callback):
            raise ParameterError(f"callback must be callable, got {callback!r}")
        self.callback = callback
        self.n = n
        try:
            params = list(inspect.signature(callback).parameters)
        except (TypeError, ValueError):
            params = []
        self.wants_result = params == ["intermediate_result"]

    def __call__(self, info: Any) -> str | None:
        one = self.n == 1
        x = info.x[0].copy() if one else info.x.copy()
        try:
            if self.wants_result:
                fun = float(info.fun[0]) if one else info.fun.copy()
                jac = info.grad[0].copy() if one else info.grad.copy()
                self.callback(IntermediateResult(x=x, fun=fun, jac=jac, nit=info.step))
            else:
                self.callback(x)
        except StopIteration:
            return "the callback raised StopIteration"
        return None


class IntermediateResult(dict):
    """What a scipy-style callback receives: ``x``, ``fun``, ``jac``, ``nit`` as keys and
    as attributes (as scipy's ``OptimizeResult``)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _flat(statuses: list[Status], X: np.ndarray, stop: StopRules, fn: Function | None,
          objective: Any) -> list[Status]:
    """``converged`` rows where the curvature is below ``eps`` too become ``flat``: the
    gradient test passed on a plateau, which need not be a minimum (``tanh(x)**2`` far
    out)."""
    rows = [i for i, s in enumerate(statuses) if s == Status.CONVERGED]
    if not rows or stop.eps is None:
        return statuses
    if fn is None:
        rows = rows[:1] if len(rows) == 1 else []  # a callable: numeric, one start only
    out = list(statuses)
    if fn is not None and rows:
        # central differences of the compiled gradient at two step sizes, for all rows at
        # once; where the two agree the estimate is trusted, elsewhere the exact Hessian
        # (whose symbolic building takes seconds for a long formula) decides
        L1 = _gradient_curvature(fn, X[rows], 1e-4)
        L2 = _gradient_curvature(fn, X[rows], 2e-4)
        agree = np.abs(L1 - L2) <= 0.01 * np.maximum(L1, L2) + 1e-3 * stop.eps
        screen = np.where(agree, L1, np.nan)
    else:
        screen = np.full(len(rows), np.nan)
    for k, i in enumerate(rows):
        L = float(screen[k]) if np.isfinite(screen[k]) else curvature(fn, objective, X[i])
        if L is not None and L < stop.eps:
            out[i] = Status.FLAT
    return out


def _gradient_curvature(fn: Function, X: np.ndarray, rel: float) -> np.ndarray:
    """For every row of ``X``, the largest |eigenvalue| of the Hessian by central
    differences of the compiled gradient with steps ``rel * max(1, |x|)`` (``nan`` where
    not finite): 2d gradient evaluations per row, for many rows at once (in pieces of at
    most about a million points' coordinates)."""
    n, d = X.shape
    rows = max(1, 1_000_000 // (2 * d * d))
    if n > rows:
        return np.concatenate([_gradient_curvature(fn, X[i:i + rows], rel)
                               for i in range(0, n, rows)])
    h = rel * np.maximum(1.0, np.abs(X))                       # (n, d)
    steps = np.zeros((2, d, n, d))
    for j in range(d):
        steps[0, j, :, j] = h[:, j]
        steps[1, j, :, j] = -h[:, j]
    with np.errstate(all="ignore"):
        _, g = fn.value_and_grad((X[None, None] + steps).reshape(-1, d))
        g = np.asarray(g, dtype=float).reshape(2, d, n, d)
        H = np.moveaxis((g[0] - g[1]) / (2 * h.T[:, :, None]), 0, 1)  # (n, d, d): H[:, j]
        H = (H + np.swapaxes(H, 1, 2)) / 2
        ok = np.isfinite(H).all(axis=(1, 2))
        L = np.full(n, np.nan)
        if ok.any():
            L[ok] = np.abs(np.linalg.eigvalsh(H[ok])).max(axis=1)
    return L


def curvature(fn: Function | None, objective: Any, x: np.ndarray) -> float | None:
    """The largest |eigenvalue| of the Hessian at ``x`` (0 included): symbolic for formulas,
    finite differences for callables of up to 50 variables; ``None`` where it is not
    finite or cannot be computed."""
    x = np.asarray(x, dtype=float).reshape(-1)
    if fn is None and x.size > 50:
        return None
    try:
        with np.errstate(all="ignore"):
            if fn is not None:
                H = np.atleast_2d(fn.hessian_at(x))
            else:
                H = numeric_hessian(lambda p: float(objective.value(p[None, :])[0]), x)
            L = float(np.max(np.abs(np.linalg.eigvalsh((H + H.T) / 2))))
    except Exception:  # noqa: BLE001 - only a hint: f may fail anywhere near the point
        return None
    return L if math.isfinite(L) else None


def _below(value: float, bound: float) -> str:
    """``value`` with enough digits that the printed number is visibly below ``bound``."""
    for digits in (3, 6, 10, 17):
        text = f"{value:.{digits}g}"
        if float(text) < bound:
            return text
    return repr(value)


def _point(names: Sequence[str], x: np.ndarray) -> str:
    return ", ".join(f"{n} = {v:.6g}" for n, v in zip(names, x))


class _Why:
    """The reasons for people: what happened to a start and what to try."""

    def __init__(self, stop: StopRules, d: int, stepper: Any, searching: bool,
                 fn: Function | None, objective: Any, detail: str, maximize: bool,
                 box: np.ndarray | None = None):
        self.stop, self.d, self.stepper, self.searching = stop, d, stepper, searching
        self.fn, self.objective, self.maximize = fn, objective, maximize
        self.detail = detail or "stopped by a callback"
        self.names = fn.variables if fn is not None else tuple(f"x{i + 1}" for i in range(d))
        self.g = "|grad|" if d == 1 else "norm(grad)"
        self.box = box

    def reason(self, status: Status, out: Any, i: int,
               x0: np.ndarray) -> tuple[str, float | None]:
        """``(text, suggested lr or None)`` for start ``i``."""
        fun, k, x = float(out.fun[i]), int(out.nit[i]), out.x[i]
        if status == Status.UNBOUNDED:
            return self._unbounded(fun, k, x), None
        if status == Status.UNDEFINED:
            return self._undefined(k, x)
        if status == Status.DIVERGED:
            return self._diverged(fun, int(out.diverged_step[i]), x0, x)
        return self._stopped(status, float(out.grad_norm[i]), fun, x), None

    def _stopped(self, status: Status, gnorm: float, fun: float, x: np.ndarray) -> str:
        """The reasons of runs that did not fail."""
        stop, g = self.stop, self.g
        if status == Status.CONVERGED:
            assert stop.eps is not None  # only the eps test converges
            if self.box is not None and np.any((x == self.box[:, 0]) | (x == self.box[:, 1])):
                # the eps test compares the projected gradient there (optim/bounds.py)
                g = f"at a bound, the projected gradient's {'size' if self.d == 1 else 'norm'}"
            return f"converged: {g} = {_below(gnorm, stop.eps)} < eps = {stop.eps:g}"
        if status == Status.FTOL:
            return f"converged: f changed by less than ftol = {stop.ftol:g} (relative)"
        if status == Status.FLAT:
            return (f"stopped in a flat region: {g} = {gnorm:.3g} and the curvature are both "
                    f"below eps = {stop.eps:g} at {_point(self.names, x)}, so f = {fun:.6g} "
                    f"may be a plateau rather than a "
                    f"{'maximum' if self.maximize else 'minimum'}: try another start")
        if status == Status.MAX_ITER:
            tail = f" ({g} = {gnorm:.3g} is still above eps = {stop.eps:g})" if stop.eps else ""
            return f"stopped: reached max_iter = {stop.max_iter} iterations{tail}"
        if status == Status.STALLED:
            return (f"stopped: no step along the gradient improves f any more ({g} = "
                    f"{gnorm:.3g}): the limit of floating-point precision, or a kink where f is "
                    f"not differentiable")
        return self._limits.get(status, str(status)).format(self=self, stop=stop)

    #: reasons that need nothing but the settings
    _limits = {
        Status.TIME_LIMIT: "stopped: the time limit of {stop.time_limit:g} s was reached",
        Status.NO_GRADIENT: "stopped: the gradient is not defined at this point (a kink, or a "
                            "point where the derivative's formula divides by zero)",
        Status.STOPPED: "stopped: {self.detail}",
        Status.END_OF_DATA: "stopped: the data ran out",
    }

    def _unbounded(self, fun: float, k: int, x: np.ndarray) -> str:
        up = self.maximize
        what = "above" if up else "below"
        limit = self.stop.objective_limit or 0.0
        return (f"unbounded: f went {what} {'' if up else '-'}{limit:g} at step {k} "
                f"(f = {fun:.3g} at {_point(self.names, x)}) and was still "
                f"{'rising' if up else 'falling'}: f has no {'maximum' if up else 'minimum'} "
                f"along this path; check the formula, or give bounds")

    def _undefined(self, k: int, x: np.ndarray) -> tuple[str, float | None]:
        part = self._undefined_part(x)
        where = f"; {part} is undefined there" if part else ""
        if k == 0:
            return (f"undefined: f is not defined at the start {_point(self.names, x)}{where}: "
                    f"start inside the function's domain"), None
        lr = getattr(self.stepper, "lr", float("nan"))
        hint = lr / 10 if (not self.searching and math.isfinite(lr)) else None
        tip = f"a smaller learning rate (lr={hint:g}), " if hint is not None else ""
        return (f"undefined: step {k} reached {_point(self.names, x)}, where f is not "
                f"defined{where}: the step left the function's domain; try {tip}a start "
                f"farther inside the domain, or bounds"), hint

    def _undefined_part(self, x: np.ndarray) -> str | None:
        finder = getattr(self.fn, "undefined_part", None)
        if finder is None:
            return None
        try:
            return finder(x)
        except Exception:  # noqa: BLE001 - only a detail of the message
            return None

    def _diverged(self, fun: float, step: int, x0: np.ndarray,
                  x: np.ndarray) -> tuple[str, float | None]:
        if step == 0:
            return (f"diverged at step 0: f = {fun:.3g} at the start {_point(self.names, x)}, "
                    f"beyond the floating-point range; start closer to where f is "
                    f"moderate"), None
        what = f"f = {fun:.3g}" if math.isfinite(fun) else "the values became infinite or NaN"
        msg = f"diverged at step {step}: {what}"
        lr = getattr(self.stepper, "lr", float("nan"))
        if self.searching or not math.isfinite(lr):
            return msg, None
        L = curvature(self.fn, self.objective, x0)
        if L is not None and L > 0 and lr > 2 / L:
            hint = 1.0 / L
            return (msg + f"; the learning rate {lr:g} is too large: the curvature at the start "
                    f"is L = {L:.3g}, and gradient descent needs lr < 2/L = {2 / L:.3g} "
                    f"(try lr={hint:.3g})"), hint
        hint = lr / 10
        return (msg + f"; the steps left the region where f is finite: try a smaller learning "
                f"rate, e.g. lr={hint:g}"), hint
