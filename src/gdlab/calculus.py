"""Derivatives: symbolic (sympy) for formulas, numeric (finite differences) for any callable.

:class:`Function` wraps a formula — text through :func:`gdlab.expr.parse` (the only door
for untrusted text), a sympy expression, or the name of a test function in
:mod:`gdlab.functions` — and gives its derivatives, gradient, Hessian, text and LaTeX
forms, and compiled numpy evaluators that work on many points at once.

For plain Python callables, :func:`numeric_derivative`, :func:`numeric_gradient` and
:func:`numeric_hessian` use central differences with the step that balances
truncation against rounding (``h = ε^(1/3)·max(1, |x|)`` for first derivatives,
``ε^(1/4)`` for second), and :func:`check_gradient` compares an analytic gradient with them.
:func:`numeric_gradient_rows` is :func:`numeric_gradient` at many points at once, for a
vectorized function of ``(n, d)`` points.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

import numpy as np

from .errors import ParameterError

_EPS = np.finfo(float).eps
_H1 = _EPS ** (1 / 3)
_H2 = _EPS ** (1 / 4)


class Function:
    """A differentiable formula of named variables.

    Parameters
    ----------
    formula : str, sympy.Expr or Function
        Formula text (``"x**2 + 2*x*y + 3 + cos(x + 2*y)"``, ``^`` also means power), the
        name of a test function (``"rosenbrock"``), or a sympy expression.
    variables : sequence of str, optional
        The order of the variables in points and gradients. Default: alphabetical.
        Names not in the formula are allowed (the formula is constant in them).

    Examples
    --------
    >>> f = Function("x**2 + 2*x + 3")
    >>> f.derivative("x").text
    '2*x + 2'
    >>> f(2.0)
    11.0
    """

    def __init__(self, formula: "str | Any", variables: Sequence[str] | None = None):
        import sympy

        self.test_function = None
        if isinstance(formula, Function):
            e = formula.expr
            self.test_function = formula.test_function
            if variables is None:
                variables = formula.variables
        elif isinstance(formula, str):
            from . import expr as _expr
            tf = _named(formula)
            if tf is not None:
                self.test_function = tf
                e = _expr.parse(tf.formula)
                if variables is None:
                    variables = tf.variables
            else:
                e = _expr.parse(formula)
        elif isinstance(formula, sympy.Basic):
            e = formula
        elif isinstance(formula, (int, float)):
            e = sympy.Float(formula) if isinstance(formula, float) else sympy.Integer(formula)
        else:
            raise ParameterError(f"a formula must be text or a sympy expression, got "
                                 f"{type(formula).__name__}")
        self.expr: Any = e
        free = sorted(e.free_symbols, key=lambda s: s.name)
        if variables is None:
            names = tuple(s.name for s in free)
        else:
            if isinstance(variables, str):
                variables = [v.strip() for v in variables.split(",") if v.strip()]
            names = tuple(str(v) for v in variables)
            if len(set(names)) != len(names):
                raise ParameterError(f"variables repeat a name: {', '.join(names)}")
            missing = [s.name for s in free if s.name not in names]
            if missing:
                raise ParameterError(f"the formula uses {', '.join(missing)} but the variables "
                                     f"given are {', '.join(names) or 'none'}")
        self.variables: tuple[str, ...] = names
        by_name = {s.name: s for s in free}
        self.symbols = tuple(by_name.get(n) or _expr_symbol(n) for n in names)
        self._value_fn: Callable | None = None
        self._vg_fn: Callable | None = None
        self._grad_exprs: list | None = None

    # ---- forms -------------------------------------------------------------------------
    @property
    def n_vars(self) -> int:
        return len(self.variables)

    @property
    def text(self) -> str:
        """The formula as text that :func:`gdlab.expr.parse` reads back."""
        import sympy
        return sympy.sstr(self.expr)

    @property
    def latex(self) -> str:
        import sympy
        return sympy.latex(self.expr)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Function({self.text!r}, variables={self.variables!r})"

    # ---- symbolic calculus -------------------------------------------------------------
    def _symbol(self, var: str | None) -> Any:
        if var is None:
            if self.n_vars != 1:
                raise ParameterError(f"say which variable to differentiate by: the formula has "
                                     f"{', '.join(self.variables) or 'no variables'}")
            return self.symbols[0]
        var = str(var).strip()
        if var not in self.variables:
            raise ParameterError(f"no variable {var!r} in the formula; its variables are "
                                 f"{', '.join(self.variables) or 'none'}")
        return self.symbols[self.variables.index(var)]

    def derivative(self, var: str | None = None, order: int = 1) -> "Function":
        """The ``order``-th derivative with respect to ``var`` (``sympy.diff``)."""
        import sympy
        if isinstance(order, bool) or not isinstance(order, (int, np.integer)) \
                or not 0 <= order <= 20:
            raise ParameterError(f"order must be a whole number from 0 to 20, got {order!r}")
        sym = self._symbol(var)
        return self._derived(sympy.diff(self.expr, sym, int(order)))

    partial = derivative

    def _derived(self, e: Any) -> "Function":
        f = Function(e, self.variables)
        return f

    def gradient(self) -> list["Function"]:
        """The partial derivatives, one per variable, in order: ∇f = (∂f/∂x₁, …, ∂f/∂x_d)."""
        return [self._derived(e) for e in self._gradient_exprs()]

    def _gradient_exprs(self) -> list:
        import sympy
        if self._grad_exprs is None:
            self._grad_exprs = [sympy.diff(self.expr, s) for s in self.symbols]
        return self._grad_exprs

    def hessian(self) -> list[list["Function"]]:
        """The matrix of second partial derivatives."""
        import sympy
        g = self._gradient_exprs()
        return [[self._derived(sympy.diff(gi, s)) for s in self.symbols] for gi in g]

    # ---- numbers -------------------------------------------------------------------------
    def _points(self, args: tuple, kwargs: dict) -> tuple[np.ndarray, bool]:
        """Points as a 2-D float array (n, d) and whether a single point was given."""
        if kwargs:
            if args:
                raise ParameterError("give the point either by position or by name, not both")
            unknown = [k for k in kwargs if k not in self.variables]
            if unknown:
                raise ParameterError(f"no variable {unknown[0]!r}; the variables are "
                                     f"{', '.join(self.variables) or 'none'}")
            missing = [v for v in self.variables if v not in kwargs]
            if missing:
                raise ParameterError(f"missing a value for {', '.join(missing)}")
            cols = [np.asarray(kwargs[v], dtype=float) for v in self.variables]
            single = all(c.ndim == 0 for c in cols)
            pts = np.stack(np.broadcast_arrays(*cols), axis=-1).reshape(-1, self.n_vars)
            return pts, single
        if len(args) == 1:
            a = np.asarray(args[0], dtype=float)
        else:
            a = np.asarray(args, dtype=float)
        d = self.n_vars
        if a.ndim == 0:
            if d != 1:
                raise ParameterError(f"the formula has {d} variables "
                                     f"({', '.join(self.variables)}); give {d} values")
            return a.reshape(1, 1), True
        if a.ndim == 1:
            if d == 1 and a.shape[0] != 1:
                return a.reshape(-1, 1), False
            if a.shape[0] != d:
                raise ParameterError(f"expected {d} values ({', '.join(self.variables)}), "
                                     f"got {a.shape[0]}")
            return a.reshape(1, d), True
        if a.ndim == 2 and a.shape[1] == d:
            return a, False
        raise ParameterError(f"points must have shape (n, {d}), got {a.shape}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """The value at a point (``f(1, 2)``, ``f([1, 2])``, ``f(x=1, y=2)``) or at many
        points (``f(array of shape (n, d))``)."""
        pts, single = self._points(args, kwargs)
        v = self.value(pts)
        return float(v[0]) if single else v

    def value(self, x: np.ndarray, batch: Any = None) -> np.ndarray:
        """Values at the rows of ``x`` (shape ``(n, d)``) → shape ``(n,)``."""
        if self._value_fn is None:
            self._value_fn = _compile([self.expr], self.symbols)
        x = np.asarray(x, dtype=float)
        return self._value_fn(x)[0]

    def value_and_grad(self, x: np.ndarray, batch: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Values ``(n,)`` and gradients ``(n, d)`` at the rows of ``x``, compiled with shared
        subexpressions."""
        if self._vg_fn is None:
            self._vg_fn = _compile([self.expr, *self._gradient_exprs()], self.symbols)
        x = np.asarray(x, dtype=float)
        out = self._vg_fn(x)
        return out[0], np.stack(out[1:], axis=-1) if len(out) > 1 else np.zeros((len(x), 0))

    def grad_at(self, *args: Any, **kwargs: Any) -> np.ndarray:
        """The gradient vector at a point (or ``(n, d)`` at many points)."""
        pts, single = self._points(args, kwargs)
        g = self.value_and_grad(pts)[1]
        return g[0] if single else g

    def hessian_at(self, *args: Any, **kwargs: Any) -> np.ndarray:
        """The Hessian matrix ``(d, d)`` at a point (``(n, d, d)`` at many points)."""
        pts, single = self._points(args, kwargs)
        if not hasattr(self, "_hess_fn"):
            import sympy
            flat = [sympy.diff(gi, s) for gi in self._gradient_exprs() for s in self.symbols]
            self._hess_fn = _compile(flat, self.symbols)
        d = self.n_vars
        h = np.stack(self._hess_fn(pts), axis=-1).reshape(len(pts), d, d)
        return h[0] if single else h

    def max_curvature(self, x: np.ndarray) -> float | None:
        """Largest absolute Hessian eigenvalue at ``x`` (the local Lipschitz constant ``L`` of
        the gradient), or ``None`` where it is not finite."""
        try:
            with np.errstate(all="ignore"):
                h = self.hessian_at(np.asarray(x, dtype=float).reshape(-1))
            ev = np.linalg.eigvalsh(np.atleast_2d(h))
        except (ValueError, np.linalg.LinAlgError):
            return None
        L = float(np.max(np.abs(ev))) if ev.size else 0.0
        return L if np.isfinite(L) and L > 0 else None


