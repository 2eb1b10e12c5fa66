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

import json
import math
import re
import time
import zlib

import numpy as np
import pytest
import sympy

import gdlab
from gdlab import Function, check_gradient, numeric_derivative, numeric_gradient, numeric_hessian
from gdlab.cli import main
from gdlab.errors import FormulaError, GdlabError, ParameterError

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
    ("ln(x) + e^(x*y) - e*y",
     sympy.log(X) + sympy.exp(X * Y) - sympy.E * Y, "xy", [(0.2, 2), (-1, 1)], None),
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
    ("sign(x)*y^2 + heaviside(y - 1)*x^3 + abs(x*y)",
     sympy.sign(X) * Y**2 + sympy.Heaviside(Y - 1) * X**3 + sympy.Abs(X * Y), "xy",
     [(-2, 2), (-2, 2)], _no_kink(lambda p: p[0], lambda p: p[1] - 1, lambda p: p[1])),
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
         "atan", "sigmoid", "max", "min", "pi", "E", "e", "ln", "sign", "heaviside"}


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


def test_a_few_rows_give_the_numbers_of_the_same_rows_among_many():
    """Up to calculus._ROWS_BY_SCALARS rows, the compiled code runs on each row's numpy
    scalars instead of on columns: every value, gradient and Hessian entry must be the
    same to the bit (x**2, 1/x and x**0.5 are named functions in the code for that)."""
    from gdlab import calculus
    from gdlab.functions import FUNCTIONS

    texts = [c[0] for c in ALL] + [
        "x**2.0 + y**0.5 + 1/(x + y) + x**-1 + (x*y)**2 + x**3 - y**-2 + x**1.5",
        "0.5 + (sin(x**2 - y**2)**2 - 0.5)/(1 + 0.001*(x**2 + y**2))**2",
        "max(x, y, x*y, 1 - x) + min(x**2, y) + abs(x)**0.5"] + sorted(FUNCTIONS)
    assert calculus._ROWS_BY_SCALARS >= 1
    rng = np.random.default_rng(7)
    for text in texts:
        f = Function(text)
        P = rng.uniform(0.1, 2.0, size=(calculus._ROWS_BY_SCALARS + 5, f.n_vars))
        P[-1, 0] = 0.0  # zeros and powers of zero, where the last bits are most fragile
        many_v, many_g = f.value_and_grad(P)
        many_h = f.hessian_at(P)
        many_values = f.value(P)  # compiled apart from the gradient: its own rounding
        for i in range(len(P)):
            v, g = f.value_and_grad(P[i:i + 1])
            np.testing.assert_array_equal(v, many_v[i:i + 1], err_msg=text)
            np.testing.assert_array_equal(g, many_g[i:i + 1], err_msg=text)
            np.testing.assert_array_equal(f.hessian_at(P[i]), many_h[i], err_msg=text)
            np.testing.assert_array_equal(f.value(P[i:i + 1]), many_values[i:i + 1],
                                          err_msg=text)


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


# ---- formulas as people type them (issue "Formulas and minimize as people type them") ---------

def _within(seconds, call):
    """``call()``, which must return or raise a GdlabError within ``seconds``."""
    start = time.perf_counter()
    try:
        out = call()
    except GdlabError as err:
        out = err
    elapsed = time.perf_counter() - start
    assert elapsed < seconds, f"took {elapsed:.1f} s"
    return out


