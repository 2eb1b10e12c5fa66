"""Property-based tests of formula input: the parser, the texts gdlab writes and the compiled
evaluator, on formulas built from the grammar (hypothesis).

Every formula must end, within a time budget, in a result or a ``GdlabError``: no other
exception, no warning (warnings are errors here), no hang. The texts of a formula and of its
derivatives must be read back by the parser and mean the same.

These run in seconds as part of the suite. ``make fuzz`` runs them with many more examples:
``HYPOTHESIS_PROFILE=fuzz``, profile ``formula-fuzz`` below.
"""

from __future__ import annotations

import os
import time
import warnings
from contextlib import contextmanager
from unittest import mock

import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gdlab import Function
from gdlab import expr as expr_module
from gdlab.errors import FormulaError, GdlabError
from gdlab.expr import ALLOWED_FUNCTIONS, parse

settings.register_profile("formula-quick", max_examples=25, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow,
                                                 HealthCheck.filter_too_much])
settings.register_profile("formula-fuzz", max_examples=1500, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow,
                                                 HealthCheck.filter_too_much])
FUZZ = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"
PROFILE = settings(settings.get_profile("formula-fuzz" if FUZZ else "formula-quick"))
# parsing alone is cheap: more examples
PARSE_PROFILE = settings(PROFILE, max_examples=8000 if FUZZ else 100)
# the families are the slow ones (Hessians of 16 variables): fewer
FAMILY_PROFILE = settings(PROFILE, max_examples=1000 if FUZZ else 10)

BUDGET = 5.0   # seconds per formula, everything it is put through (generous: shared machines)

pytestmark = pytest.mark.filterwarnings("error")

# ---- the grammar ------------------------------------------------------------------------------

VARIABLES = ["x", "y", "z", "t", "self", "x1", "x2", "x10", "beta", "args", "ex"]
CONSTANTS = ["pi", "E", "e"]
NUMBERS = ["0", "1", "2", "3", "7", "12", "0.5", "2.5", ".75", "1e-3", "3E2", "10**300",
           "123456789012345678901234567890", "10**301", "2**-900", "(1/3)"]
UNARY = sorted(name for name in ALLOWED_FUNCTIONS if name not in ("max", "min"))


def _formulas(max_leaves: int = 10) -> st.SearchStrategy[str]:
    leaves = st.sampled_from(VARIABLES + CONSTANTS + NUMBERS)

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*", "/"]), inner)
            .map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(inner, st.sampled_from(["**", "^"]),
                      st.one_of(st.integers(-3, 5).map(str), st.just("0.5"), inner))
            .map(lambda t: f"({t[0]}){t[1]}({t[2]})"),
            st.tuples(st.sampled_from(UNARY), inner).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(st.sampled_from(["max", "min"]), st.lists(inner, min_size=2, max_size=6))
            .map(lambda t: f"{t[0]}({', '.join(t[1])})"),
            inner.map(lambda s: f"-{s}"),
        )

    return st.recursive(leaves, extend, max_leaves=max_leaves)


def _families() -> st.SearchStrategy[str]:
    """The shapes that once crashed or hung (issue "Formulas and minimize as people type
    them"): max/min of many symbolic arguments, power towers, a variable named ``self``, huge
    integers, abs inside second derivatives."""
    small = _formulas(3)
    many = st.integers(4, 16).flatmap(lambda n: st.lists(small, min_size=n, max_size=n))
    return st.one_of(
        st.tuples(st.sampled_from(["max", "min"]), many)
        .map(lambda t: f"{t[0]}({', '.join(t[1])})"),
        st.integers(2, 40).map(lambda n: "^".join(["x"] * n)),
        small.map(lambda s: f"self*6 + self*({s})"),
        st.tuples(st.sampled_from(["10**301", "123456789012345678901234567890", "10**300/7",
                                   "3**600"]), small)
        .map(lambda t: f"x*min(E, {t[0]}, 3) + sin({t[0]})*({t[1]})"),
        small.map(lambda s: f"abs(sqrt({s})) + tan(a)*abs(asin({s}))"),
    )


_MUTATIONS = [" ", "(", ")", "*", "^", ",", "x", "2", "sin", "e", "ln", "..", "_", "max("]