def _expr_symbol(name: str) -> Any:
    import sympy
    return sympy.Symbol(name, real=True)


def _named(text: str) -> Any:
    from . import functions
    key = text.strip()
    if not key or not all(c.isalnum() or c in " -_–" for c in key) or len(key) > 40:
        return None
    try:
        return functions.get(key)
    except ParameterError:  # not a test function's name: a formula
        return None


def _compile(exprs: list, symbols: Sequence[Any]) -> Callable[[np.ndarray], list[np.ndarray]]:
    """Compile validated sympy expressions into one numpy function of an ``(n, d)`` array that
    returns a list of ``(n,)`` arrays. Symbols are renamed to positional dummies first, so no
    variable name ever reaches the generated code."""
    import sympy

    args = [sympy.Symbol(f"a{i}", real=True) for i in range(len(symbols))]
    mapping = dict(zip(symbols, args))
    renamed = [e.xreplace(mapping) for e in exprs]  # sympy objects built by expr.parse or given
    # derivatives of abs/max/min hold DiracDelta, zero everywhere but at the kink: numbers
    # use that almost-everywhere value (numpy has no delta function)
    renamed = [e.replace(sympy.DiracDelta, lambda *a: sympy.Integer(0)) if e.has(sympy.DiracDelta)
               else e for e in renamed]
    fn = sympy.lambdify(args, renamed, modules="numpy", cse=len(renamed) > 1)

    def run(x: np.ndarray) -> list[np.ndarray]:
        n = x.shape[0]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            vals = fn(*(x[:, i] for i in range(x.shape[1])))
        return [np.broadcast_to(np.asarray(v, dtype=float), (n,)) for v in vals]

    return run


