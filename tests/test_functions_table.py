"""The table of named test functions in gdlab.functions, checked against independent code.

Each formula text is evaluated through sympy and compared to a numpy
implementation written here from the textbook definition; every listed
minimizer must give fmin with zero gradient, and a grid over the domain must
find nothing below fmin.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import sympy

from gdlab import functions
from gdlab.errors import GdlabError, ParameterError
from gdlab.functions import FUNCTIONS, TestFunction

X, Y = sympy.symbols("x y", real=True)
_T = sympy.Symbol("t")
SYMPY_LOCALS = {
    "x": X,
    "y": Y,
    "pi": sympy.pi,
    "E": sympy.E,
    "sigmoid": sympy.Lambda(_T, 1 / (1 + sympy.exp(-_T))),
    "max": sympy.Max,
    "min": sympy.Min,
    "abs": sympy.Abs,
}
ALLOWED_NAMES = {
    "sin", "cos", "tan", "exp", "log", "sqrt", "abs", "tanh", "sinh", "cosh",
    "asin", "acos", "atan", "sigmoid", "max", "min", "pi", "E",
}


# --- independent numpy implementations (textbook definitions) --------------

def _rosenbrock(x, y):
    a, b = 1.0, 100.0
    return (a - x) ** 2 + b * (y - x**2) ** 2


def _beale(x, y):
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def _booth(x, y):
    return (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2


def _himmelblau(x, y):
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


def _matyas(x, y):
    return 0.26 * (x**2 + y**2) - 0.48 * x * y


def _three_hump_camel(x, y):
    return 2 * x**2 - 1.05 * x**4 + x**6 / 6 + x * y + y**2


def _goldstein_price(x, y):
    a = 1 + (x + y + 1) ** 2 * (19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2)
    b = 30 + (2 * x - 3 * y) ** 2 * (18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y + 27 * y**2)
    return a * b


def _rastrigin(x, y):
    A = 10.0
    return 2 * A + sum(v**2 - A * np.cos(2 * np.pi * v) for v in (x, y))


def _ackley(x, y):
    a, b, c, d = 20.0, 0.2, 2 * np.pi, 2
    s1 = (x**2 + y**2) / d
    s2 = (np.cos(c * x) + np.cos(c * y)) / d
    return -a * np.exp(-b * np.sqrt(s1)) - np.exp(s2) + a + np.e


def _styblinski_tang(x, y):
    return sum(v**4 - 16 * v**2 + 5 * v for v in (x, y)) / 2


def _six_hump_camel(x, y):
    return (4 - 2.1 * x**2 + x**4 / 3) * x**2 + x * y + (-4 + 4 * y**2) * y**2


def _mccormick(x, y):
    return np.sin(x + y) + (x - y) ** 2 - 1.5 * x + 2.5 * y + 1


def _easom(x, y):
    return -np.cos(x) * np.cos(y) * np.exp(-((x - np.pi) ** 2) - (y - np.pi) ** 2)


REFERENCE = {
    "rosenbrock": _rosenbrock,
    "beale": _beale,
    "booth": _booth,
    "himmelblau": _himmelblau,
    "matyas": _matyas,
    "three-hump-camel": _three_hump_camel,
    "goldstein-price": _goldstein_price,
    "rastrigin": _rastrigin,
    "ackley": _ackley,
    "styblinski-tang": _styblinski_tang,
    "six-hump-camel": _six_hump_camel,
    "mccormick": _mccormick,
    "easom": _easom,
}

# Literature values (Surjanovic & Bingham / Wikipedia), to a few digits, as a
# cross-check on the precise numbers in the table.
LITERATURE_FMIN = {
    "rosenbrock": 0.0, "beale": 0.0, "booth": 0.0, "himmelblau": 0.0, "matyas": 0.0,
    "three-hump-camel": 0.0, "goldstein-price": 3.0, "rastrigin": 0.0, "ackley": 0.0,
    "styblinski-tang": -39.16617 * 2, "six-hump-camel": -1.0316, "mccormick": -1.9133,
    "easom": -1.0,
}

ALL = sorted(FUNCTIONS)


def _sympy_expr(fn: TestFunction) -> sympy.Expr:
    return sympy.sympify(fn.formula.replace("^", "**"), locals=SYMPY_LOCALS)


_CACHE: dict[str, tuple] = {}


def _compiled(name: str):
    """(expr, f, grad) with f and grad lambdified to numpy."""
    if name not in _CACHE:
        expr = _sympy_expr(FUNCTIONS[name])
        f = sympy.lambdify((X, Y), expr, "numpy")
        grad = [sympy.lambdify((X, Y), sympy.diff(expr, v), "numpy") for v in (X, Y)]
        _CACHE[name] = (expr, f, grad)
    return _CACHE[name]


# --- table shape -----------------------------------------------------------

def test_expected_functions_present():
    assert set(REFERENCE) == set(FUNCTIONS)
    assert functions.names() == list(FUNCTIONS)


@pytest.mark.parametrize("name", ALL)
def test_entry_well_formed(name):
    fn = FUNCTIONS[name]
    assert isinstance(fn, TestFunction)
    assert fn.name == name == name.lower()
    assert fn.title and fn.description and "\n" not in fn.description
    assert fn.variables == ("x", "y")
    assert len(fn.bounds) == 2
    for lo, hi in fn.bounds:
        assert lo < hi
    assert len(fn.minima) >= 1
    for m in fn.minima:
        assert len(m) == 2
        for v, (lo, hi) in zip(m, fn.bounds):
            assert lo <= v <= hi
    assert len(set(fn.minima)) == len(fn.minima)
    assert fn.fmin == pytest.approx(LITERATURE_FMIN[name], abs=1e-4)
    with pytest.raises(AttributeError):
        fn.fmin = 1.0  # frozen


@pytest.mark.parametrize("name", ALL)
def test_formula_uses_only_gdlab_syntax(name):
    fn = FUNCTIONS[name]
    assert re.fullmatch(r"[0-9A-Za-z_.+\-*/^() ]+", fn.formula), fn.formula
    idents = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", fn.formula))
    assert idents <= ALLOWED_NAMES | set(fn.variables), idents - ALLOWED_NAMES
    assert _sympy_expr(fn).free_symbols == {X, Y}


def test_known_minimizer_counts():
    assert len(FUNCTIONS["himmelblau"].minima) == 4
    assert len(FUNCTIONS["six-hump-camel"].minima) == 2
    assert FUNCTIONS["ackley"].smooth is False
    assert all(fn.smooth for n, fn in FUNCTIONS.items() if n != "ackley")
    assert FUNCTIONS["rosenbrock"].valley and FUNCTIONS["beale"].valley


# --- values ----------------------------------------------------------------

@pytest.mark.parametrize("name", ALL)
def test_formula_matches_independent_implementation(name):
    fn = FUNCTIONS[name]
    _, f, _ = _compiled(name)
    rng = np.random.default_rng(sum(map(ord, name)))
    (x0, x1), (y0, y1) = fn.bounds
    x = rng.uniform(x0, x1, 500)
    y = rng.uniform(y0, y1, 500)
    # also points near each minimizer, where the interesting structure is
    for mx, my in fn.minima:
        x = np.concatenate([x, mx + rng.normal(0, 0.1, 50)])
        y = np.concatenate([y, my + rng.normal(0, 0.1, 50)])
    got = np.broadcast_to(f(x, y), x.shape)
    want = REFERENCE[name](x, y)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("name", ALL)
def test_minimizers_give_fmin(name):
    fn = FUNCTIONS[name]
    _, f, _ = _compiled(name)
    for m in fn.minima:
        assert abs(float(f(*m)) - fn.fmin) < 1e-8, m
        assert abs(float(REFERENCE[name](*m)) - fn.fmin) < 1e-8, m


@pytest.mark.parametrize("name", [n for n in ALL if FUNCTIONS[n].smooth])
def test_gradient_vanishes_at_minimizers(name):
    fn = FUNCTIONS[name]
    _, _, grad = _compiled(name)
    for m in fn.minima:
        g = np.array([float(gi(*m)) for gi in grad])
        assert np.linalg.norm(g) < 1e-6, (m, g)


@pytest.mark.parametrize("name", ALL)
def test_fmin_is_global_on_grid(name):
    fn = FUNCTIONS[name]
    (x0, x1), (y0, y1) = fn.bounds
    xx, yy = np.meshgrid(np.linspace(x0, x1, 401), np.linspace(y0, y1, 401))
    values = REFERENCE[name](xx, yy)
    assert np.all(np.isfinite(values))
    assert values.min() >= fn.fmin - 1e-9


@pytest.mark.parametrize("name", ALL)
def test_fmin_is_global_local_refinement(name):
    """Polish the best grid points with scipy; none may beat fmin.

    (Catches minima between grid nodes.)
    """
    optimize = pytest.importorskip("scipy.optimize")
    fn = FUNCTIONS[name]
    (x0, x1), (y0, y1) = fn.bounds
    xx, yy = np.meshgrid(np.linspace(x0, x1, 201), np.linspace(y0, y1, 201))
    values = REFERENCE[name](xx, yy).ravel()
    best = np.argsort(values)[:20]
    ref = REFERENCE[name]
    for i in best:
        res = optimize.minimize(lambda p: ref(p[0], p[1]), [xx.ravel()[i], yy.ravel()[i]],
                                method="Nelder-Mead", bounds=fn.bounds,
                                options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 4000})
        assert res.fun >= fn.fmin - 1e-9, res.x


# --- lookup ----------------------------------------------------------------

@pytest.mark.parametrize("variant", [
    "three-hump-camel", "three-hump camel", "three_hump_camel", "threehumpcamel",
    "Three Hump Camel", "THREE-HUMP-CAMEL", " three hump camel ",
])
def test_get_accepts_variants(variant):
    assert functions.get(variant) is FUNCTIONS["three-hump-camel"]


@pytest.mark.parametrize("name", ALL)
def test_get_by_name_and_title(name):
    fn = FUNCTIONS[name]
    assert functions.get(name) is fn
    assert functions.get(fn.title) is fn
    assert functions.get(name.replace("-", "_").upper()) is fn


def test_get_unknown_suggests():
    with pytest.raises(ParameterError) as info:
        functions.get("rosenbrok")
    msg = str(info.value)
    assert "rosenbrok" in msg
    assert "did you mean 'rosenbrock'?" in msg
    assert "gdlab functions" in msg
    assert isinstance(info.value, GdlabError) and isinstance(info.value, ValueError)


def test_get_unknown_suggestion_uses_canonical_name():
    with pytest.raises(ParameterError, match="did you mean 'six-hump-camel'"):
        functions.get("six_hump_camle")


def test_get_unknown_without_close_match():
    with pytest.raises(ParameterError) as info:
        functions.get("zzzzzz")
    msg = str(info.value)
    assert "did you mean" not in msg
    assert "run `gdlab functions` to list them" in msg.lower()


@pytest.mark.parametrize("bad", [None, 3, ("rosenbrock",)])
def test_get_non_string(bad):
    with pytest.raises(ParameterError):
        functions.get(bad)


# --- through gdlab.expr, when it exists ------------------------------------

@pytest.mark.parametrize("name", ALL)
def test_gdlab_expr_parse_agrees(name):
    expr_mod = pytest.importorskip("gdlab.expr")
    parse = getattr(expr_mod, "parse", None)
    if parse is None:
        pytest.skip("gdlab.expr.parse not available yet")
    fn = FUNCTIONS[name]
    parsed = parse(fn.formula)
    assert isinstance(parsed, sympy.Expr)
    syms = {s.name: s for s in parsed.free_symbols}
    assert set(syms) == {"x", "y"}
    f = sympy.lambdify((syms["x"], syms["y"]), parsed, "numpy")
    _, ref, _ = _compiled(name)
    rng = np.random.default_rng(7)
    (x0, x1), (y0, y1) = fn.bounds
    x = rng.uniform(x0, x1, 200)
    y = rng.uniform(y0, y1, 200)
    np.testing.assert_allclose(np.broadcast_to(f(x, y), x.shape), ref(x, y),
                               rtol=1e-12, atol=1e-10)
