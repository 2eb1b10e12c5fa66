"""What a descent run returns: the :class:`Status` of each run, :class:`Result` and its
bounded :class:`History`."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class Status(enum.StrEnum):
    """Why a run (one row of the loop) stopped: the one list of stop statuses in gdlab.

    A ``StrEnum``: each member equals its lower-case name as text (``Status.DIVERGED ==
    "diverged"``), so statuses print, compare and serialize to JSON as plain words.
    """

    #: ``|grad| < eps`` (the lecture's test)
    CONVERGED = "converged"
    #: ``|f_k - f_{k-1}| <= ftol * max(1, |f_k|)``
    FTOL = "ftol"
    #: ``max_iter`` updates made
    MAX_ITER = "max_iter"
    #: a non-finite value or point, or a value ``explode`` times worse than at the start
    DIVERGED = "diverged"
    #: the time budget was spent
    TIME_LIMIT = "time_limit"
    #: the stream of batches ended (training: the last epoch)
    END_OF_DATA = "end_of_data"
    #: the stepper could not move the row (a line search found no decrease)
    STALLED = "stalled"
    #: a callback stopped the run (early stopping, a signal, ...)
    STOPPED = "stopped"
    #: the value is finite but the gradient is not (a kink, or 0/0 in the derivative)
    NO_GRADIENT = "no_gradient"
    #: f went past any plausible value (``objective_limit``) and was still improving:
    #: the function has no minimum (maximum) along the path
    UNBOUNDED = "unbounded"
    #: f is not defined (NaN) at a finite point: outside the function's domain
    UNDEFINED = "undefined"
    #: the gradient test passed where the curvature is ~0 too: a plateau, which may not
    #: be a minimum (a label ``minimize`` gives to ``converged`` runs, not a loop rule)
    FLAT = "flat"

    @property
    def success(self) -> bool:
        """Whether the run met a convergence test (``converged`` or ``ftol``)."""
        return self in (Status.CONVERGED, Status.FTOL)

    @property
    def failed(self) -> bool:
        """Whether the run failed (the command line's exit code 1): it diverged, is
        unbounded, left the function's domain, or met a point without a gradient."""
        return self in (Status.DIVERGED, Status.UNBOUNDED, Status.UNDEFINED,
                        Status.NO_GRADIENT)


class History:
    """Per-step records of a run, bounded in memory.

    Each record holds the step number, the point(s) ``x`` (optional), the
    objective value(s), the gradient norm(s) and the learning rate used for the
    step that followed. Up to ``limit`` records are kept; past that, every second
    record is dropped (the first is always kept and the newest is always added),
    so a run of any length keeps at most ``limit`` evenly thinned records and
    ``steps`` says which iteration each one is. Runs shorter than ``limit`` keep
    everything: then ``x`` has shape ``(nit + 1, d)`` for one start (the start
    included).

    For many starts the arrays carry a starts axis: ``x`` is ``(records, n_starts, d)``
    and ``fun``/``grad_norm`` are ``(records, n_starts)``; ``run(i)`` gives one start's view.
    """

    def __init__(self, limit: int = 100_000, record_x: bool = True):
        if limit < 2:
            raise ValueError("history limit must be at least 2")
        self.limit = int(limit)
        self.record_x = record_x
        self._steps: list[int] = []
        self._x: list[np.ndarray] = []
        self._fun: list[Any] = []
        self._gnorm: list[Any] = []
        self._lr: list[float] = []
        self._stride = 1

    def append(self, step: int, x: np.ndarray | None, fun: Any, grad_norm: Any, lr: float) -> None:
        # the newest record is always kept; an older one only on the current stride
        if self._steps and self._steps[-1] % self._stride:
            self._pop()
        self._steps.append(step)
        if self.record_x and x is not None:
            self._x.append(np.array(x, copy=True))
        self._fun.append(np.array(fun, copy=True) if np.ndim(fun) else fun)
        self._gnorm.append(np.array(grad_norm, copy=True) if np.ndim(grad_norm) else grad_norm)
        self._lr.append(lr)
        if len(self._steps) > self.limit:
            self._thin()

    def set_last_lr(self, lr: float) -> None:
        if self._lr:
            self._lr[-1] = lr

    def _pop(self) -> None:
        self._steps.pop()
        if self._x:
            self._x.pop()
        self._fun.pop()
        self._gnorm.pop()
        self._lr.pop()

    def _thin(self) -> None:
        self._stride *= 2
        keep = [i for i, s in enumerate(self._steps) if s % self._stride == 0]
        if keep[-1] != len(self._steps) - 1:
            keep.append(len(self._steps) - 1)
        self._steps = [self._steps[i] for i in keep]
        if self._x:
            self._x = [self._x[i] for i in keep]
        self._fun = [self._fun[i] for i in keep]
        self._gnorm = [self._gnorm[i] for i in keep]
        self._lr = [self._lr[i] for i in keep]

    def __len__(self) -> int:
        return len(self._steps)

    @property
    def steps(self) -> np.ndarray:
        return np.asarray(self._steps, dtype=np.int64)

    @property
    def x(self) -> np.ndarray:
        if not self._x:
            return np.empty((0, 0))
        return np.stack(self._x)

    @property
    def fun(self) -> np.ndarray:
        return np.asarray(self._fun, dtype=float)

    @property
    def grad_norm(self) -> np.ndarray:
        return np.asarray(self._gnorm, dtype=float)

    @property
    def lr(self) -> np.ndarray:
        return np.asarray(self._lr, dtype=float)

    def run(self, i: int, nit: int | None = None) -> "History":
        """The history of start ``i`` alone (for a many-start run), up to its step ``nit``."""
        h = History(self.limit, self.record_x)
        h._stride = self._stride
        n = len(self._steps) if nit is None else int(np.searchsorted(self.steps, nit, "right"))
        h._steps = self._steps[:n]
        h._x = [x[i] for x in self._x[:n]]
        h._fun = [f[i] for f in self._fun[:n]]
        h._gnorm = [g[i] for g in self._gnorm[:n]]
        h._lr = self._lr[:n]
        return h

    def to_dict(self) -> dict[str, Any]:
        return {"steps": self.steps.tolist(), "x": self.x.tolist() if self._x else None,
                "fun": self.fun.tolist(), "grad_norm": self.grad_norm.tolist(),
                "lr": self.lr.tolist()}


@dataclass
class Result:
    """The outcome of :func:`gdlab.minimize` / :func:`gdlab.maximize`.

    Attributes
    ----------
    x : ndarray (d,)
        The best final point (over all starts).
    fun : float
        The objective there.
    grad : ndarray (d,)
        The gradient there.
    nit : int
        Number of updates made by the best start.
    converged : bool
        Whether the best start met the gradient test (``|grad| < eps``) or the
        tolerance on f.
    reason : str
        Why the best start stopped, in words.
    history : History
        Per-step records of the best start (``history.x`` is ``(nit + 1, d)``).
    variables : tuple of str
        Variable names, in the order of ``x``.
    xs, funs, grads, nits, reasons, converged_all :
        The same for every start (arrays with a leading starts axis), when
        there were several; ``best`` is the index of the best start.
    all_history : History or None
        The records of every start together (``x`` is ``(records, n_starts, d)``).
    status : Status
        Why the best start stopped (``statuses`` for every start).
    success, message, jac, nfev, njev :
        scipy's names: ``converged``, ``reason``, ``grad``, objective and gradient
        evaluations. ``result["x"]`` works as with scipy's ``OptimizeResult``.
    diverged_step : int or None
        The step at which the best start diverged (``None`` when it did not);
        ``diverged_steps`` for every start (-1 where a start did not diverge).
    """

    x: np.ndarray
    fun: float
    grad: np.ndarray
    nit: int
    converged: bool
    reason: str
    history: History
    variables: tuple[str, ...] = ()
    maximize: bool = False
    status: str = ""
    diverged_step: int | None = None
    xs: np.ndarray | None = None
    funs: np.ndarray | None = None
    grads: np.ndarray | None = None
    nits: np.ndarray | None = None
    reasons: list[str] = field(default_factory=list)
    statuses: list[Status] = field(default_factory=list)
    diverged_steps: np.ndarray | None = None
    converged_all: np.ndarray | None = None
    best: int = 0
    all_history: History | None = None
    lr_hint: float | None = None
    elapsed: float = 0.0
    optimizer: dict[str, Any] = field(default_factory=dict)
    #: objective evaluations of the best start (line-search trials included) and gradient
    #: evaluations (scipy's ``nfev``/``njev``)
    nfev: int = 0
    njev: int = 0
    #: where the best start began
    x0: np.ndarray | None = None

    @property
    def n_starts(self) -> int:
        return 1 if self.xs is None else len(self.xs)

    @property
    def grad_norm(self) -> float:
        """‖grad‖, scaled so that it does not overflow for huge components."""
        return norm(self.grad)

    # scipy's OptimizeResult names, beside gdlab's own
    @property
    def success(self) -> bool:
        """Whether the best start converged (scipy's name for ``converged``)."""
        return bool(self.converged)

    @property
    def message(self) -> str:
        """Why the best start stopped, in words (scipy's name for ``reason``)."""
        return self.reason

    @property
    def jac(self) -> np.ndarray:
        """The gradient at ``x`` (scipy's name for ``grad``)."""
        return self.grad

    _KEYS = ("x", "fun", "jac", "grad", "nit", "nfev", "njev", "success", "status", "message",
             "reason", "converged")

    def keys(self) -> tuple[str, ...]:
        """The names ``result[name]`` accepts, as with scipy's ``OptimizeResult``."""
        return self._KEYS

    def __getitem__(self, key: str) -> Any:
        if key not in self._KEYS and not (isinstance(key, str) and key in self.__dict__):
            raise KeyError(key)
        return getattr(self, key)

    def __contains__(self, key: object) -> bool:
        return key in self._KEYS or (isinstance(key, str) and key in self.__dict__)

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default

    def to_dict(self, history: bool = False) -> dict[str, Any]:
        """Plain JSON values (what ``gdlab minimize --json`` prints)."""

        def num(v: Any) -> Any:
            v = float(v)
            return v if np.isfinite(v) else repr(v)

        out: dict[str, Any] = {
            "x": [num(v) for v in self.x], "fun": num(self.fun),
            "grad": [num(v) for v in self.grad], "grad_norm": num(self.grad_norm),
            "nit": int(self.nit), "converged": bool(self.converged), "reason": self.reason,
            "status": self.status, "variables": list(self.variables),
            "maximize": self.maximize, "optimizer": self.optimizer,
            "elapsed": self.elapsed, "success": self.success, "message": self.message,
            "nfev": int(self.nfev), "njev": int(self.njev),
            "diverged_step": self.diverged_step,
        }
        if self.x0 is not None:
            out["x0"] = [num(v) for v in self.x0]
        if self.lr_hint is not None:
            out["lr_hint"] = self.lr_hint
        if self.xs is not None:
            funs, nits, conv = self.funs, self.nits, self.converged_all
            assert funs is not None and nits is not None and conv is not None  # set with xs
            out["n_starts"] = self.n_starts
            out["best"] = int(self.best)
            out["starts"] = [
                {"x": [num(v) for v in self.xs[i]], "fun": num(funs[i]),
                 "nit": int(nits[i]), "converged": bool(conv[i]),
                 "status": self.statuses[i], "reason": self.reasons[i]}
                for i in range(self.n_starts)]
        if history:
            out["history"] = self.history.to_dict()
        return out

    def __repr__(self) -> str:
        lines = [f"     x: {np.array2string(np.asarray(self.x), precision=8)}",
                 f"   fun: {self.fun:.10g}",
                 f"  grad: {np.array2string(np.asarray(self.grad), precision=3)}",
                 f"   nit: {self.nit}",
                 f" converged: {self.converged}",
                 f" reason: {self.reason}"]
        if self.xs is not None:
            assert self.converged_all is not None  # set with xs
            lines.append(f" starts: {self.n_starts} (best #{self.best}, "
                         f"{int(np.sum(self.converged_all))} converged)")
        return "Result(\n" + "\n".join(lines) + "\n)"


def norm(v: np.ndarray) -> float:
    """The Euclidean norm of ``v``, scaled by its largest entry first so that it neither
    overflows nor underflows (``norm([2e200]) == 2e200``)."""
    a = np.abs(np.asarray(v, dtype=float)).ravel()
    if a.size == 0:
        return 0.0
    m = float(np.max(a))
    if m == 0 or not np.isfinite(m):
        return m
    return m * float(np.sqrt(np.dot(a / m, a / m)))