# ---- numeric derivatives for any callable ----------------------------------------------------

def _as_point(x: Any) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.ndim > 1:
        raise ParameterError(f"expected one point (a number or a vector), got shape {a.shape}")
    return a


def numeric_derivative(f: Callable[[float], float], x: float, order: int = 1,
                       h: float | None = None, method: str = "central") -> float:
    """Derivative of a function of one variable by finite differences.

    ``method="forward"`` is the limit definition ``(f(x+h) - f(x)) / h``; ``"central"``
    (default) is ``(f(x+h) - f(x-h)) / (2h)``, exact for quadratics and far more accurate.
    ``order=2`` uses ``(f(x+h) - 2f(x) + f(x-h)) / h²``.
    """
    x = float(x)
    if order == 1:
        if method == "forward":
            hh = h if h is not None else np.sqrt(_EPS) * max(1.0, abs(x))
            return (float(f(x + hh)) - float(f(x))) / hh
        if method != "central":
            raise ParameterError(f"method must be 'central' or 'forward', got {method!r}")
        hh = h if h is not None else _H1 * max(1.0, abs(x))
        return (float(f(x + hh)) - float(f(x - hh))) / (2 * hh)
    if order == 2:
        hh = h if h is not None else _H2 * max(1.0, abs(x))
        return (float(f(x + hh)) - 2 * float(f(x)) + float(f(x - hh))) / (hh * hh)
    raise ParameterError(f"numeric derivatives are of order 1 or 2, got {order!r}")


def numeric_gradient(f: Callable[[np.ndarray], float], x: Any,
                     h: float | None = None) -> np.ndarray:
    """The gradient of ``f`` (a function of a vector) at ``x`` by central differences."""
    x = _as_point(x)
    scalar = x.ndim == 0
    x = np.atleast_1d(x).astype(float)
    g = np.empty_like(x)
    for j in range(x.size):
        hj = h if h is not None else _H1 * max(1.0, abs(x[j]))
        xp, xm = x.copy(), x.copy()
        xp[j] += hj
        xm[j] -= hj
        g[j] = (float(f(xp[0] if scalar else xp)) - float(f(xm[0] if scalar else xm))) / (2 * hj)
    return g


