"""Derivatives of gdlab.calculus checked against independent references.

References used here, none of them gdlab code:

* sympy expressions built in this file from sympy's own functions (not through
  gdlab's parser), differentiated with ``sympy.diff`` and evaluated with
  ``evalf`` at 30 digits;
* closed forms (polynomials, exp);
* gdlab's finite differences are themselves checked against closed forms
  before they are used as a reference for the compiled gradients/Hessians.

Formulas are given as text, so these tests need ``gdlab.expr.parse``.
"""

from __future__ import annotations

import math
import re
import zlib

import numpy as np
import pytest
import sympy

from gdlab import Function, check_gradient, numeric_derivative, numeric_gradient, numeric_hessian
from gdlab.errors import GdlabError, ParameterError

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

X, Y, Z = sympy.symbols("x y z", real=True)
_MINE = {"x": X, "y": Y, "z": Z}


def _sig(t):
    return 1 / (1 + sympy.exp(-t))


def _mine(f: Function, ref: sympy.Expr) -> sympy.Expr:
    """``ref`` (built on this file's symbols) rewritten on the symbols of ``f``."""
    return ref.xreplace({_MINE[n]: s for n, s in zip(f.variables, f.symbols)})


def _at(expr: sympy.Expr, names, point) -> float:
    """``expr`` evaluated by sympy at 30 significant digits."""
    subs = {_MINE[n]: sympy.Float(float(v), 30) for n, v in zip(names, point)}
    return float(expr.evalf(30, subs=subs))


# ---- the lecture's examples -------------------------------------------------------------------

def test_lecture_derivative_one_variable():
    f = Function("x**2 + 2*x + 3")
    d = f.derivative("x")
    x = f.symbols[0]
    assert sympy.simplify(d.expr - (2 * x + 2)) == 0
    assert d.text == "2*x + 2"
    assert f.derivative().text == "2*x + 2"  # one variable: no need to name it
    assert f(2.0) == 11.0
    assert d(2.0) == 6.0
    assert sympy.simplify(f.derivative("x", 2).expr - 2) == 0
    assert f.derivative("x", 3).expr == 0
    assert f.derivative("x", 0).expr == f.expr


def test_lecture_partial_derivatives_two_variables():
    f = Function("x**2 + 2*x*y + 3 + cos(x + 2*y)")
    assert f.variables == ("x", "y")
    x, y = f.symbols
    fx = f.derivative("x")
    fy = f.partial("y")
    assert sympy.simplify(fx.expr - (2 * x + 2 * y - sympy.sin(x + 2 * y))) == 0
    assert sympy.simplify(fy.expr - (2 * x - 2 * sympy.sin(x + 2 * y))) == 0
    # the same as sympy.diff of the same expression built independently
    ref = X**2 + 2 * X * Y + 3 + sympy.cos(X + 2 * Y)
    assert sympy.simplify(fx.expr - _mine(f, sympy.diff(ref, X))) == 0
    assert sympy.simplify(f.expr - _mine(f, ref)) == 0
    # gradient() lists the partials in variable order
    grads = f.gradient()
    assert [sympy.simplify(g.expr - h.expr) for g, h in zip(grads, (fx, fy))] == [0, 0]
    # the Hessian, by hand: [[2 - cos, 2 - 2cos], [2 - 2cos, -4cos]]
    c = sympy.cos(x + 2 * y)
    expected = [[2 - c, 2 - 2 * c], [2 - 2 * c, -4 * c]]
    H = f.hessian()
    for i in range(2):
        for j in range(2):
            assert sympy.simplify(H[i][j].expr - expected[i][j]) == 0
    # numbers at a point
    p = (0.3, -1.1)
    cp = math.cos(p[0] + 2 * p[1])
    sp = math.sin(p[0] + 2 * p[1])
    np.testing.assert_allclose(f.grad_at(*p), [2 * p[0] + 2 * p[1] - sp, 2 * p[0] - 2 * sp],
                               rtol=1e-14)
    np.testing.assert_allclose(f.hessian_at(p), [[2 - cp, 2 - 2 * cp], [2 - 2 * cp, -4 * cp]],
                               rtol=1e-14)


# ---- every function of the parser table, against sympy and finite differences ----------------

def _no_kink(*gaps):
    return lambda p: all(abs(g(p)) > 0.1 for g in gaps)