def _mutated() -> st.SearchStrategy[str]:
    """Grammar formulas with a token inserted or a character deleted: what people mistype."""
    def apply(t: tuple) -> str:
        text, where, what, delete = t
        k = where % (len(text) + 1)
        return text[:k] + text[k + 1:] if delete else text[:k] + what + text[k:]
    return st.tuples(_formulas(8), st.integers(0, 10**6), st.sampled_from(_MUTATIONS),
                     st.booleans()).map(apply)


# ---- helpers ------------------------------------------------------------------------------------

@contextmanager
def _budget(seconds: float = BUDGET):
    start = time.perf_counter()
    yield
    elapsed = time.perf_counter() - start
    assert elapsed < seconds, f"took {elapsed:.1f} s"


@contextmanager
def _large_texts():
    """The parser's size limits raised: a long derivative is still in its language."""
    with mock.patch.multiple(expr_module, MAX_LENGTH=10**7, MAX_NODES=10**7, MAX_NESTING=10**4,
                             MAX_DEPTH=180, TIME_BUDGET=60.0):
        yield


def _function(text: str) -> Function | None:
    try:
        return Function(text)
    except GdlabError:
        return None


def _points(f: Function, seed: int, n: int = 4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pts = rng.uniform(-3, 3, (n, f.n_vars))
    pts[0] = 0.0
    return pts


def _agree(a, b, variables: tuple[str, ...], seed: int) -> bool:
    """Two sympy expressions mean the same: equal, or equal values at random points (floats
    printed with 15 digits come back rounded)."""
    if a == b:
        return True
    fa, fb = Function(a, variables), Function(b, variables)
    pts = _points(fa, seed, 6)
    va, vb = fa.value(pts), fb.value(pts)
    same = np.isclose(va, vb, rtol=1e-6, atol=1e-9, equal_nan=True) | (va == vb)
    return bool(same.all())


# ---- properties ---------------------------------------------------------------------------------

@PARSE_PROFILE
@given(st.one_of(_formulas(), _mutated(), _families()))
def test_parse_returns_or_refuses_with_a_gdlab_error(text):
    with _budget(2.0):
        try:
            result = parse(text)
        except FormulaError as err:
            assert len(str(err)) < 400
            assert err.position is None or 0 <= err.position <= len(text)
        else:
            assert isinstance(result, sympy.Expr)
            assert all(s.is_real for s in result.free_symbols)


def _check_numbers(f: Function, seed: int) -> None:
    pts = _points(f, seed)
    try:
        v, g = f.value_and_grad(pts)
    except GdlabError:
        return
    assert v.shape == (len(pts),) and g.shape == (len(pts), f.n_vars)
    assert v.dtype == np.float64 and g.dtype == np.float64   # real numbers, inf or nan
    np.testing.assert_allclose(f.value(pts), v, rtol=1e-9, atol=1e-12)  # nan where v is nan
    part = f.undefined_part(pts[1])
    assert part is None or isinstance(part, str)
    if part is not None:
        with _large_texts():
            parse(part)


@PROFILE
@given(_formulas(), st.integers(0, 2**32 - 1))
def test_compiled_values_and_gradients_or_a_gdlab_error(text, seed):
    with _budget():
        f = _function(text)
        if f is not None:
            _check_numbers(f, seed)


@PROFILE
@given(_formulas(), st.integers(0, 2**32 - 1))
def test_texts_of_a_formula_and_its_derivatives_read_back(text, seed):
    with _budget():
        f = _function(text)
        if f is None:
            return
        with _large_texts():
            assert _agree(parse(f.text), f.expr, f.variables, seed), f.text
            for v in f.variables:
                try:
                    d = f.derivative(v)
                except GdlabError:   # too complex to differentiate
                    continue
                back = parse(d.text)
                assert _agree(back, d.expr, f.variables, seed), (v, d.text)


@FAMILY_PROFILE
@given(_families(), st.integers(0, 2**32 - 1))
def test_the_families_that_once_failed_end_in_a_result_or_a_gdlab_error(text, seed):
    with _budget(2 * BUDGET):
        f = _function(text)
        if f is None:
            return
        _check_numbers(f, seed)
        x = _points(f, seed)[1]
        try:
            h = f.hessian_at(x)
            assert h.shape == (f.n_vars, f.n_vars) and h.dtype == np.float64
        except GdlabError:
            pass
        L = f.max_curvature(x)
        assert L is None or (np.isfinite(L) and L > 0)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                texts = [f.derivative(v).text for v in f.variables]
            except GdlabError:
                texts = []
        with _large_texts():
            for t in texts:
                parse(t)