def numeric_gradient_rows(f: Callable[[np.ndarray], np.ndarray], X: Any,
                          h: float | None = None) -> np.ndarray:
    """Gradients ``(n, d)`` at the rows of ``X`` (shape ``(n, d)``) by central differences, for
    a vectorized ``f`` (``(n, d)`` points to ``(n,)`` values): ``2d`` calls of ``f``, each on
    every row, with the step of :func:`numeric_gradient` for each entry."""
    X = np.asarray(X, dtype=float)
    G = np.empty_like(X)
    for j in range(X.shape[1]):
        hj = h if h is not None else _H1 * np.maximum(1.0, np.abs(X[:, j]))
        Xp, Xm = X.copy(), X.copy()
        Xp[:, j] += hj
        Xm[:, j] -= hj
        G[:, j] = (f(Xp) - f(Xm)) / (2 * hj)
    return G


def numeric_hessian(f: Callable[[np.ndarray], float], x: Any, h: float | None = None) -> np.ndarray:
    """The Hessian of ``f`` at ``x`` by central differences of values, symmetric by construction."""
    x = np.atleast_1d(_as_point(x)).astype(float)
    d = x.size
    hs = np.array([h if h is not None else _H2 * max(1.0, abs(v)) for v in x])
    H = np.empty((d, d))
    f0 = float(f(x))
    for i in range(d):
        for j in range(i, d):
            if i == j:
                xp, xm = x.copy(), x.copy()
                xp[i] += hs[i]
                xm[i] -= hs[i]
                H[i, i] = (float(f(xp)) - 2 * f0 + float(f(xm))) / hs[i] ** 2
            else:
                acc = 0.0
                for si, sj, w in ((1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1)):
                    xx = x.copy()
                    xx[i] += si * hs[i]
                    xx[j] += sj * hs[j]
                    acc += w * float(f(xx))
                H[i, j] = H[j, i] = acc / (4 * hs[i] * hs[j])
    return H


def check_gradient(f: Callable[[np.ndarray], float], grad: Callable[[np.ndarray], Any],
                   x: Any, h: float | None = None) -> float:
    """Largest relative difference between ``grad(x)`` and the numeric gradient of ``f`` at
    ``x``: ``max |g - g_num| / max(1, |g_num|)``. Values near 1e-7 or below mean they agree."""
    g = np.atleast_1d(np.asarray(grad(np.asarray(x, dtype=float)), dtype=float))
    gn = numeric_gradient(f, x, h)
    if g.shape != gn.shape:
        raise ParameterError(f"the gradient has shape {g.shape}, the point {gn.shape}")
    return float(np.max(np.abs(g - gn) / np.maximum(1.0, np.abs(gn)))) if g.size else 0.0


class CallableObjective:
    """A Python function of a vector as a loop objective, with its gradient given or numeric.

    ``f(x)`` takes one point ``x`` of shape ``(d,)`` and returns a number (``vectorized=True``:
    it takes ``(n, d)`` and returns ``(n,)``). ``grad(x)`` likewise, or ``None`` for central
    differences. With ``scalar_arg`` (one variable, started from a plain number) ``f`` and
    ``grad`` get a float, as people write ``lambda x: x**2 + 1``.
    """

    def __init__(self, f: Callable, d: int, grad: Callable | None = None, vectorized: bool = False,
                 scalar_arg: bool = False):
        if not callable(f):
            raise ParameterError("f must be formula text, a Function or a callable")
        self.f = f
        self.grad = grad
        self.d = d
        self.vectorized = vectorized
        self.scalar_arg = bool(scalar_arg) and d == 1 and not vectorized

    def value(self, x: np.ndarray, batch: Any = None) -> np.ndarray:
        if self.vectorized:
            return np.asarray(self.f(x), dtype=float).reshape(len(x))
        return np.array([self._scalar(row) for row in x], dtype=float)

    def _scalar(self, row: np.ndarray) -> float:
        v = self.f(row[0] if self.scalar_arg else row)
        try:
            return float(v)
        except (TypeError, ValueError):
            raise ParameterError(f"f must return a number, got {type(v).__name__}") from None

    def _grad_rows(self, x: np.ndarray) -> np.ndarray:
        if self.grad is None and self.vectorized:
            return numeric_gradient_rows(self.value, x)
        if self.grad is None:
            return np.stack([numeric_gradient(lambda p: self._scalar(np.atleast_1d(p)), row)
                             for row in x])
        if self.vectorized:
            return np.asarray(self.grad(x), dtype=float).reshape(x.shape)
        return np.stack([np.atleast_1d(np.asarray(
            self.grad(row[0] if self.scalar_arg else row), dtype=float))
            for row in x])

    def value_and_grad(self, x: np.ndarray, batch: Any = None) -> tuple[np.ndarray, np.ndarray]:
        return self.value(x), self._grad_rows(x)


def gradient_vector(f: Function | str, point: Iterable[float] | dict) -> np.ndarray:
    """∇f at a point for formula text or a :class:`Function` (convenience)."""
    fn = f if isinstance(f, Function) else Function(f)
    return fn.grad_at(**point) if isinstance(point, dict) else fn.grad_at(list(point))
