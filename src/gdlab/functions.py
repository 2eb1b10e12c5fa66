"""Named two-variable optimization test functions.

Each entry is a :class:`TestFunction`: the formula as gdlab formula text in the
variables ``x`` and ``y`` (feed it to ``gdlab.expr.parse``), the usual search
domain, every known global minimizer and the global minimum value.

Definitions, domains, minimizers and values follow Surjanovic & Bingham's
*Virtual Library of Simulation Experiments* (sfu.ca/~ssurjano) and Wikipedia's
"Test functions for optimization".  Non-integer minimizers were computed to 40
significant digits with mpmath (Newton on the gradient) and rounded to double
precision.

This module is deliberately import-light (stdlib only): it holds text and
numbers, not sympy expressions.

>>> from gdlab import functions
>>> functions.get("Three-Hump Camel").name
'three-hump-camel'
>>> functions.get("rosenbrock").minima
((1.0, 1.0),)
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass

from gdlab.errors import ParameterError

__all__ = ["TestFunction", "FUNCTIONS", "get", "names", "suggest"]


@dataclass(frozen=True)
class TestFunction:
    """One named test function of two variables.

    Attributes
    ----------
    name : str
        Canonical lower-case key, e.g. ``"rosenbrock"`` or ``"six-hump-camel"``.
    title : str
        Display name, e.g. ``"Six-hump camel"``.
    formula : str
        Formula text in gdlab syntax, using only the variables in ``variables``.
    variables : tuple of str
        ``("x", "y")``.
    bounds : tuple of (float, float)
        The usual search domain, one ``(low, high)`` pair per variable.
    minima : tuple of tuple of float
        All known global minimizers inside ``bounds``.
    fmin : float
        The global minimum value.
    description : str
        One line about the function's shape / what makes it hard.
    valley : bool
        True for narrow-valley / huge-range functions where log-spaced contour
        levels (of ``f - fmin``) show the landscape better.
    smooth : bool
        False if the gradient is undefined somewhere in the domain (e.g. Ackley
        at the origin, through ``sqrt``).
    """

    __test__ = False  # not a pytest test class, despite the name

    name: str
    title: str
    formula: str
    variables: tuple[str, ...]
    bounds: tuple[tuple[float, float], ...]
    minima: tuple[tuple[float, ...], ...]
    fmin: float
    description: str
    valley: bool = False
    smooth: bool = True


_XY = ("x", "y")

_TABLE = (
    TestFunction(
        name="rosenbrock",
        title="Rosenbrock",
        formula="(1 - x)^2 + 100*(y - x^2)^2",
        variables=_XY,
        bounds=((-2.0, 2.0), (-1.0, 3.0)),
        minima=((1.0, 1.0),),
        fmin=0.0,
        description="Banana-shaped valley (a=1, b=100): easy to reach the valley, slow to "
                    "crawl along it.",
        valley=True,
    ),
    TestFunction(
        name="beale",
        title="Beale",
        formula="(1.5 - x + x*y)^2 + (2.25 - x + x*y^2)^2 + (2.625 - x + x*y^3)^2",
        variables=_XY,
        bounds=((-4.5, 4.5), (-4.5, 4.5)),
        minima=((3.0, 0.5),),
        fmin=0.0,
        description="Flat centre, sharp ridges at the corners and a narrow curved valley to "
                    "the minimum.",
        valley=True,
    ),
    TestFunction(
        name="booth",
        title="Booth",
        formula="(x + 2*y - 7)^2 + (2*x + y - 5)^2",
        variables=_XY,
        bounds=((-10.0, 10.0), (-10.0, 10.0)),
        minima=((1.0, 3.0),),
        fmin=0.0,
        description="A tilted, mildly elongated quadratic bowl: the easy case.",
    ),
    TestFunction(
        name="himmelblau",
        title="Himmelblau",
        formula="(x^2 + y - 11)^2 + (x + y^2 - 7)^2",
        variables=_XY,
        bounds=((-5.0, 5.0), (-5.0, 5.0)),
        minima=(
            (3.0, 2.0),
            (-2.805118086952745, 3.131312518250573),
            (-3.779310253377747, -3.283185991286169),
            (3.584428340330492, -1.848126526964404),
        ),
        fmin=0.0,
        description="Four equal global minima: where descent ends depends on where it starts.",
    ),
    TestFunction(
        name="matyas",
        title="Matyas",
        formula="0.26*(x^2 + y^2) - 0.48*x*y",
        variables=_XY,
        bounds=((-10.0, 10.0), (-10.0, 10.0)),
        minima=((0.0, 0.0),),
        fmin=0.0,
        description="Plate-shaped quadratic, very flat along the diagonal x = y.",
    ),
    TestFunction(
        name="three-hump-camel",
        title="Three-hump camel",
        formula="2*x^2 - 1.05*x^4 + x^6/6 + x*y + y^2",
        variables=_XY,
        bounds=((-5.0, 5.0), (-5.0, 5.0)),
        minima=((0.0, 0.0),),
        fmin=0.0,
        description="One global minimum between two local ones (the three humps).",
    ),
    TestFunction(
        name="goldstein-price",
        title="Goldstein-Price",
        formula=(
            "(1 + (x + y + 1)^2*(19 - 14*x + 3*x^2 - 14*y + 6*x*y + 3*y^2))"
            "*(30 + (2*x - 3*y)^2*(18 - 32*x + 12*x^2 + 48*y - 36*x*y + 27*y^2))"
        ),
        variables=_XY,
        bounds=((-2.0, 2.0), (-2.0, 2.0)),
        minima=((0.0, -1.0),),
        fmin=3.0,
        description="Values span six orders of magnitude over the square; several local minima.",
        valley=True,
    ),
    TestFunction(
        name="rastrigin",
        title="Rastrigin",
        formula="20 + x^2 - 10*cos(2*pi*x) + y^2 - 10*cos(2*pi*y)",
        variables=_XY,
        bounds=((-5.12, 5.12), (-5.12, 5.12)),
        minima=((0.0, 0.0),),
        fmin=0.0,
        description="A bowl covered in a regular egg-crate of local minima (A=10).",
    ),
    TestFunction(
        name="ackley",
        title="Ackley",
        formula=(
            "-20*exp(-0.2*sqrt(0.5*(x^2 + y^2)))"
            " - exp(0.5*(cos(2*pi*x) + cos(2*pi*y))) + E + 20"
        ),
        variables=_XY,
        bounds=((-5.0, 5.0), (-5.0, 5.0)),
        minima=((0.0, 0.0),),
        fmin=0.0,
        description="Nearly flat, bumpy outer region around a deep funnel (a=20, b=0.2, "
                    "c=2*pi); kink at the origin.",
        smooth=False,
    ),
    TestFunction(
        name="styblinski-tang",
        title="Styblinski-Tang",
        formula="(x^4 - 16*x^2 + 5*x + y^4 - 16*y^2 + 5*y)/2",
        variables=_XY,
        bounds=((-5.0, 5.0), (-5.0, 5.0)),
        minima=((-2.903534027771177, -2.903534027771177),),
        fmin=-78.33233140754283,
        description="Separable quartic with four basins; the global one is in the lower-left "
                    "corner.",
    ),
    TestFunction(
        name="six-hump-camel",
        title="Six-hump camel",
        formula="(4 - 2.1*x^2 + x^4/3)*x^2 + x*y + (-4 + 4*y^2)*y^2",
        variables=_XY,
        bounds=((-3.0, 3.0), (-2.0, 2.0)),
        minima=(
            (0.08984201310031806, -0.7126564030207396),
            (-0.08984201310031806, 0.7126564030207396),
        ),
        fmin=-1.0316284534898774,
        description="Six local minima, two of them global and symmetric about the origin.",
    ),
    TestFunction(
        name="mccormick",
        title="McCormick",
        formula="sin(x + y) + (x - y)^2 - 1.5*x + 2.5*y + 1",
        variables=_XY,
        bounds=((-1.5, 4.0), (-3.0, 4.0)),
        # exact: x = 1/2 - pi/3, y = -1/2 - pi/3, f = -sqrt(3)/2 - pi/3
        minima=((0.5 - math.pi / 3, -0.5 - math.pi / 3),),
        fmin=-math.sqrt(3) / 2 - math.pi / 3,
        description="A wavy valley along x - y = 1 on an asymmetric domain.",
    ),
    TestFunction(
        name="easom",
        title="Easom",
        formula="-cos(x)*cos(y)*exp(-((x - pi)^2 + (y - pi)^2))",
        variables=_XY,
        bounds=((-100.0, 100.0), (-100.0, 100.0)),
        minima=((math.pi, math.pi),),
        fmin=-1.0,
        description="Flat almost everywhere, with a single narrow hole at (pi, pi): the "
                    "gradient is useless far away.",
    ),
)

FUNCTIONS: dict[str, TestFunction] = {fn.name: fn for fn in _TABLE}


def _normalize(name: str) -> str:
    """Lower-case and drop everything but letters and digits ("Three_Hump camel" ->
    "threehumpcamel")."""
    return "".join(ch for ch in name.lower() if ch.isalnum())


_BY_KEY: dict[str, str] = {_normalize(fn.name): fn.name for fn in _TABLE}


def names() -> list[str]:
    """Canonical names of all test functions, in table order."""
    return list(FUNCTIONS)


def suggest(name: str, cutoff: float = 0.6, min_length: int = 1) -> str | None:
    """The canonical name of the test function whose name is closest to ``name`` (compared
    as :func:`get` compares them: lower case, letters and digits only) with a difflib
    ratio of at least ``cutoff``, or ``None``; also ``None`` when the normalized ``name``
    has fewer than ``min_length`` characters or is a test function's name itself.

    >>> suggest("himmelblaw")
    'himmelblau'
    """
    key = _normalize(name) if isinstance(name, str) else ""
    if len(key) < min_length or key in _BY_KEY:
        return None
    close = difflib.get_close_matches(key, list(_BY_KEY), n=1, cutoff=cutoff)
    return _BY_KEY[close[0]] if close else None


def get(name: str) -> TestFunction:
    """Look up a test function by name.

    Case, hyphens, underscores, spaces and other punctuation are ignored, so
    ``"three-hump camel"``, ``"three_hump_camel"`` and ``"ThreeHumpCamel"`` all
    work.  An unknown name raises :class:`gdlab.errors.ParameterError` with a
    suggestion.
    """
    if not isinstance(name, str):
        raise ParameterError(
            f"test function name must be a string, got {type(name).__name__}; "
            "run `gdlab functions` to list them"
        )
    key = _normalize(name)
    canonical = _BY_KEY.get(key)
    if canonical is not None:
        return FUNCTIONS[canonical]
    close = difflib.get_close_matches(key, list(_BY_KEY), n=3, cutoff=0.6)
    message = f"unknown test function {name!r}"
    if close:
        suggestions = " or ".join(repr(_BY_KEY[c]) for c in close)
        message += f"; did you mean {suggestions}?"
    else:
        message += "."
    message += " Run `gdlab functions` to list them."
    raise ParameterError(message)
