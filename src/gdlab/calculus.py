"""Derivatives: symbolic (sympy) for formulas, numeric (finite differences) for any callable.

:class:`Function` wraps a formula — text through :func:`gdlab.expr.parse` (the only door
for untrusted text), a sympy expression, or the name of a test function in
:mod:`gdlab.functions` — and gives its derivatives, gradient, Hessian, text and LaTeX
forms, and compiled numpy evaluators that work on many points at once.

Texts (:attr:`Function.text`, also of derivatives) are written by
:func:`gdlab.expr.to_text`, in the parser's language. Derivatives follow sympy's rules (the
same expressions as ``sympy.diff`` for smooth formulas), in one walk over the shared parts of
a formula; those of ``abs``, ``max``, ``min``, ``sign`` and ``heaviside`` are the ones that hold
almost everywhere (away from the kinks): ``d|u| = sign(u) du``, ``d max(u, v) =
heaviside(u - v) du + heaviside(v - u) dv``, and ``sign`` and ``heaviside`` have derivative 0
(sympy's ``DiracDelta``, zero everywhere but at one point, is dropped). Their values at the
kink follow ``sign(0) = 0`` and ``heaviside(0) = 1/2``, in symbols and in numbers alike. A
derivative whose size is estimated (before it is computed) above
``MAX_DERIVATIVE_SIZE`` operations is refused at once with a
:class:`~gdlab.errors.FormulaError` ("too complex to differentiate"), as sympy would take
seconds to minutes on it (the second derivative of ``x^x^...^x`` with 40 ``x``), and so is
a Hessian of more than ``MAX_HESSIAN_VARIABLES`` variables.

For plain Python callables, :func:`numeric_derivative`, :func:`numeric_gradient` and
:func:`numeric_hessian` use central differences with the step that balances
truncation against rounding (``h = ε^(1/3)·max(1, |x|)`` for first derivatives,
``ε^(1/4)`` for second), and :func:`check_gradient` compares an analytic gradient with them.
:func:`numeric_gradient_rows` is :func:`numeric_gradient` at many points at once, for a
vectorized function of ``(n, d)`` points.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from .errors import FormulaError, GdlabError, ParameterError

_EPS = np.finfo(float).eps
_H1 = _EPS ** (1 / 3)
_H2 = _EPS ** (1 / 4)

MAX_DERIVATIVE_SIZE = 20_000
"""Largest estimated size (operations, shared parts counted each time) of a derivative that
is computed; sympy's time and the text's length grow with it."""

MAX_HESSIAN_VARIABLES = 100
"""Hessians (``hessian``, ``hessian_at``, ``max_curvature``) of at most this many variables:
10,000 second derivatives."""


class Function:
    """A differentiable formula of named variables.

    Parameters
    ----------
    formula : str, sympy.Expr or Function
        Formula text (``"x**2 + 2*x*y + 3 + cos(x + 2*y)"``, ``^`` also means power), the
        name of a test function (``"rosenbrock"``), or a sympy expression.
    variables : sequence of str, optional
        The order of the variables in points and gradients. Default: natural order
        (alphabetical, with numbers in names compared as numbers: ``x1, x2, x10``).
        Names not in the formula are allowed (the formula is constant in them).

    A formula that is one name close to a test function's (``"rosenbrok"``,
    ``"himmelblaw"``) is refused as a typo with a "did you mean" hint, unless ``variables``
    are given (then it is a formula in a variable of that name).

    Examples
    --------
    >>> f = Function("x**2 + 2*x + 3")
    >>> f.derivative("x").text
    '2*x + 2'
    >>> f(2.0)
    11.0
    """

    def __init__(self, formula: "str | Any", variables: Sequence[str] | None = None):
        from .expr import natural_key

        e, self.test_function, variables = _expression(formula, variables)
        self.expr = e
        free = sorted(e.free_symbols, key=lambda s: natural_key(s.name))
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
        self._hess_fn: Callable | None = None
        self._grad_exprs: list | None = None
        self._hess_exprs: list[list] | None = None

    # ---- forms -------------------------------------------------------------------------
    @property
    def n_vars(self) -> int:
        return len(self.variables)

    @functools.cached_property
    def text(self) -> str:
        """The formula as text that :func:`gdlab.expr.parse` reads back (``abs``, ``max``,
        ``heaviside``, ... in the parser's names); printed once (sympy's printer takes
        milliseconds, and the playground asks for it on every request)."""
        from .expr import to_text
        return to_text(self.expr)

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
        """The ``order``-th derivative with respect to ``var`` (sympy's rules; for abs, max,
        min, sign and heaviside the derivative almost everywhere, see the module's notes)."""
        if isinstance(order, bool) or not isinstance(order, (int, np.integer)) \
                or not 0 <= order <= 20:
            raise ParameterError(f"order must be a whole number from 0 to 20, got {order!r}")
        sym = self._symbol(var)
        e = self.expr
        for _ in range(int(order)):
            e = _diff(e, sym)
        return self._derived(e)

    partial = derivative

    def _derived(self, e: Any) -> "Function":
        f = Function(e, self.variables)
        return f

    def gradient(self) -> list["Function"]:
        """The partial derivatives, one per variable, in order: ∇f = (∂f/∂x₁, …, ∂f/∂x_d)."""
        return [self._derived(e) for e in self._gradient_exprs()]

    def _gradient_exprs(self) -> list:
        if self._grad_exprs is None:
            parts = _Parts()
            self._grad_exprs = [_diff(self.expr, s, parts) for s in self.symbols]
        return self._grad_exprs

    def _hessian_exprs(self) -> list[list]:
        """Second partials; the matrix is symmetric, so each pair is differentiated once."""
        if self._hess_exprs is None:
            if self.n_vars > MAX_HESSIAN_VARIABLES:
                raise FormulaError(f"the Hessian of {self.n_vars} variables is too large "
                                   f"(at most {MAX_HESSIAN_VARIABLES} variables)",
                                   hint="use the gradient, or fewer variables")
            g, syms, parts = self._gradient_exprs(), self.symbols, _Parts()
            h: list[list] = [[None] * len(syms) for _ in syms]
            for i in range(len(syms)):
                for j in range(i, len(syms)):
                    h[i][j] = h[j][i] = _diff(g[i], syms[j], parts)
            self._hess_exprs = h
        return self._hess_exprs

    def hessian(self) -> list[list["Function"]]:
        """The matrix of second partial derivatives."""
        return [[self._derived(h) for h in row] for row in self._hessian_exprs()]

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

    def __call__(self, /, *args: Any, **kwargs: Any) -> Any:
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
        return self._value_fn(x)[:, 0].copy()

    def value_and_grad(self, x: np.ndarray, batch: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Values ``(n,)`` and gradients ``(n, d)`` at the rows of ``x``, compiled with shared
        subexpressions."""
        if self._vg_fn is None:
            self._vg_fn = _compile([self.expr, *self._gradient_exprs()], self.symbols)
        x = np.asarray(x, dtype=float)
        out = self._vg_fn(x)  # new: its first column, when contiguous, need not be copied
        f = out[:, 0]
        return f if f.flags.c_contiguous else f.copy(), out[:, 1:].copy()

    def grad_at(self, /, *args: Any, **kwargs: Any) -> np.ndarray:
        """The gradient vector at a point (or ``(n, d)`` at many points)."""
        pts, single = self._points(args, kwargs)
        g = self.value_and_grad(pts)[1]
        return g[0] if single else g

    def hessian_at(self, /, *args: Any, **kwargs: Any) -> np.ndarray:
        """The Hessian matrix ``(d, d)`` at a point (``(n, d, d)`` at many points)."""
        pts, single = self._points(args, kwargs)
        if self._hess_fn is None:
            flat = [h for row in self._hessian_exprs() for h in row]
            self._hess_fn = _compile(flat, self.symbols)
        d = self.n_vars
        h = self._hess_fn(pts).reshape(len(pts), d, d)
        return h[0] if single else h

    def max_curvature(self, x: np.ndarray) -> float | None:
        """Largest absolute Hessian eigenvalue at ``x`` (the local Lipschitz constant ``L`` of
        the gradient), or ``None`` where it is not finite."""
        try:
            with np.errstate(all="ignore"):
                h = self.hessian_at(np.asarray(x, dtype=float).reshape(-1))
                ev = np.linalg.eigvalsh(np.atleast_2d(h))
        except (GdlabError, ValueError, TypeError, ArithmeticError, np.linalg.LinAlgError):
            return None
        L = float(np.max(np.abs(ev))) if ev.size else 0.0
        return L if np.isfinite(L) and L > 0 else None

    def undefined_part(self, x: Any) -> str | None:
        """Where the formula is undefined at the point ``x`` (one value per variable, in
        order): the smallest part of it whose value there is NaN, as formula text
        (``'log(x)'`` for ``log(x) + x**2`` at ``x = -1``: the log of a negative number;
        also square roots of negative numbers, ``asin`` outside [-1, 1], ``0/0``,
        ``inf - inf`` ...), or ``None`` if no part is NaN. Of several such parts, the
        smallest, then the first. Never raises: it only details a message."""
        try:
            point = np.asarray(x, dtype=float).reshape(-1)
            if point.shape != (self.n_vars,):
                return None
            with np.errstate(all="ignore"):
                found = _NanFinder(self.symbols, point).origin(self.expr)
            if found is None:
                return None
            from .expr import to_text
            return to_text(found)
        except Exception:  # noqa: BLE001 - only a detail of a message: never fail it
            return None


def _expr_symbol(name: str) -> Any:
    import sympy
    return sympy.Symbol(name, real=True)


def _expression(formula: Any, variables: Sequence[str] | None) -> tuple[Any, Any, Any]:
    """The sympy expression of ``formula``, its test function (or ``None``) and the
    variables (those given, else a test function's or a Function's own)."""
    import sympy

    if isinstance(formula, Function):
        return formula.expr, formula.test_function, \
            formula.variables if variables is None else variables
    if isinstance(formula, str):
        from . import expr as _expr
        tf = _named(formula)
        if tf is not None:
            return _expr.parse(tf.formula), tf, tf.variables if variables is None else variables
        if variables is None:
            _refuse_near_name(formula)
        return _expr.parse(formula), None, variables
    if isinstance(formula, sympy.Basic):
        return formula, None, variables
    if isinstance(formula, (int, float)):
        e = sympy.Float(formula) if isinstance(formula, float) else sympy.Integer(formula)
        return e, None, variables
    raise ParameterError(f"a formula must be text or a sympy expression, got "
                         f"{type(formula).__name__}")


def _named(text: str) -> Any:
    from . import functions
    key = text.strip()
    if not key or not all(c.isalnum() or c in " -_–" for c in key) or len(key) > 40:
        return None
    try:
        return functions.get(key)
    except ParameterError:  # not a test function's name: a formula
        return None


# a formula that is only names, '-', '_' and spaces: maybe a test function's name
_NAME_LIKE = re.compile(r"[A-Za-z][A-Za-z0-9_ \t–-]*\Z")


def _refuse_near_name(text: str) -> None:
    """Refuse ``text`` if it reads as a misspelt test function name: only a name (words
    joined by '-', '_' or spaces) of 4 or more letters and digits, whose normalized form
    (``functions.get``'s) is close to a test function's (difflib ratio at least 0.8).
    ``rosenbrok``, ``himmelblaw``, ``six-hump-camle`` are refused; ``x``, ``beta``, ``x1 - x2``
    are formulas."""
    from . import functions
    key = text.strip()
    if not _NAME_LIKE.match(key) or len(key) > 40:
        return
    close = functions.suggest(key, cutoff=0.8, min_length=4)
    if close is not None:
        raise FormulaError(f"unknown test function {key!r}", text=key,
                           hint=f"did you mean {close!r}?")


# ---- derivatives ---------------------------------------------------------------------------

def _diff(expr: Any, sym: Any, parts: "_Parts | None" = None) -> Any:
    """d expr / d sym, almost everywhere for abs, sign, heaviside, max and min (see the
    module's notes); refused at once if its estimated size is above MAX_DERIVATIVE_SIZE.
    ``parts`` (the free symbols and sizes of the parts) may be shared by the calls for the
    variables of one expression."""
    parts = _Parts() if parts is None else parts
    if sym not in parts.free_of(expr):
        import sympy
        return sympy.S.Zero
    size = _derivative_size(expr, sym, parts)
    if size > MAX_DERIVATIVE_SIZE:
        raise FormulaError(f"formula too complex to differentiate: its derivative would have "
                           f"about {_rough(size)} operations (at most {MAX_DERIVATIVE_SIZE:,})",
                           hint="simplify the formula or split it into parts")
    d = _Differentiator(sym, parts).d(expr)
    if d.has(*_not_real()):
        raise FormulaError(f"no real derivative of {_text(expr)} in {sym.name}: it has "
                           f"undefined or complex values")
    _check_numbers(d, expr, sym)
    return d


def _check_numbers(d: Any, expr: Any, sym: Any) -> None:
    """Refuse a derivative holding a number the parser refuses (beyond about 1e301, or a
    nonzero one below 1e-301): its text could not be read back."""
    import sympy

    from .expr import within_limits
    if not all(within_limits(n) for n in d.atoms(sympy.Number)):
        raise FormulaError(f"the derivative of {_text(expr)} in {sym.name} holds numbers "
                           f"beyond about 1e301", hint="rescale the formula")


def _text(e: Any) -> str:
    from .expr import to_text
    text = to_text(e)
    return repr(text if len(text) <= 40 else text[:37] + "...")


@functools.cache
def _not_real() -> tuple:
    import sympy
    return (sympy.I, sympy.nan, sympy.zoo, sympy.oo, -sympy.oo)


class _Parts:
    """The free symbols and the size (operations, shared parts counted each time they
    appear) of the parts of expressions, each part computed once."""

    def __init__(self) -> None:
        self.free: dict = {}
        self.size: dict = {}
        self.index: dict = {}

    def free_of(self, e: Any) -> frozenset:
        got = self.free.get(e)
        if got is None:
            if e.is_Symbol:
                got = frozenset((e,))
            else:
                got = frozenset().union(*(self.free_of(a) for a in e.args))
            self.free[e] = got
        return got

    def size_of(self, e: Any) -> int:
        got = self.size.get(e)
        if got is None:
            got = self.size[e] = min(1 + sum(self.size_of(a) for a in e.args), _SIZE_CAP)
        return got

    def holding(self, e: Any, sym: Any) -> Sequence[int]:
        """Positions of the arguments of ``e`` that hold ``sym``; for sums and products of
        many terms from an index, so that each variable costs only its own terms."""
        args = e.args
        if len(args) <= 8:
            return [i for i, a in enumerate(args) if sym in self.free_of(a)]
        index = self.index.get(e)
        if index is None:
            index = self.index[e] = {}
            for i, a in enumerate(args):
                for s in self.free_of(a):
                    index.setdefault(s, []).append(i)
        return index.get(sym, ())


def _rough(n: int) -> str:
    return f"{n:,}" if n < 10**9 else f"1e{int(math.log10(n))}"


class _Differentiator:
    """d/d ``sym`` of sympy expressions, each shared part differentiated once.

    The rules are sympy's (sums, products, powers, and each function's ``fdiff``), so the
    results are the ones ``sympy.diff`` gives for smooth formulas; but this walk skips
    sympy's ``Derivative`` objects (which recompute the free symbols of every part, a cost
    that grows with the square of the formula) and takes every argument as real, so:

    * ``d|u| = sign(u) du`` (sympy treats an argument it cannot prove real, such as
      ``sqrt(x)``, as complex, with ``re``, ``im``, ``atan2`` and unevaluated derivatives);
    * ``sign`` and ``heaviside`` have derivative 0 (sympy: ``DiracDelta``, zero but at one
      point, dropped here as everywhere in gdlab);
    * ``max``/``min`` of many arguments are split in halves: ``d max(A, B) =
      heaviside(A - B) dA + heaviside(B - A) dB``.
    """

    def __init__(self, sym: Any, parts: _Parts):
        import sympy
        self.sympy = sympy
        self.sym = sym
        self.parts = parts
        self.memo: dict = {}

    def contains(self, e: Any) -> bool:
        return self.sym in self.parts.free_of(e)

    def d(self, e: Any) -> Any:
        if not self.contains(e):
            return self.sympy.S.Zero
        got = self.memo.get(e)
        if got is None:
            got = self.memo[e] = self.rule(e)
        return got

    def rule(self, e: Any) -> Any:
        sp = self.sympy
        if e.is_Symbol:
            return sp.S.One
        args, holding = e.args, self.parts.holding(e, self.sym)
        if e.is_Add:
            return sp.Add(*[self.d(args[i]) for i in holding])
        if e.is_Mul:
            return sp.Add(*[sp.Mul(*args[:i], self.d(args[i]), *args[i + 1:]) for i in holding])
        if e.is_Pow:
            return self.power(e)
        if isinstance(e, (sp.Max, sp.Min)):
            return self.minmax(e)
        if isinstance(e, (sp.sign, sp.Heaviside, sp.DiracDelta)):
            return sp.S.Zero
        if isinstance(e, sp.Function) and not isinstance(e, sp.core.function.AppliedUndef):
            return sp.Add(*[e.fdiff(i + 1) * self.d(args[i]) for i in holding])
        d = sp.diff(e, self.sym)   # anything else a sympy expression may hold
        return d.replace(sp.DiracDelta, lambda *a: sp.S.Zero) if d.has(sp.DiracDelta) else d

    def power(self, e: Any) -> Any:
        sp = self.sympy
        base, exp = e.args
        if base.is_zero:       # 0**u: 0 wherever it is defined
            return sp.S.Zero
        if not self.contains(exp):   # sympy's order: a number times a sum distributes
            return e * (self.d(base) * exp / base)
        if not self.contains(base) and base.is_extended_negative:
            raise FormulaError(f"no real derivative: {_text(e)} is a negative number to a "
                               f"variable power, not real but at whole numbers")
        return e * sp.Add(self.d(exp) * sp.log(base), self.d(base) * exp / base)

    def minmax(self, e: Any) -> Any:
        sp = self.sympy
        cls = type(e)
        half = len(e.args) // 2
        a, b = _minmax(cls, e.args[:half]), _minmax(cls, e.args[half:])
        above, below = _step(a - b), _step(b - a)   # a wins max(a, b) where a > b
        if cls is sp.Min:
            above, below = below, above
        return sp.Add(above * self.d(a), below * self.d(b))


def _minmax(cls: Any, args: Sequence[Any]) -> Any:
    """``cls(*args)`` (sympy's Max or Min), built as the parser builds it: evaluated only
    when every argument is a number (sympy's pairwise simplification grows fast)."""
    if len(args) == 1:
        return args[0]
    if all(a.is_Number for a in args):
        return cls(*args)
    return cls(*args, evaluate=False)


def _step(u: Any) -> Any:
    """``heaviside(u)``, evaluated as the parser evaluates it: for a number, and for a small
    ``u`` with variables (sympy's evaluation asks questions about ``u`` whose cost grows
    with its size; a constant stays as written, see :mod:`gdlab.expr`)."""
    import sympy
    if u.is_Number or (_small(u, 40) and u.free_symbols):
        return sympy.Heaviside(u)
    return sympy.Heaviside(u, evaluate=False)


def _small(e: Any, limit: int) -> bool:
    """Whether ``e`` has at most ``limit`` parts (stops counting past it)."""
    stack, seen = [e], 0
    while stack:
        seen += 1
        if seen > limit:
            return False
        stack.extend(stack.pop().args)
    return True


_SIZE_CAP = 10**15


def _derivative_size(expr: Any, sym: Any, parts: _Parts) -> int:
    """An estimate of the size (operations, shared parts counted each time they appear) of
    ``d expr / d sym``: the product rule copies the other factors, the chain rule copies a
    function's argument. sympy's time to build it, the compiled code's and the text's
    length grow with it; it is computed in one pass over the parts that hold ``sym``."""
    memo: dict[Any, int] = {}

    def walk(e: Any) -> int:
        if sym not in parts.free_of(e):
            return 0
        if not e.args:
            return 1
        got = memo.get(e)
        if got is None:
            grown = [(parts.size_of(e.args[i]), walk(e.args[i])) for i in parts.holding(e, sym)]
            got = memo[e] = min(_grown(e, grown, parts), _SIZE_CAP)
        return got

    return walk(expr)


def _grown(e: Any, grown: list[tuple[int, int]], parts: _Parts) -> int:
    """The estimated derivative size of node ``e`` from the (size, derivative size) of its
    arguments that hold the variable, ``grown``."""
    if not grown:
        return 0
    size = parts.size_of(e)
    if e.is_Add:
        return 1 + sum(d for _, d in grown)
    if e.is_Mul:                       # sum of products with one factor differentiated
        return 1 + sum(d + size - s for s, d in grown)
    if e.is_Pow:                       # b**e * (e' log(b) + e b'/b)
        return size + 2 * parts.size_of(e.args[0]) + parts.size_of(e.args[1]) + 4 + \
            sum(d for _, d in grown)
    depth = max(1, math.ceil(math.log2(len(e.args))))   # max/min: steps on halves
    return 1 + sum(d + depth * (size + 3) for _, d in grown)


# ---- compiled numbers ----------------------------------------------------------------------

_EXACT_INT = 2**53
_ORDERED_SIZE = 2_000


def _np_call(printer: Any, name: str, *args: Any) -> str:
    inner = ", ".join(a if isinstance(a, str) else printer._print(a) for a in args)
    return f"{printer._module_format('numpy.' + name)}({inner})"


def _np_pairs(printer: Any, name: str, args: Sequence[Any]) -> str:
    """``numpy.maximum`` (``name``) nested as a balanced tree over ``args``."""
    if len(args) == 1:
        return printer._print(args[0])
    half = len(args) // 2
    return _np_call(printer, name, _np_pairs(printer, name, args[:half]),
                    _np_pairs(printer, name, args[half:]))


def _np_heaviside(printer: Any, expr: Any) -> str:
    at_zero = float(expr.args[1]) if len(expr.args) > 1 else 0.5
    return _np_call(printer, "heaviside", expr.args[0], repr(at_zero))


def _np_float(printer: Any, expr: Any) -> str:
    try:
        value = float(expr)
    except OverflowError:
        value = math.inf if expr > 0 else -math.inf
    if math.isinf(value):
        return f"({'-' if value < 0 else ''}{printer._module_format('numpy.inf')})"
    return f"({value!r})"


def _np_integer(printer: Any, expr: Any) -> str:
    # as a float: NumPy converts a Python int against a float array to the same float, but
    # takes longer to (about 0.25 us per operation, a tenth of a small formula's time)
    return repr(float(expr.p)) if abs(expr.p) < _EXACT_INT else _np_float(printer, expr)


def _np_rational(printer: Any, expr: Any) -> str:
    if max(abs(expr.p), expr.q) < _EXACT_INT:
        return str(expr.p) if expr.q == 1 else f"{expr.p}/{expr.q}"
    return _np_float(printer, expr)


#: up to this many rows, the compiled code runs once per row on numpy scalars (whose
#: arithmetic skips the ufunc machinery) rather than once on columns; the numbers are the
#: same (the functions are the same ufuncs, and see ``_EXACT_POWERS``)
_ROWS_BY_SCALARS = 3

#: powers NumPy computes by another function on arrays (``x**2`` is ``square(x)``, ...),
#: which the code names, so that it computes the same numbers on a row's numpy scalars
#: (whose ``**`` is C's ``pow``, a last bit apart now and then)
_EXACT_POWERS = {2.0: "square", -1.0: "reciprocal", 0.5: "sqrt"}


def _np_pow(printer: Any, expr: Any, rational: bool = False) -> str:
    from sympy.printing.numpy import NumPyPrinter

    try:
        name = _EXACT_POWERS.get(float(expr.exp)) if expr.exp.is_Number else None
    except (OverflowError, TypeError):
        name = None
    if name is None:
        return NumPyPrinter._print_Pow(printer, expr, rational=rational)
    if expr.base.is_Symbol and name != "sqrt":  # one multiplication or division
        b = printer._print(expr.base)
        return f"({b}*{b})" if name == "square" else f"(1/{b})"
    return _np_call(printer, name, expr.base)


@functools.cache
def _numpy_printer(ordered: bool) -> Any:
    """sympy's NumPy printer with gdlab's functions: max/min as nested ``numpy.maximum`` /
    ``numpy.minimum`` of two arrays, ``heaviside(u)`` as ``numpy.heaviside(u, 0.5)``,
    ``sign`` as ``numpy.sign``, ``DiracDelta`` as 0 (its value almost everywhere),
    integers as floats (numpy refuses Python integers beyond 64 bits, and converts smaller
    ones more slowly to the same floats), and the powers in ``_EXACT_POWERS`` by their
    functions.
    ``ordered``: terms of sums in sympy's printing order (the code gdlab always made, so
    the same numbers to the last bit), else as stored (sorting large sums takes long)."""
    from sympy.printing.numpy import NumPyPrinter

    methods = {
        "_print_Max": lambda p, e: _np_pairs(p, "maximum", e.args),
        "_print_Min": lambda p, e: _np_pairs(p, "minimum", e.args),
        "_print_Heaviside": _np_heaviside,
        "_print_sign": lambda p, e: _np_call(p, "sign", e.args[0]),
        "_print_DiracDelta": lambda p, e: "0.0",
        "_print_Integer": _np_integer,
        "_print_Rational": _np_rational,
        "_print_Pow": _np_pow,
    }
    printer = type("GdlabNumPyPrinter", (NumPyPrinter,), methods)
    return printer({"fully_qualified_modules": False, "inline": True,
                    "order": None if ordered else "none",
                    "allow_unknown_functions": False, "user_functions": {}})


def _renamed(exprs: list, mapping: dict) -> list:
    """``exprs`` with their symbols replaced by ``mapping``'s, every other part rebuilt
    unevaluated (renaming changes no structure, and evaluating again can take long: the
    pairwise simplification of Max, the sign questions functions ask of their arguments)."""
    memo: dict = dict(mapping)

    def walk(e: Any) -> Any:
        out = memo.get(e)
        if out is None:
            if not e.args:
                out = e
            else:
                args = tuple(walk(a) for a in e.args)
                out = e if all(a is b for a, b in zip(args, e.args)) else _unevaluated(e, args)
            memo[e] = out
        return out

    return [walk(e) for e in exprs]


def _unevaluated(e: Any, args: tuple) -> Any:
    try:
        return e.func(*args, evaluate=False)
    except TypeError:   # a class that takes no evaluate=
        return e.func(*args)


def _compile(exprs: list, symbols: Sequence[Any]) -> Callable[[np.ndarray], np.ndarray]:
    """Compile validated sympy expressions into one numpy function of an ``(n, d)`` array that
    returns an ``(n, len(exprs))`` array of their values. Symbols are renamed to positional
    dummies first, so no variable name ever reaches the generated code (the array may be
    in Fortran order). A formula sympy
    cannot turn into code raises :class:`~gdlab.errors.FormulaError`, as does one whose
    numbers fail (never a numpy or sympy error)."""
    import sympy

    args = [sympy.Symbol(f"a{i}", real=True) for i in range(len(symbols))]
    # numbers (most entries of a large Hessian are 0) need no code
    floats: dict = {}
    constant = np.array([e.is_Number and e.is_finite for e in exprs], dtype=bool)
    values = np.array([floats.setdefault(e, float(e)) if c else 0.0
                       for e, c in zip(exprs, constant)])
    varying = np.flatnonzero(~constant)
    renamed = _renamed([exprs[k] for k in varying], dict(zip(symbols, args)))
    parts = _Parts()
    ordered = sum(parts.size_of(e) for e in renamed) <= _ORDERED_SIZE
    try:
        fn = sympy.lambdify(args, renamed, modules="numpy", printer=_numpy_printer(ordered),
                            cse=len(renamed) > 1, use_imps=False)
    except (RecursionError, MemoryError, SyntaxError):
        raise FormulaError("formula too complex to compute with numbers") from None
    except (NotImplementedError, TypeError, ValueError) as exc:
        raise FormulaError(f"cannot compute this formula with numbers "
                           f"({type(exc).__name__})") from None

    has_constants = bool(constant.any())
    varying_list = varying.tolist()
    m = len(exprs)

    def run(x: np.ndarray) -> np.ndarray:
        n = x.shape[0]
        try:
            with np.errstate(all="ignore"):
                if n <= _ROWS_BY_SCALARS:
                    out = np.empty((n, m))
                    if has_constants:
                        out[:] = values
                    for r in range(n):  # numpy scalars: ~10x less overhead per operation
                        for k, v in zip(varying_list, fn(*x[r])):
                            out[r, k] = _real(v)
                    return out
                vals = fn(*x.T)  # the columns
                both = None if has_constants else _one_array(vals, (m, n))
                if both is not None:  # the common case: float arrays of n, in one call
                    return both.T  # (a view, in Fortran order)
                out = np.empty((n, m))
                if has_constants:
                    out[:] = values
                for k, v in zip(varying_list, vals):
                    out[:, k] = _real(v)
        except (ArithmeticError, TypeError, ValueError) as exc:
            raise FormulaError(f"cannot compute this formula with numbers "
                               f"({type(exc).__name__})") from None
        return out

    return run


def _one_array(vals: list, shape: tuple[int, int]) -> np.ndarray | None:
    """``vals`` as one float array of ``shape`` when they are that many float arrays."""
    try:
        both = np.array(vals)
    except ValueError:  # numbers among the arrays
        return None
    return both if both.dtype == np.float64 and both.shape == shape else None


def _real(v: Any) -> Any:
    """Complex values (from a sympy expression given as such) as NaN where not real."""
    if type(v) is np.float64 or (type(v) is np.ndarray and v.dtype.kind == "f"):
        return v  # the common case, first
    dtype = getattr(v, "dtype", None)
    if isinstance(v, complex) or (dtype is not None and dtype.kind == "c"):
        return np.where(np.imag(v) == 0, np.real(v), np.nan)
    return v


class _NanFinder:
    """Evaluates each part of a formula once at a point (numpy floats, as the compiled
    code), and keeps the smallest part whose value is NaN while its arguments' are not."""

    def __init__(self, symbols: Sequence[Any], point: np.ndarray):
        self.symbols = list(symbols)
        self.point = point
        self.given: dict = {s: np.float64(v) for s, v in zip(symbols, point)}
        self.values: dict = {}
        self.sizes: dict = {}
        self.best: tuple[int, int, Any] | None = None

    def origin(self, expr: Any) -> Any:
        self.value(expr)
        return None if self.best is None else self.best[2]

    def value(self, e: Any) -> Any:
        got = self.values.get(e)
        if got is not None:
            return got
        vals = [self.value(a) for a in e.args]
        v = self.compute(e, vals) if vals else self.number(e)
        size = 1 + sum(self.sizes[a] for a in e.args)
        self.values[e], self.sizes[e] = v, size
        if np.isnan(v) and not any(np.isnan(a) for a in vals):
            if self.best is None or size < self.best[0]:
                self.best = (size, len(self.values), e)
        return v

    def number(self, e: Any) -> Any:
        if e in self.given:
            return self.given[e]
        try:
            return np.float64(float(e))
        except OverflowError:
            return np.float64(math.inf if e > 0 else -math.inf)

    def compute(self, e: Any, vals: list) -> Any:
        if e.is_Add:
            return np.add.reduce(np.array(vals, dtype=float))
        if e.is_Mul:
            return np.multiply.reduce(np.array(vals, dtype=float))
        if e.is_Pow:
            return np.power(vals[0], vals[1])
        f = _numpy_functions().get(type(e))
        if f is not None:
            return np.float64(f(*vals))
        return _compile([e], self.symbols)(self.point[None, :])[0, 0]


@functools.cache
def _numpy_functions() -> dict:
    """sympy function class -> numpy function, for :class:`_NanFinder`."""
    import sympy
    return {
        sympy.sin: np.sin, sympy.cos: np.cos, sympy.tan: np.tan, sympy.asin: np.arcsin,
        sympy.acos: np.arccos, sympy.atan: np.arctan, sympy.sinh: np.sinh,
        sympy.cosh: np.cosh, sympy.tanh: np.tanh, sympy.exp: np.exp, sympy.log: np.log,
        sympy.Abs: np.abs, sympy.sign: np.sign,
        sympy.Heaviside: lambda u, h=0.5: np.heaviside(u, h),
        sympy.Max: lambda *a: np.max(a), sympy.Min: lambda *a: np.min(a),
    }


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


def numeric_hessian(f: Callable[[np.ndarray], float], x: Any,
                    h: float | None = None) -> np.ndarray:
    """The Hessian of ``f`` at ``x`` by central differences of values (symmetric by
    construction)."""
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