# (formula text, reference built from sympy functions, variables, domain box, point filter)
SMOOTH = [
    ("sin(x)*cos(y) + tan(x/2)",
     sympy.sin(X) * sympy.cos(Y) + sympy.tan(X / 2), "xy", [(-1.5, 1.5), (-3, 3)], None),
    ("exp(x - y) + log(x) + sqrt(y)",
     sympy.exp(X - Y) + sympy.log(X) + sympy.sqrt(Y), "xy", [(0.2, 3), (0.2, 3)], None),
    ("sinh(x)*cosh(y) + atan(x*y) + tanh(x - 2*y)",
     sympy.sinh(X) * sympy.cosh(Y) + sympy.atan(X * Y) + sympy.tanh(X - 2 * Y), "xy",
     [(-2, 2), (-2, 2)], None),
    ("asin(x/2) + acos(y/2) + x*y",
     sympy.asin(X / 2) + sympy.acos(Y / 2) + X * Y, "xy", [(-1.5, 1.5), (-1.5, 1.5)], None),
    ("sigmoid(x*y - 1) + sigmoid(-x)",
     _sig(X * Y - 1) + _sig(-X), "xy", [(-3, 3), (-3, 3)], None),
    ("pi*x^2 + E^y + exp(1)*y - E",
     sympy.pi * X**2 + sympy.E**Y + sympy.E * Y - sympy.E, "xy", [(-2, 2), (-2, 2)], None),
    ("x**2 + 2*x*y + 3 + cos(x + 2*y)",
     X**2 + 2 * X * Y + 3 + sympy.cos(X + 2 * Y), "xy", [(-3, 3), (-3, 3)], None),
    ("x^3 - 2*x + log(1 + x^2)", X**3 - 2 * X + sympy.log(1 + X**2), "x", [(-3, 3)], None),
    ("x*y*z + sin(x*z) + exp(-y^2) + sqrt(1 + z^2)",
     X * Y * Z + sympy.sin(X * Z) + sympy.exp(-Y**2) + sympy.sqrt(1 + Z**2), "xyz",
     [(-2, 2)] * 3, None),
]
# abs, max and min: differentiable away from their kinks; points are kept 0.1 away from them
KINKED = [
    ("abs(x - y) + tanh(x*y)",
     sympy.Abs(X - Y) + sympy.tanh(X * Y), "xy", [(-2, 2), (-2, 2)],
     _no_kink(lambda p: p[0] - p[1])),
    ("sigmoid(x*y) + max(x, y^2) + min(x, -y)",
     _sig(X * Y) + sympy.Max(X, Y**2) + sympy.Min(X, -Y), "xy", [(-2, 2), (-2, 2)],
     _no_kink(lambda p: p[0] - p[1] ** 2, lambda p: p[0] + p[1])),
    ("abs(x)*y + max(x, 0)^2 - min(y, 1)",
     sympy.Abs(X) * Y + sympy.Max(X, 0) ** 2 - sympy.Min(Y, 1), "xy", [(-2, 2), (-2, 2)],
     _no_kink(lambda p: p[0], lambda p: p[1] - 1)),
]
ALL = SMOOTH + KINKED
IDS = [c[0] for c in ALL]
N_POINTS = 6

def _points(case, n=N_POINTS):
    text, _, names, box, ok = case
    rng = np.random.default_rng(zlib.crc32(text.encode()))
    lo = np.array([b[0] for b in box], dtype=float)
    hi = np.array([b[1] for b in box], dtype=float)
    pts = []
    while len(pts) < n:
        p = rng.uniform(lo, hi)
        if ok is None or ok(p):
            pts.append(p)
    return np.array(pts)


TABLE = {"sin", "cos", "tan", "exp", "log", "sqrt", "abs", "tanh", "sinh", "cosh", "asin", "acos",
         "atan", "sigmoid", "max", "min", "pi", "E"}


def test_the_formula_set_uses_every_function_of_the_parser_table():
    from gdlab import expr

    assert set(expr.ALLOWED_FUNCTIONS) | set(expr.CONSTANTS) == TABLE
    used = {m for text, *_ in ALL for m in re.findall(r"[A-Za-z_]\w*", text)}
    assert TABLE <= used