def test_e_is_eulers_number_and_ln_is_the_natural_log(capsys):
    f = Function("e^x")
    assert f.variables == ("x",)
    assert f.derivative("x").text == "exp(x)"  # not e**x*log(e): e is no variable
    assert Function("2*e^(3*x)").derivative("x").text == "6*exp(3*x)"
    assert Function("ln(x)").derivative("x").text == "1/x"
    assert Function("ln(x^2 + 1)").expr == Function("log(x^2 + 1)").expr
    assert Function("E^x").expr == f.expr and Function("e").variables == ()
    assert f(1.0) == pytest.approx(math.e, rel=1e-15)
    assert main(["diff", "e^x"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "exp(x)"
    assert main(["diff", "ln(x) + e*x"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "E + 1/x"


@pytest.mark.parametrize("typo, name", [
    ("rosenbrok", "rosenbrock"), ("himmelblaw", "himmelblau"), ("Rosenbrok", "rosenbrock"),
    ("rastrigen", "rastrigin"), ("six-hump-camle", "six-hump-camel"),
    ("three_hump_camle", "three-hump-camel"), ("  mccormik ", "mccormick"), ("goldstien-price",
                                                                          "goldstein-price"),
])
def test_a_misspelt_test_function_is_refused_with_did_you_mean(typo, name, capsys):
    with pytest.raises(FormulaError, match="unknown test function") as info:
        Function(typo)
    assert info.value.hint == f"did you mean {name!r}?"
    assert f"did you mean {name!r}?" in str(info.value)
    # minimize would otherwise descend a variable called 'rosenbrok' to -1e16
    with pytest.raises(FormulaError, match="did you mean"):
        gdlab.minimize(typo)
    assert main(["minimize", typo]) == 2
    assert f"did you mean {name!r}?" in capsys.readouterr().err


def test_names_that_are_not_typos_are_formulas():
    for text, variables in [("x", ("x",)), ("t", ("t",)), ("beta", ("beta",)),
                            ("theta", ("theta",)), ("cost", ("cost",)), ("x1 - x2", ("x1", "x2")),
                            ("alpha - beta", ("alpha", "beta")), ("loss_1", ("loss_1",))]:
        assert Function(text).variables == variables
    assert Function("rosenbrock").test_function.name == "rosenbrock"
    assert Function("Six Hump Camel").test_function.name == "six-hump-camel"
    # a variable that looks like a typo is still possible, by naming it
    f = Function("rosenbrok", variables=["rosenbrok"])
    assert f.variables == ("rosenbrok",) and f(2.0) == 2.0


def test_variables_in_natural_order(capsys):
    f = Function("x10 + 2*x2 + 3*x1")
    assert f.variables == ("x1", "x2", "x10")
    np.testing.assert_array_equal(f.grad_at([0.0, 0.0, 0.0]), [3.0, 2.0, 1.0])
    assert [g.text for g in f.gradient()] == ["3", "2", "1"]
    assert f(1.0, 2.0, 3.0) == 3 + 4 + 3
    assert Function("w12*b2 + w2*b10 + w1").variables == ("b2", "b10", "w1", "w2", "w12")
    assert main(["grad", "x10 + 2*x2 + 3*x1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["variables"] == ["x1", "x2", "x10"]


def test_missing_parentheses_get_a_hint_that_fits(capsys):
    with pytest.raises(FormulaError) as info:
        Function("sin x")
    assert info.value.hint == "did you mean sin(x)?"
    assert main(["diff", "cos 2x"]) == 2
    assert "did you mean cos(2*x)?" in capsys.readouterr().err
    assert main(["diff", "2x"]) == 2
    assert "did you mean 2*x?" in capsys.readouterr().err


def _parsed(text):
    from gdlab.expr import parse
    return parse(text)


def test_texts_are_in_the_parsers_language():
    f = Function("max(x, y) + abs(x)*min(x, 2, y) + sign(y)*heaviside(x - 1)")
    assert f.text == "abs(x)*min(2, x, y) + heaviside(x - 1)*sign(y) + max(x, y)"
    assert _parsed(f.text) == f.expr
    dx = f.derivative("x")
    assert "heaviside" in dx.text and "sign" in dx.text
    for text in (dx.text, f.derivative("y").text, f.derivative("x", 2).text):
        assert not re.search(r"Max|Min|Abs|Heaviside|DiracDelta|Derivative", text)
        assert _parsed(text) == Function(_parsed(text)).expr
    for row in f.hessian():
        for h in row:
            _parsed(h.text)
    assert _parsed(Function("x + sin(10**301)").text) == Function("x + sin(10**301)").expr
    big = Function("x*(3**600 + 1) - 10**300/7")
    assert _parsed(big.text) == big.expr


def test_derivatives_of_kinks_hold_almost_everywhere():
    f = Function("abs(x)")
    assert f.derivative("x").text == "sign(x)"
    assert f.derivative("x", 2).expr == 0  # sympy: 2*DiracDelta(x)
    g = Function("max(x, y)")
    assert [p.text for p in g.gradient()] == ["heaviside(x - y)", "heaviside(-x + y)"]
    np.testing.assert_array_equal(g.grad_at(2.0, 1.0), [1.0, 0.0])
    np.testing.assert_array_equal(g.grad_at(1.0, 1.0), [0.5, 0.5])  # heaviside(0) = 1/2
    np.testing.assert_array_equal(Function("min(x, y)").grad_at(2.0, 1.0), [0.0, 1.0])
    np.testing.assert_array_equal(Function("abs(x)").grad_at(0.0), [0.0])  # sign(0) = 0
    # many arguments: split in halves, a subgradient (the weights add up to 1)
    m = Function("max(a, b, c, d, f)")
    np.testing.assert_array_equal(m.grad_at([1, 5, 3, 2, 4]), [0, 1, 0, 0, 0])
    assert m.grad_at([1, 1, 1, 1, 1]).sum() == 1.0
    np.testing.assert_array_equal(m.hessian_at([1, 5, 3, 2, 4]), np.zeros((5, 5)))


def test_max_and_min_of_many_arguments_compute_fast():
    names = ", ".join(f"x{k}" for k in range(16))
    for text in (f"max({names})", f"min({names})",
                 "max(" + ", ".join(f"x{k}*sin(x{(k + 1) % 16}) + x{k}^2" for k in range(16))
                 + ")"):
        f = Function(text)
        pts = np.random.default_rng(0).normal(size=(5, 16))
        v, g = _within(10, lambda f=f, pts=pts: f.value_and_grad(pts))
        assert v.shape == (5,) and g.shape == (5, 16) and np.isfinite(g).all()
        num = numeric_gradient(lambda q, f=f: f.value(q[None, :])[0], pts[0])
        np.testing.assert_allclose(g[0], num, rtol=1e-5, atol=1e-6)
        assert _within(10, lambda f=f, pts=pts: f.hessian_at(pts[0])).shape == (16, 16)
    r = _within(30, lambda: gdlab.minimize("max(a, b, c, d, f)", x0=[1, 2, 3, 4, 5],
                                           max_iter=200))
    assert r.fun < 5
    with pytest.raises(GdlabError, match="4 value"):  # e is Euler's number, not a variable
        gdlab.minimize("max(a, b, c, d, e)", x0=[1, 2, 3, 4, 5])


def test_a_derivative_too_complex_to_build_is_refused_fast():
    tower = Function("^".join(["x"] * 40))
    d = _within(3, lambda: tower.derivative("x"))
    assert d(1.1) == pytest.approx(numeric_derivative(tower, 1.1), rel=1e-6)
    for call in (lambda: tower.derivative("x", 2), lambda: tower.hessian_at(1.1),
                 lambda: tower.hessian()):
        err = _within(2, call)
        assert isinstance(err, FormulaError) and "too complex to differentiate" in str(err)
    assert tower.max_curvature(np.array([1.1])) is None
    product = Function("*".join(f"(x + {k})" for k in range(200)))
    err = _within(2, lambda: product.value_and_grad(np.ones((1, 1))))
    assert isinstance(err, FormulaError) and "too complex" in str(err)


def test_a_hessian_of_many_variables_is_refused():
    f = Function("+".join(f"x{k}^2" for k in range(1, 150)))
    assert _within(10, lambda: f.value_and_grad(np.ones((2, 149))))[1].shape == (2, 149)
    err = _within(2, lambda: f.hessian_at(np.ones(149)))
    assert isinstance(err, FormulaError) and "Hessian" in str(err)
    assert f.max_curvature(np.ones(149)) is None


def test_variables_named_like_python_parameters(capsys):
    f = Function("self*6 + x*self")
    assert f(self=1.0, x=2.0) == 8.0
    np.testing.assert_array_equal(f.grad_at(self=1.0, x=2.0), [8.0, 1.0])  # (self, x)
    np.testing.assert_array_equal(f.hessian_at(self=1.0, x=2.0), [[0.0, 1.0], [1.0, 0.0]])
    assert main(["grad", "self*6", "--at", "self=1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["value"] == [6.0]
    assert Function("args + kwargs")(args=1.0, kwargs=2.0) == 3.0


def test_huge_integer_constants_compute_as_floats():
    assert Function("x + sin(10**301)")(1.0) == pytest.approx(1 + math.sin(1e301))
    f = Function("x*min(E, 123456789012345678901234567890, 3)")
    assert f(1.0) == pytest.approx(math.e)
    np.testing.assert_allclose(f.grad_at(1.0), [math.e])
    g = Function("123456789012345678901234567890*x^2 - x*10**300")
    np.testing.assert_allclose(g.grad_at(1.0), [2 * 123456789012345678901234567890 - 1e300])
    h = Function("exp(10**200*x)")
    assert h.derivative("x")(0.0) == 1e200
    with pytest.raises(FormulaError, match="beyond about 1e301"):  # 10**400: no text for it
        h.derivative("x", 2)


def test_second_derivatives_through_abs_compute():
    f = Function("abs(sqrt(x))")
    np.testing.assert_allclose(f.hessian_at(1.0), [[-0.25]])
    assert f.derivative("x").text == "sign(sqrt(x))/(2*sqrt(x))"
    g = Function("tan(a) + abs(asin(z))")
    assert g.max_curvature(np.array([0.1, 0.2])) == pytest.approx(
        abs(2 * math.tan(0.1) * (1 + math.tan(0.1) ** 2)) if False else
        max(abs(np.linalg.eigvalsh(g.hessian_at(0.1, 0.2)))), rel=1e-12)
    np.testing.assert_allclose(
        g.hessian_at(0.1, 0.2),
        numeric_hessian(lambda q: g.value(q[None, :])[0], [0.1, 0.2]), rtol=1e-5, atol=1e-6)


@pytest.mark.filterwarnings("error")
def test_no_warning_leaks_from_undefined_numbers():
    f = Function("log(x) + sqrt(y) + asin(x*y) + 1/(x - y) + x^y + max(log(x), y, x, -y)")
    pts = np.array([[-1.0, -2.0], [0.0, 0.0], [2.0, 2.0], [1e308, 1e308], [np.nan, 1.0]])
    v, g = f.value_and_grad(pts)
    assert v.shape == (5,) and g.shape == (5, 2)
    assert f.hessian_at(pts).shape == (5, 2, 2)
    assert f.undefined_part([-1.0, -2.0]) is not None


# ---- where a formula is undefined ----------------------------------------------------------------

@pytest.mark.parametrize("text, point, part", [
    ("log(x) + x**2", [-1.0], "log(x)"),
    ("x**2 + log(x)", [-1.0], "log(x)"),
    ("sqrt(x - 2) + log(y)", [1.0, 1.0], "sqrt(x - 2)"),
    ("asin(x)*y", [2.0, 1.0], "asin(x)"),
    ("acos(x/3) + 1", [4.0], "acos(x/3)"),
    ("x/y + 1", [0.0, 0.0], "x/y"),
    ("sin(x)/x", [0.0], "sin(x)/x"),
    ("log(x) + sqrt(x)", [-1.0], "log(x)"),                # the smaller of two
    ("max(log(x), 1) + 2", [-1.0], "log(x)"),
    ("exp(x) - exp(2*x)", [1000.0], "-exp(2*x) + exp(x)"),  # inf - inf
    ("(x - 3)^0.5 + y", [1.0, 2.0], "(x - 3)**0.5"),
    ("x^(1/3)", [-8.0], "x**(1/3)"),
])
def test_undefined_part_names_the_smallest_part_that_is_nan(text, point, part):
    f = Function(text)
    found = f.undefined_part(np.array(point))
    assert found == part
    assert np.isnan(Function(_parsed(found), f.variables)(*point))


def test_undefined_part_is_none_where_defined_and_never_raises():
    f = Function("log(x) + y^2")
    assert f.undefined_part([1.0, 2.0]) is None
    assert f.undefined_part([0.0, 2.0]) is None    # -inf is a value, not undefined
    assert f.undefined_part([1.0]) is None          # wrong length
    assert f.undefined_part("junk") is None
    assert Function("3").undefined_part([]) is None
    assert Function("x").undefined_part([np.nan]) == "x"


def test_undefined_part_is_fast_on_large_formulas():
    text = "+".join(f"log(x{k % 30} - {k})*sin(x{(k + 1) % 30})*y^{k % 7}" for k in range(60))
    f = Function(text)
    start = time.perf_counter()
    found = f.undefined_part(np.full(f.n_vars, 0.5))
    assert time.perf_counter() - start < 1.0
    assert re.fullmatch(r"log\(x(\d+) - (\d+)\)", found)
    assert np.isnan(Function(_parsed(found), f.variables)(np.full(f.n_vars, 0.5)))