@pytest.mark.parametrize("case", ALL, ids=IDS)
def test_values_agree_with_sympy_evalf(case):
    text, ref, names, _, _ = case
    f = Function(text)
    assert f.variables == tuple(names)
    P = _points(case)
    expected = np.array([_at(ref, names, p) for p in P])
    np.testing.assert_allclose(f.value(P), expected, rtol=1e-12, atol=1e-14)
    # one point at a time, by position and by name
    for p, e in zip(P[:2], expected[:2]):
        assert f(*p) == pytest.approx(e, rel=1e-12, abs=1e-14)
        assert f(**dict(zip(names, p))) == pytest.approx(e, rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("case", ALL, ids=IDS)
def test_value_and_grad_on_many_points_agree_with_sympy(case):
    text, ref, names, _, _ = case
    f = Function(text)
    P = _points(case)
    syms = [_MINE[n] for n in names]
    dref = [sympy.diff(ref, s) for s in syms]
    v, g = f.value_and_grad(P)
    assert v.shape == (len(P),) and g.shape == (len(P), len(names))
    exp_v = np.array([_at(ref, names, p) for p in P])
    exp_g = np.array([[_at(d, names, p) for d in dref] for p in P])
    np.testing.assert_allclose(v, exp_v, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(g, exp_g, rtol=1e-12, atol=1e-13)
    # grad_at: one point -> (d,), many -> (n, d)
    np.testing.assert_allclose(f.grad_at(P[0]), exp_g[0], rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(f.grad_at(P), exp_g, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("case", ALL, ids=IDS)
def test_gradient_agrees_with_finite_differences(case):
    text, _, names, _, _ = case
    f = Function(text)
    for p in _points(case):
        num = numeric_gradient(lambda q: f.value(q[None, :])[0], p)
        np.testing.assert_allclose(f.grad_at(p), num, rtol=1e-6, atol=1e-7)


def _second_order_cases():
    out = [pytest.param(c, id=c[0]) for c in SMOOTH]
    out += [pytest.param(c, id=c[0]) for c in KINKED]
    return out


@pytest.mark.parametrize("case", _second_order_cases())
def test_hessian_agrees_with_sympy_and_finite_differences(case):
    text, ref, names, _, _ = case
    f = Function(text)
    P = _points(case)
    syms = [_MINE[n] for n in names]
    href = [[sympy.diff(ref, a, b) for b in syms] for a in syms]
    H = f.hessian_at(P)
    d = len(names)
    assert H.shape == (len(P), d, d)
    for p, h in zip(P, H):
        exp_h = np.array([[_at(e, names, p) for e in row] for row in href])
        np.testing.assert_allclose(h, exp_h, rtol=1e-11, atol=1e-12)
        np.testing.assert_allclose(h, h.T, rtol=1e-12, atol=1e-13)
        num = numeric_hessian(lambda q: f.value(q[None, :])[0], p)
        np.testing.assert_allclose(h, num, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(exp_h).max()))
    np.testing.assert_allclose(f.hessian_at(P[0]), H[0], rtol=0, atol=0)
    # Function.hessian() (symbolic) says the same
    Hs = f.hessian()
    for i in range(d):
        for j in range(d):
            np.testing.assert_allclose(Hs[i][j].value(P), H[:, i, j], rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("case", _second_order_cases())
def test_derivatives_of_higher_order_agree_with_sympy(case):
    text, ref, names, _, _ = case
    f = Function(text)
    P = _points(case, n=3)
    for name in names:
        for order in (1, 2, 3):
            d = f.derivative(name, order)
            assert d.variables == f.variables
            exp = sympy.diff(ref, _MINE[name], order)
            expected = np.array([_at(exp, names, p) for p in P])
            np.testing.assert_allclose(d.value(P), expected, rtol=1e-10, atol=1e-11)


@pytest.mark.parametrize("case", KINKED, ids=[c[0] for c in KINKED])
def test_first_derivative_of_kinked_functions_is_the_one_sided_slope(case):
    """Away from the kink, d/dx of abs, max and min is an ordinary (piecewise) derivative."""
    text, ref, names, _, _ = case
    f = Function(text)
    for name in names:
        d = f.derivative(name)
        exp = sympy.diff(ref, _MINE[name])
        P = _points(case, n=4)
        np.testing.assert_allclose(d.value(P), [_at(exp, names, p) for p in P],
                                   rtol=1e-12, atol=1e-13)


def test_second_derivative_of_abs_away_from_zero_is_zero():
    """``d²/dx² (|x| + x²)`` is 2 for x != 0 (sympy: ``2*DiracDelta(x) + 2``)."""
    f = Function("abs(x) + x^2")
    np.testing.assert_allclose(f.derivative("x", 2).value(np.array([[1.5], [-0.5]])), [2.0, 2.0])
    np.testing.assert_allclose(f.hessian_at(1.5), [[2.0]])


def test_symbolic_derivative_one_variable_structurally_equal_to_sympy():
    f = Function("x^3 - 2*x + log(1 + x^2)")
    for order in (1, 2, 3):
        ref = _mine(f, sympy.diff(X**3 - 2 * X + sympy.log(1 + X**2), X, order))
        assert sympy.simplify(f.derivative("x", order).expr - ref) == 0


def test_variables_order_and_unused_variables():
    f = Function("x*y^2", variables=["y", "x"])
    np.testing.assert_array_equal(f.grad_at(2.0, 3.0), [12.0, 4.0])  # (d/dy, d/dx) at y=2, x=3
    np.testing.assert_array_equal(f.hessian_at([2.0, 3.0]), [[6.0, 4.0], [4.0, 0.0]])
    g = Function("x^2", variables=["x", "y"])
    np.testing.assert_array_equal(g.grad_at(3.0, 5.0), [6.0, 0.0])
    v, gr = g.value_and_grad(np.array([[1.0, 2.0], [3.0, 4.0]]))
    np.testing.assert_array_equal(v, [1.0, 9.0])
    np.testing.assert_array_equal(gr, [[2.0, 0.0], [6.0, 0.0]])


def test_one_variable_many_points():
    f = Function("x^2 + 2*x + 3")
    xs = np.array([-2.0, 0.0, 1.5])
    np.testing.assert_array_equal(f(xs), xs**2 + 2 * xs + 3)
    np.testing.assert_array_equal(f.grad_at(xs), (2 * xs + 2)[:, None])


def test_bad_requests_raise_parameter_error():
    f = Function("x^2 + y")
    with pytest.raises(ParameterError, match="which variable"):
        f.derivative()
    with pytest.raises(ParameterError, match="no variable 'z'"):
        f.derivative("z")
    with pytest.raises(ParameterError, match="order"):
        f.derivative("x", -1)
    with pytest.raises(ParameterError, match="2 values"):
        f(1.0, 2.0, 3.0)
    with pytest.raises(ParameterError, match="missing a value for y"):
        f(x=1.0)
    with pytest.raises(ParameterError, match="uses y"):
        Function("x^2 + y", variables=["x"])
    with pytest.raises(GdlabError):
        Function(object())


# ---- numeric derivatives ------------------------------------------------------------------------

def test_central_difference_is_much_more_accurate_than_forward():
    x = 1.0
    exact = math.exp(x)
    fwd = abs(numeric_derivative(math.exp, x, method="forward") - exact)
    cen = abs(numeric_derivative(math.exp, x) - exact)
    assert fwd < 1e-6
    assert cen < 1e-9
    assert cen < fwd / 100
    # with the textbook h = 1e-5: forward's error is ~h/2 f'', central's ~h²/6 f'''
    fwd_h = abs(numeric_derivative(math.exp, x, h=1e-5, method="forward") - exact)
    cen_h = abs(numeric_derivative(math.exp, x, h=1e-5) - exact)
    assert fwd_h == pytest.approx(1e-5 / 2 * exact, rel=0.01)
    assert cen_h < 1e-9


def test_numeric_derivatives_on_closed_forms():
    # central differences are exact for quadratics (up to rounding)
    assert numeric_derivative(lambda t: t**2 + 2 * t + 3, 2.0) == pytest.approx(6.0, abs=1e-9)
    assert numeric_derivative(math.sin, 0.7, order=2) == pytest.approx(-math.sin(0.7), abs=1e-6)
    with pytest.raises(ParameterError):
        numeric_derivative(math.sin, 0.7, method="backward")
    with pytest.raises(ParameterError):
        numeric_derivative(math.sin, 0.7, order=3)

    def f(v):
        x, y = v
        return math.exp(x) * math.sin(y) + x**3 * y

    def grad(v):
        x, y = v
        return np.array([math.exp(x) * math.sin(y) + 3 * x**2 * y,
                         math.exp(x) * math.cos(y) + x**3])

    def hess(v):
        x, y = v
        return np.array([[math.exp(x) * math.sin(y) + 6 * x * y,
                          math.exp(x) * math.cos(y) + 3 * x**2],
                         [math.exp(x) * math.cos(y) + 3 * x**2, -math.exp(x) * math.sin(y)]])

    p = np.array([0.4, -1.3])
    np.testing.assert_allclose(numeric_gradient(f, p), grad(p), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(numeric_hessian(f, p), hess(p), rtol=1e-6, atol=1e-6)
    # a scalar point works too
    np.testing.assert_allclose(numeric_gradient(math.exp, 0.5), [math.exp(0.5)], rtol=1e-9)


def test_check_gradient_flags_a_wrong_gradient_and_passes_a_right_one():
    def rosen(v):
        return (1 - v[0]) ** 2 + 100 * (v[1] - v[0] ** 2) ** 2

    def right(v):
        return np.array([-2 * (1 - v[0]) - 400 * v[0] * (v[1] - v[0] ** 2),
                         200 * (v[1] - v[0] ** 2)])

    def wrong(v):  # the classic slip: d/dx (y - x²)² without the chain rule's factor 2x
        return np.array([-2 * (1 - v[0]) - 200 * (v[1] - v[0] ** 2), 200 * (v[1] - v[0] ** 2)])

    for p in ([-1.2, 1.0], [0.3, 0.4], [2.0, -1.0]):
        assert check_gradient(rosen, right, p) < 1e-6
        assert check_gradient(rosen, wrong, p) > 0.1
    with pytest.raises(ParameterError):
        check_gradient(rosen, lambda v: np.zeros(3), [0.0, 0.0])
