"""Standard global-optimization test functions of 2 to 5 variables, as gdlab formulas (data).

Not a benchmark itself (``run.py`` runs only ``bench_*.py``): :mod:`bench_minimize_suite`
races ``gdlab.minimize`` against scipy's L-BFGS-B on :data:`SUITE`, and ``check_suite.py``
checks every entry (parsing, the value at the known minimum, agreement with the reference).

Every entry was transcribed from the published definitions collected in SciPy's
global-optimization benchmark set (``scipy/benchmarks/benchmarks/go_benchmark_functions``:
Andrea Gavana's AMPGO set and Jamil & Yang 2013, "A literature survey of benchmark functions
for global optimization problems", Int. J. Math. Modelling & Num. Optimisation 4(2),
pp. 150-194, and the references given there), with that set's bounds, dimension (its
default; the functions of any dimension at 2) and known minimum ``fglob`` (``xglob`` is one
point where it is reached). Where the reference code and its formula in print differ, the
code is followed (it is what ``check_suite.py --scipy-benchmarks`` compares against) and the
entry's ``note`` says so; where a published ``fglob``/``xglob`` was rounded, it was polished
by a local minimization from the published point, and the note gives the published value.

Only smooth functions are listed: differentiable almost everywhere, without ``abs``,
``floor``, ``max``-type kinks, noise or jumps. The smooth functions with ``abs`` or ``max``
in their text have no kink (``abs(x)**3``, ``x*sin(sqrt(abs(x)))``,
``max(abs(x) - 10, 0)**4``); ``sqrt(x1**2 + x2**2)`` (a cone at the origin) is allowed
as it is differentiable everywhere else.

Left out of SciPy's functions of 2 to 5 variables (195 classes, 187 of 2 to 5 variables):

* kinks or jumps (``abs``, ``floor``, ``round``, ``int``, ``max``, ``sign``, ``atan2``,
  branches): Alpine01, BartelsConn, Bukin04, Bukin06, CarromTable, Corana, CrossInTray,
  CrossLegTable, CrownedCross, Decanomial, Deceptive, Dolan, EggHolder, Gear, Gulf
  (``abs(u - x2)**x3``), HelicalValley (``atan2``), HolderTable, Katsuura, Mishra03,
  Mishra04, Mishra08, Mishra10, Mishra11, MultiModal, NeedleEye, NewFunction01,
  NewFunction02, OddSquare, PenHolder, Plateau, Price01, Quintic, Rana, Schwefel06,
  Schwefel20, Schwefel21, Schwefel22, Step, Step2, TestTubeHolder, Tripod, Ursem03,
  XinSheYang02, XinSheYang04, YaoLiu04, ZeroSum, Zimmerman;
* noise: Stochastic, XinSheYang01;
* published minimum outside the published bounds, so the minimum in the bounds is unknown:
  Meyer (x2 = 6181.35 > 1000), DeVilliersGlasser02 (x5 = 0.507 < 1; also, its
  ``cos(t*exp(x5))`` for x5 up to 60 takes the cosine of numbers up to 1e26, which no
  two evaluation orders agree on).

Functions of more than 5 variables (Cola, Hartmann6, LennardJones, Paviani, Thurber, Trid,
Watson, Xor) are out of scope. Csendes and Infinity are the same function; both are kept,
as in the source.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["TestFunction", "SUITE", "by_name"]

# references (the source of each entry: SciPy's class of that name, and what it cites)
_SCIPY = "SciPy benchmarks go_benchmark_functions"
JY = "Jamil & Yang 2013"
GAV = "Gavana, AMPGO benchmarks 2015"
ADO = "Adorio & Dilman, MVF library 2005"
MIS = "Mishra 2006, Global optimization by DE and PSO"
MIS2 = "Mishra 2006, Some new test functions for global optimization"
PRICE = "Price 1977, A controlled random search procedure"
AKZ = "Ali, Khompatraporn & Zabinski 2005"
YL = "Yao & Liu 1997, Fast evolution strategies"
NIST = "NIST StRD nonlinear regression"


@dataclass(frozen=True)
class TestFunction:
    """One test function: its formula in gdlab's language, box, known minimum and source."""

    name: str
    formula: str
    bounds: tuple[tuple[float, float], ...]
    fglob: float
    xglob: tuple[float, ...]
    source: str
    note: str = ""

    @property
    def dim(self) -> int:
        return len(self.bounds)

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(f"x{i + 1}" for i in range(self.dim))


def _box(lo: float, hi: float, d: int = 2) -> tuple[tuple[float, float], ...]:
    return tuple((float(lo), float(hi)) for _ in range(d))


def _n(v: float) -> str:
    """A number as formula text (shortest repr that reads back to the same float)."""
    v = float(v)
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


def _sum(terms: list[str]) -> str:
    return " + ".join(terms).replace("+ -", "- ")


# ---- formula builders for the sums over data ---------------------------------------------

def _biggs(kind: int) -> str:
    """BiggsExp02..05: sum over t = 0.1, ..., 1.0 (1.1 for 05) of squared residuals."""
    terms = []
    for i in range(1, 12 if kind == 5 else 11):
        t = _n(round(0.1 * i, 10))
        y = f"exp(-{t}) - 5*exp(-10*{t})"
        if kind == 2:
            r = f"exp(-{t}*x1) - 5*exp(-{t}*x2) - ({y})"
        elif kind == 3:
            r = f"exp(-{t}*x1) - x3*exp(-{t}*x2) - ({y})"
        elif kind == 4:
            r = f"x3*exp(-{t}*x1) - x4*exp(-{t}*x2) - ({y})"
        else:
            r = f"x3*exp(-{t}*x1) - x4*exp(-{t}*x2) + 3*exp(-{t}*x5) - ({y} + 3*exp(-4*{t}))"
        terms.append(f"({r})**2")
    return _sum(terms)


def _box_betts() -> str:
    return _sum([f"(exp(-{_n(0.1 * i)}*x1) - exp(-{_n(0.1 * i)}*x2) "
                 f"- (exp(-{_n(0.1 * i)}) - exp(-{i}))*x3)**2" for i in range(1, 11)])


def _devilliers1() -> str:
    terms = []
    for i in range(24):
        t = _n(round(0.1 * i, 10))
        y = f"60.137*1.371**{t}*sin(3.112*{t} + 1.761)"
        terms.append(f"(x1*x2**{t}*sin(x3*{t} + x4) - {y})**2")
    return _sum(terms)


_ECKERLE4_Y = [0.0001575, 0.0001699, 0.000235, 0.0003102, 0.0004917, 0.000871, 0.0017418,
               0.00464, 0.0065895, 0.0097302, 0.0149002, 0.023731, 0.0401683, 0.0712559,
               0.1264458, 0.2073413, 0.2902366, 0.3445623, 0.3698049, 0.3668534, 0.3106727,
               0.2078154, 0.1164354, 0.0616764, 0.03372, 0.0194023, 0.0117831, 0.0074357,
               0.0022732, 0.00088, 0.0004579, 0.0002345, 0.0001586, 0.0001143, 0.000071]
_ECKERLE4_X = [400.0, 405.0, 410.0, 415.0, 420.0, 425.0, 430.0, 435.0, 436.5, 438.0, 439.5,
               441.0, 442.5, 444.0, 445.5, 447.0, 448.5, 450.0, 451.5, 453.0, 454.5, 456.0,
               457.5, 459.0, 460.5, 462.0, 463.5, 465.0, 470.0, 475.0, 480.0, 485.0, 490.0,
               495.0, 500.0]


def _eckerle4() -> str:
    return _sum([f"({_n(y)} - x1/x2*exp(-({_n(x)} - x3)**2/(2*x2**2)))**2"
                 for y, x in zip(_ECKERLE4_Y, _ECKERLE4_X)])


def _exp2() -> str:
    return _sum([f"(exp(-{i}*x1/10) - 5*exp(-{i}*x2/10) - exp(-{i}/10) + 5*exp(-{i}))**2"
                 for i in range(10)])


def _five_cos(var: str, k0: int) -> str:
    """sum over i = 1..5 of i*cos((i + k0)*var + i) (Hansen, Levy05, Shubert01)."""
    terms = []
    for i in range(1, 6):
        k = i + k0
        arg = f"{i}" if k == 0 else (f"{var} + {i}" if k == 1 else f"{k}*{var} + {i}")
        terms.append(f"{'' if i == 1 else f'{i}*'}cos({arg})")
    return "(" + _sum(terms) + ")"


_HARTMANN3_A = [[3.0, 10.0, 30.0], [0.1, 10.0, 35.0], [3.0, 10.0, 30.0], [0.1, 10.0, 35.0]]
_HARTMANN3_P = [[0.3689, 0.117, 0.2673], [0.4699, 0.4387, 0.747], [0.1091, 0.8732, 0.5547],
                [0.03815, 0.5743, 0.8828]]
_HARTMANN3_C = [1.0, 1.2, 3.0, 3.2]


def _hartmann3() -> str:
    terms = []
    for a, p, c in zip(_HARTMANN3_A, _HARTMANN3_P, _HARTMANN3_C):
        inner = _sum([f"{_n(a[j])}*(x{j + 1} - {_n(p[j])})**2" for j in range(3)])
        terms.append(f"{_n(c)}*exp(-({inner}))")
    return "-(" + _sum(terms) + ")"


def _jennrich() -> str:
    return _sum([f"({2 + 2 * i} - exp({i}*x1) - exp({i}*x2))**2" for i in range(1, 11)])


_JUDGE_C = [4.284, 4.149, 3.877, 0.533, 2.211, 2.389, 2.145, 3.231, 1.998, 1.379, 2.106, 1.428,
            1.011, 2.179, 2.858, 1.388, 1.651, 1.593, 1.046, 2.152]
_JUDGE_A = [0.286, 0.973, 0.384, 0.276, 0.973, 0.543, 0.957, 0.948, 0.543, 0.797, 0.936, 0.889,
            0.006, 0.828, 0.399, 0.617, 0.939, 0.784, 0.072, 0.889]
_JUDGE_B = [0.645, 0.585, 0.31, 0.058, 0.455, 0.779, 0.259, 0.202, 0.028, 0.099, 0.142, 0.296,
            0.175, 0.18, 0.842, 0.039, 0.103, 0.62, 0.158, 0.704]


def _judge() -> str:
    return _sum([f"(x1 + {_n(a)}*x2 + {_n(b)}*x2**2 - {_n(c)})**2"
                 for a, b, c in zip(_JUDGE_A, _JUDGE_B, _JUDGE_C)])


_KOWALIK_U = [0.25, 0.5, 1.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0]  # a = 1/u
_KOWALIK_B = [0.1957, 0.1947, 0.1735, 0.16, 0.0844, 0.0627, 0.0456, 0.0342, 0.0323, 0.0235,
              0.0246]


def _kowalik() -> str:
    terms = []
    for u, b in zip(_KOWALIK_U, _KOWALIK_B):
        a = _n(1.0 / u)
        terms.append(f"({_n(b)} - x1*({a}**2 + {a}*x2)/({a}**2 + {a}*x3 + x4))**2")
    return _sum(terms)


_LANGERMANN = [(3, 5, 1), (5, 2, 2), (2, 1, 5), (1, 4, 2), (7, 9, 3)]  # a, b, c


def _langermann() -> str:
    terms = []
    for a, b, c in _LANGERMANN:
        r = f"((x1 - {a})**2 + (x2 - {b})**2)"
        terms.append(f"{c}*exp(-{r}/pi)*cos(pi*{r})")
    return "-(" + _sum(terms) + ")"


def _mishra09() -> str:
    a = "(2*x1**3 + 5*x1*x2 + 4*x3 - 2*x1**2*x3 - 18)"
    b = "(x1 + x2**3 + x1*x2**2 + x1*x3**2 - 22)"
    c = "(8*x1**2 + 2*x2*x3 + 2*x2**2 + 3*x2**3 - 52)"
    return f"({a}*{c}*{b}**2 + {a}*{b}*{c}**2 + {b}**2 + (x1 + x2 - x3)**2)**2"


def _power_sum() -> str:
    b = [8, 18, 44, 114]
    terms = ["(x1 + x2 + x3 + x4 - 8)**2"]
    terms += [f"(x1**{k} + x2**{k} + x3**{k} + x4**{k} - {b[k - 1]})**2" for k in range(2, 5)]
    return _sum(terms)


_RATKOWSKY3_Y = [16.08, 33.83, 65.8, 97.2, 191.55, 326.2, 386.87, 520.53, 590.03, 651.92,
                 724.93, 699.56, 689.96, 637.56, 717.41]
_RATKOWSKY2_Y = [8.93, 10.8, 18.59, 22.33, 39.35, 56.11, 61.73, 64.62, 67.08]
_RATKOWSKY2_X = [9.0, 14.0, 21.0, 28.0, 42.0, 57.0, 63.0, 70.0, 79.0]


def _ratkowsky3() -> str:
    return _sum([f"({_n(y)} - x1/(1 + exp(x2 - {i}*x3))**(1/x4))**2"
                 for i, y in enumerate(_RATKOWSKY3_Y, start=1)])


def _ratkowsky2() -> str:
    return _sum([f"({_n(y)} - x1/(1 + exp(x2 - {_n(x)}*x3)))**2"
                 for y, x in zip(_RATKOWSKY2_Y, _RATKOWSKY2_X)])


_SHEKEL_A = [[4.0, 4.0, 4.0, 4.0], [1.0, 1.0, 1.0, 1.0], [8.0, 8.0, 8.0, 8.0],
             [6.0, 6.0, 6.0, 6.0], [3.0, 7.0, 3.0, 7.0], [2.0, 9.0, 2.0, 9.0],
             [5.0, 5.0, 3.0, 3.0], [8.0, 1.0, 8.0, 1.0], [6.0, 2.0, 6.0, 2.0],
             [7.0, 3.6, 7.0, 3.6]]
_SHEKEL_C = [0.1, 0.2, 0.2, 0.4, 0.4, 0.6, 0.3, 0.7, 0.5, 0.5]


def _shekel(m: int) -> str:
    terms = []
    for a, c in zip(_SHEKEL_A[:m], _SHEKEL_C[:m]):
        inner = _sum([f"(x{j + 1} - {_n(a[j])})**2" for j in range(4)])
        terms.append(f"1/({inner} + {_n(c)})")
    return "-(" + _sum(terms) + ")"


def _shubert(kind: int) -> str:
    if kind == 1:
        return f"{_five_cos('x1', 1)}*{_five_cos('x2', 1)}"
    fn = "sin" if kind == 3 else "cos"
    return "-(" + _sum([f"{j}*{fn}({j + 1}*x{v} + {j})".removeprefix("1*") for v in (1, 2)
                        for j in range(1, 6)]) + ")"


def _trigonometric01() -> str:
    terms = []
    for i in (1, 2):
        inner = _sum([f"cos(x{j}) + {i}*(1 - cos(x{j}) - sin(x{j}))" for j in (1, 2)])
        terms.append(f"(2 - ({inner}))**2")
    return _sum(terms)


def _weierstrass() -> str:
    terms = [f"0.5**{k}*cos(2*pi*3**{k}*(x{v} + 0.5))" for v in (1, 2) for k in range(21)]
    const = _sum([f"0.5**{k}*cos(pi*3**{k})" for k in range(21)])
    return _sum(terms) + f" - 2*({const})"


def _whitley() -> str:
    terms = []
    for i in (1, 2):
        for j in (1, 2):
            t = f"(100*(x{i}**2 - x{j}) + (1 - x{j})**2)"
            terms.append(f"{t}**2/4000 - cos({t}) + 1")
    return _sum(terms)


# ---- the suite ------------------------------------------------------------------------------

def _f(name: str, formula: str, bounds: tuple[tuple[float, float], ...], fglob: float,
       xglob: tuple[float, ...] | list[float], ref: str, note: str = "") -> TestFunction:
    return TestFunction(name, formula, tuple(bounds), float(fglob),
                        tuple(float(v) for v in xglob), f"{_SCIPY}.{name}; {ref}", note)


_PI = math.pi
_SQ = "(x1**2 + x2**2)"
_R = "sqrt(x1**2 + x2**2)"

SUITE: list[TestFunction] = [
    _f("Ackley01", f"-20*exp(-0.2*sqrt({_SQ}/2)) - exp((cos(2*pi*x1) + cos(2*pi*x2))/2) + 20 + E",
       _box(-35, 35), 0.0, [0, 0], ADO),
    _f("Ackley02", f"-200*exp(-0.02*{_R})", _box(-32, 32), -200.0, [0, 0], JY),
    _f("Ackley03", f"-200*exp(-0.02*{_R}) + 5*exp(cos(3*x1) + sin(3*x2))", _box(-32, 32),
       -195.6290282592388, [-0.68255758, -0.36070859], JY),
    _f("Adjiman", "cos(x1)*sin(x2) - x1/(x2**2 + 1)", ((-1.0, 2.0), (-1.0, 1.0)),
       -2.02180678, [2.0, 0.10578], JY),
    _f("Alpine02", "sqrt(x1)*sin(x1)*sqrt(x2)*sin(x2)", _box(0, 10), -6.129503891130687,
       [7.917052684666207, 4.815842317845935], JY,
       "polished; published fglob -6.1295 at (7.91705268, 4.81584232)"),
    _f("AMGM", "((x1 + x2)/2 - sqrt(x1*x2))**2", _box(0, 10), 0.0, [1, 1], GAV),
    _f("Beale", "(1.5 - x1 + x1*x2)**2 + (2.25 - x1 + x1*x2**2)**2 + (2.625 - x1 + x1*x2**3)**2",
       _box(-4.5, 4.5), 0.0, [3.0, 0.5], JY),
    _f("BiggsExp02", _biggs(2), _box(0, 20), 0.0, [1, 10], JY),
    _f("BiggsExp03", _biggs(3), _box(0, 20, 3), 0.0, [1, 10, 5], JY),
    _f("BiggsExp04", _biggs(4), _box(0, 20, 4), 0.0, [1, 10, 1, 5], JY),
    _f("BiggsExp05", _biggs(5), _box(0, 20, 5), 0.0, [1, 10, 1, 5, 4], JY),
    _f("Bird", "sin(x1)*exp((1 - cos(x2))**2) + cos(x2)*exp((1 - sin(x1))**2) + (x1 - x2)**2",
       _box(-2 * _PI, 2 * _PI), -106.7645367198034, [4.701055751981055, 3.152946019601391], JY),
    _f("Bohachevsky1", "x1**2 + 2*x2**2 - 0.3*cos(3*pi*x1) - 0.4*cos(4*pi*x2) + 0.7",
       _box(-100, 100), 0.0, [0, 0], JY),
    _f("Bohachevsky2", "x1**2 + 2*x2**2 - 0.3*cos(3*pi*x1)*cos(4*pi*x2) + 0.3",
       _box(-100, 100), 0.0, [0, 0], JY),
    _f("Bohachevsky3", "x1**2 + 2*x2**2 - 0.3*cos(3*pi*x1 + 4*pi*x2) + 0.3",
       _box(-100, 100), 0.0, [0, 0], JY),
    _f("BoxBetts", _box_betts(), ((0.9, 1.2), (9.0, 11.2), (0.9, 1.2)), 0.0, [1, 10, 1], JY),
    _f("Branin01", "(x2 - 5.1/(4*pi**2)*x1**2 + 5*x1/pi - 6)**2 + 10*(1 - 1/(8*pi))*cos(x1) + 10",
       ((-5.0, 10.0), (0.0, 15.0)), 0.39788735772973816, [-_PI, 12.275], JY),
    _f("Branin02", "(x2 - 5.1/(4*pi**2)*x1**2 + 5*x1/pi - 6)**2 "
       "+ 10*(1 - 1/(8*pi))*cos(x1)*cos(x2) + log(x1**2 + x2**2 + 1) + 10",
       _box(-5, 15), 5.558914403893825, [-3.1969884, 12.52625787], GAV),
    _f("Brent", "(x1 + 10)**2 + (x2 + 10)**2 + exp(-x1**2 - x2**2)", _box(-10, 10), 0.0,
       [-10, -10], JY),
    _f("Brown", "(x1**2)**(x2**2 + 1) + (x2**2)**(x1**2 + 1)", _box(-1, 4), 0.0, [0, 0], JY),
    _f("Bukin02", "100*(x2**2 - 0.01*x1**2 + 1) + 0.01*(x1 + 10)**2",
       ((-15.0, -5.0), (-3.0, 3.0)), -124.75, [-15, 0], JY),
    _f("Chichinadze", "x1**2 - 12*x1 + 11 + 10*cos(pi*x1/2) + 8*sin(5*pi*x1/2) "
       "- 1/sqrt(5)*exp(-(x2 - 0.5)**2/2)", _box(-30, 30), -42.94438701899098,
       [6.18986658696568, 0.5], GAV),
    _f("Cigar", "x1**2 + 1000000*x2**2", _box(-100, 100), 0.0, [0, 0], GAV),
    _f("Colville", "100*(x1 - x2**2)**2 + (1 - x1)**2 + (1 - x3)**2 + 90*(x4 - x3**2)**2 "
       "+ 10.1*((x2 - 1)**2 + (x4 - 1)**2) + 19.8*(x2 - 1)*(x4 - 1)", _box(-10, 10, 4), 0.0,
       [1, 1, 1, 1], JY, "as SciPy's code: 100*(x1 - x2**2)**2 (Jamil & Yang: x1**2 - x2)"),
    _f("CosineMixture", "-0.1*(cos(5*pi*x1) + cos(5*pi*x2)) + x1**2 + x2**2", _box(-1, 1),
       -0.2, [0, 0], AKZ),
    _f("Csendes", "x1**6*(2 + sin(1/x1)) + x2**6*(2 + sin(1/x2))", _box(-1, 1), 0.0,
       [1e-16, 1e-16], JY, "published fglob is nan (undefined at 0); the limit 0 is used, "
       "reached next to 0"),
    _f("Cube", "100*(x2 - x1**3)**2 + (1 - x1)**2", _box(-10, 10), 0.0, [1, 1], JY),
    _f("Damavandi", "(1 - abs(sin(pi*(x1 - 2))*sin(pi*(x2 - 2))/(pi**2*(x1 - 2)*(x2 - 2)))**5)"
       "*(2 + (x1 - 7)**2 + 2*(x2 - 7)**2)", _box(0, 14), 0.0, [2.000000001, 2.000000001], JY,
       "published fglob is nan (0/0 at (2, 2)); the limit 0 is used, reached next to (2, 2)"),
    _f("Deb01", "-(sin(5*pi*x1)**6 + sin(5*pi*x2)**6)/2", _box(-1, 1), -1.0, [0.3, -0.3], JY),
    _f("Deb03", "-(sin(5*pi*(x1**0.75 - 0.05))**6 + sin(5*pi*(x2**0.75 - 0.05))**6)/2",
       _box(0, 1), -1.0, [0.93388314, 0.68141781], JY),
    _f("DeckkersAarts", f"100000*x1**2 + x2**2 - {_SQ}**2 + 0.00001*{_SQ}**4", _box(-20, 20),
       -24776.518342168, [0.0, 14.9451209], JY),
    _f("DeflectedCorrugatedSpring", "-cos(5*sqrt((x1 - 5)**2 + (x2 - 5)**2)) "
       "+ 0.1*((x1 - 5)**2 + (x2 - 5)**2)", _box(0, 10), -1.0, [5, 5], GAV),
    _f("DeVilliersGlasser01", _devilliers1(), _box(1, 100, 4), 0.0,
       [60.137, 1.371, 3.112, 1.761], JY),
    _f("DixonPrice", "(x1 - 1)**2 + 2*(2*x2**2 - x1)**2", _box(-10, 10), 0.0,
       [1.0, 2 ** -0.5], JY),
    _f("DropWave", f"-(1 + cos(12*{_R}))/(0.5*{_SQ} + 2)", _box(-5.12, 5.12), -1.0, [0, 0],
       GAV),
    _f("Easom", "-cos(x1)*cos(x2)*exp(-((x1 - pi)**2 + (x2 - pi)**2))", _box(-100, 100), -1.0,
       [_PI, _PI], JY),
    _f("Eckerle4", _eckerle4(), ((0.0, 20.0), (1.0, 20.0), (10.0, 600.0)), 0.0014635887487,
       [1.5543827178, 4.0888321754, 451.54121844], NIST + " (Eckerle4)"),
    _f("EggCrate", "x1**2 + x2**2 + 25*(sin(x1)**2 + sin(x2)**2)", _box(-5, 5), 0.0, [0, 0],
       JY),
    _f("ElAttarVidyasagarDutta", "(x1**2 + x2 - 10)**2 + (x1 + x2**2 - 7)**2 "
       "+ (x1**2 + x2**3 - 1)**2", _box(-100, 100), 1.712780354, [3.40918683, -2.17143304],
       GAV),
    _f("Exp2", _exp2(), _box(0, 20), 0.0, [1, 10], JY),
    _f("Exponential", f"-exp(-0.5*{_SQ})", _box(-1, 1), -1.0, [0, 0], JY),
    _f("FreudensteinRoth", "(-13 + x1 + ((5 - x2)*x2 - 2)*x2)**2 "
       "+ (-29 + x1 + ((x2 + 1)*x2 - 14)*x2)**2", _box(-10, 10), 0.0, [5, 4], JY),
    _f("Giunta", "0.6 + sin(16*x1/15 - 1) + sin(16*x1/15 - 1)**2 + sin(4*(16*x1/15 - 1))/50 "
       "+ sin(16*x2/15 - 1) + sin(16*x2/15 - 1)**2 + sin(4*(16*x2/15 - 1))/50", _box(-1, 1),
       0.06447042053690566, [0.4673200277395354, 0.4673200169591304], JY),
    _f("GoldsteinPrice", "(1 + (x1 + x2 + 1)**2*(19 - 14*x1 + 3*x1**2 - 14*x2 + 6*x1*x2 "
       "+ 3*x2**2))*(30 + (2*x1 - 3*x2)**2*(18 - 32*x1 + 12*x1**2 + 48*x2 - 36*x1*x2 "
       "+ 27*x2**2))", _box(-2, 2), 3.0, [0, -1], JY),
    _f("Griewank", f"{_SQ}/4000 - cos(x1)*cos(x2/sqrt(2)) + 1", _box(-100, 100), 0.0, [0, 0],
       JY),
    _f("Hansen", f"{_five_cos('x1', -1)}*{_five_cos('x2', 1)}", _box(-10, 10), -176.54179,
       [-7.58989583, -7.70831466], JY),
    _f("Hartmann3", _hartmann3(), _box(0, 1, 3), -3.8627821478,
       [0.11461292, 0.55564907, 0.85254697], JY),
    _f("HimmelBlau", "(x1**2 + x2 - 11)**2 + (x1 + x2**2 - 7)**2", _box(-5, 5), 0.0, [3, 2],
       JY),
    _f("Hosaki", "(1 - 8*x1 + 7*x1**2 - 7/3*x1**3 + 0.25*x1**4)*x2**2*exp(-x2)",
       ((0.0, 5.0), (0.0, 6.0)), -2.3458115, [4, 2], JY),
    _f("Infinity", "x1**6*(sin(1/x1) + 2) + x2**6*(sin(1/x2) + 2)", _box(-1, 1), 0.0,
       [1e-16, 1e-16], GAV, "the same function as Csendes"),
    _f("JennrichSampson", _jennrich(), _box(-1, 1), 124.3621824, [0.257825, 0.257825], JY),
    _f("Judge", _judge(), _box(-10, 10), 16.0817307, [0.86479, 1.2357], GAV),
    _f("Keane", f"sin(x1 - x2)**2*sin(x1 + x2)**2/{_R}", _box(0, 10), 0.0,
       [7.85396153, 7.85396135], JY),
    _f("Kowalik", _kowalik(), _box(-5, 5, 4), 0.0003074861,
       [0.192833, 0.190836, 0.123117, 0.135766], NIST + " (MGH09)",
       "as SciPy's code: 11 points (its docstring lists 10)"),
    _f("Langermann", _langermann(), _box(0, 10), -5.1621259, [2.00299219, 1.006096], GAV),
    _f("Leon", "100*(x2 - x1**2)**2 + (1 - x1)**2", _box(-1.2, 1.2), 0.0, [1, 1], JY),
    _f("Levy03", "sin(pi*(1 + (x1 - 1)/4))**2 "
       "+ ((x1 - 1)/4)**2*(1 + 10*sin(pi*(1 + (x2 - 1)/4))**2) + ((x2 - 1)/4)**2",
       _box(-10, 10), 0.0, [1, 1], MIS),
    _f("Levy05", f"{_five_cos('x1', -1)}*{_five_cos('x2', 1)} + (x1 + 1.42513)**2 "
       "+ (x2 + 0.80032)**2", _box(-10, 10), -176.1375779, [-1.30685, -1.42485], MIS),
    _f("Levy13", "sin(3*pi*x1)**2 + (x1 - 1)**2*(1 + sin(3*pi*x2)**2) "
       "+ (x2 - 1)**2*(1 + sin(2*pi*x2)**2)", _box(-10, 10), 0.0, [1, 1], MIS2),
    _f("Matyas", "0.26*(x1**2 + x2**2) - 0.48*x1*x2", _box(-10, 10), 0.0, [0, 0], JY),
    _f("McCormick", "sin(x1 + x2) + (x1 - x2)**2 - 1.5*x1 + 2.5*x2 + 1",
       ((-1.5, 4.0), (-3.0, 3.0)), -1.913222954981037,
       [-0.5471975602214493, -1.547197559268372], JY),
    _f("Michalewicz", "-(sin(x1)*sin(x1**2/pi)**20 + sin(x2)*sin(2*x2**2/pi)**20)",
       _box(0, _PI), -1.8013034100985532, [2.2029055201726093, _PI / 2], ADO,
       "polished; published fglob -1.8013 at (2.20290555, 1.570796)"),
    _f("MieleCantrell", "(exp(-x1) - x2)**4 + 100*(x2 - x3)**6 + tan(x3 - x4)**4 + x1**8",
       _box(-1, 1, 4), 0.0, [0, 1, 1, 1], JY),
    _f("Mishra01", "(3 - x1)**(2 - x1)", _box(0, 1 + 1e-9), 2.0, [1, 1], JY,
       "constant in x2 at 2 variables (x_n = n - sum of x_1..x_{n-1})"),
    _f("Mishra02", "(3 - (x1 + x2)/2)**(2 - (x1 + x2)/2)", _box(0, 1 + 1e-9), 2.0, [1, 1], JY),
    _f("Mishra05", "0.01*x1 + 0.1*x2 + (sin((cos(x1) + cos(x2))**2)**2 "
       "+ cos((sin(x1) + sin(x2))**2)**2 + x1)**2", _box(-10, 10), -1.019829519930646,
       [-1.98682, -10.0], MIS),
    _f("Mishra06", "0.1*((x1 - 1)**2 + (x2 - 1)**2) - log((sin((cos(x1) + cos(x2))**2)**2 "
       "- cos((sin(x1) + sin(x2))**2)**2 + x1)**2)", _box(-10, 10), -2.28395,
       [2.88631, 1.82326], MIS),
    _f("Mishra07", "(x1*x2 - 2)**2", _box(-10, 10), 0.0, [2 ** 0.5, 2 ** 0.5], JY),
    _f("Mishra09", _mishra09(), _box(-10, 10, 3), 0.0, [1, 2, 3], MIS),
    _f("Parsopoulos", "cos(x1)**2 + sin(x2)**2", _box(-5, 5), 0.0, [_PI / 2, _PI], JY),
    _f("Pathological", "0.5 + (sin(sqrt(100*x1**2 + x2**2))**2 - 0.5)"
       "/(1 + 0.001*(x1**2 - 2*x1*x2 + x2**2)**2)", _box(-100, 100), 0.0, [0, 0], JY),
    _f("Penalty01", "100*max(abs(x1) - 10, 0)**4 + 100*max(abs(x2) - 10, 0)**4 "
       "+ pi/30*(10*sin(pi*(1 + (x1 + 1)/4))**2 "
       "+ ((x1 + 1)/4)**2*(1 + 10*sin(pi*(1 + (x2 + 1)/4))**2) + ((x2 + 1)/4)**2)",
       _box(-50, 50), 0.0, [-1, -1], GAV, "the max(...)**4 penalty is twice differentiable"),
    _f("Penalty02", "100*max(abs(x1) - 5, 0)**4 + 100*max(abs(x2) - 5, 0)**4 "
       "+ 0.1*(10*sin(3*pi*x1)**2 + (x1 - 1)**2*(1 + sin(3*pi*x2)**2) "
       "+ (x2 - 1)**2*(1 + sin(2*pi*x2)**2))", _box(-50, 50), 0.0, [1, 1], GAV,
       "the max(...)**4 penalty is twice differentiable"),
    _f("PermFunction01", "(1.5*(x1 - 1) + 2.5*(x2/2 - 1))**2 "
       "+ (1.5*(x1**2 - 1) + 4.5*((x2/2)**2 - 1))**2", _box(-2, 3), 0.0, [1, 2], MIS),
    _f("PermFunction02", "(11*(x1 - 1) + 12*(x2 - 1/2))**2 "
       "+ (11*(x1**2 - 1) + 12*(x2**2 - 1/4))**2",
       _box(-2, 3), 0.0, [1, 0.5], MIS),
    _f("Pinter", "x1**2 + 2*x2**2 + 20*sin(x2*sin(x1) + sin(x2))**2 "
       "+ 40*sin(x1*sin(x2) + sin(x1))**2 + log(1 + (x2**2 - 2*x1 + 3*x2 - cos(x1) + 1)**2)/log(10)"
       " + 2*log(1 + 2*(x1**2 - 2*x2 + 3*x1 - cos(x2) + 1)**2)/log(10)", _box(-10, 10), 0.0,
       [0, 0], JY),
    _f("Powell", "(x1 + 10*x2)**2 + 5*(x3 - x4)**2 + (x2 - 2*x3)**4 + 10*(x1 - x4)**4",
       _box(-4, 5, 4), 0.0, [0, 0, 0, 0], "Powell 1962"),
    _f("PowerSum", _power_sum(), _box(0, 4, 4), 0.0, [1, 2, 2, 3], GAV),
    _f("Price02", "1 + sin(x1)**2 + sin(x2)**2 - 0.1*exp(-x1**2 - x2**2)", _box(-10, 10), 0.9,
       [0, 0], PRICE),
    _f("Price03", "100*(x2 - x1**2)**2 + (6.4*(x2 - 0.5)**2 - x1 - 0.6)**2", _box(-5, 5), 0.0,
       [1, 1], PRICE),
    _f("Price04", "(2*x2*x1**3 - x2**3)**2 + (6*x1 - x2**2 + x2)**2", _box(-50, 50), 0.0,
       [2, 4], PRICE),
    _f("Qing", "(x1**2 - 1)**2 + (x2**2 - 2)**2", _box(-500, 500), 0.0, [1, 2 ** 0.5], JY),
    _f("Quadratic", "-3803.84 - 138.08*x1 - 232.92*x2 + 128.08*x1**2 + 203.64*x2**2 "
       "+ 182.25*x1*x2", _box(-10, 10), -3873.72418, [0.19388, 0.48513], JY),
    _f("Rastrigin", "20 + x1**2 - 10*cos(2*pi*x1) + x2**2 - 10*cos(2*pi*x2)", _box(-5.12, 5.12),
       0.0, [0, 0], GAV),
    _f("Ratkowsky01", _ratkowsky3(), ((0.0, 1000.0), (1.0, 20.0), (0.0, 3.0), (0.1, 6.0)),
       8786.404908, [699.6415127, 5.2771253025, 0.75962938329, 1.2792483859],
       NIST + " (Ratkowsky3)"),
    _f("Ratkowsky02", _ratkowsky2(), ((10.0, 200.0), (0.5, 5.0), (0.01, 0.5)), 8.0565229338,
       [72.462237576, 2.6180768402, 0.067359200066], NIST + " (Ratkowsky2)"),
    _f("Ripple01", "-exp(-2*log(2)*((x1 - 0.1)/0.8)**2)*(sin(5*pi*x1)**6 + 0.1*cos(500*pi*x1)**2)"
       " - exp(-2*log(2)*((x2 - 0.1)/0.8)**2)*(sin(5*pi*x2)**6 + 0.1*cos(500*pi*x2)**2)",
       _box(0, 1), -2.2, [0.1, 0.1], JY),
    _f("Ripple25", "-exp(-2*log(2)*((x1 - 0.1)/0.8)**2)*sin(5*pi*x1)**6"
       " - exp(-2*log(2)*((x2 - 0.1)/0.8)**2)*sin(5*pi*x2)**6", _box(0, 1), -2.0, [0.1, 0.1],
       JY),
    _f("Rosenbrock", "100*(x2 - x1**2)**2 + (1 - x1)**2", _box(-30, 30), 0.0, [1, 1], JY),
    _f("RosenbrockModified", "74 + 100*(x2 - x1**2)**2 + (1 - x1)**2 "
       "- 400*exp(-((x1 + 1)**2 + (x2 + 1)**2)/0.1)", _box(-2, 2), 34.040243106640844,
       [-0.90955374, -0.95057172], JY),
    _f("RotatedEllipse01", "7*x1**2 - 6*sqrt(3)*x1*x2 + 13*x2**2", _box(-500, 500), 0.0,
       [0, 0], JY),
    _f("RotatedEllipse02", "x1**2 - x1*x2 + x2**2", _box(-500, 500), 0.0, [0, 0], JY),
    _f("Salomon", f"1 - cos(2*pi*{_R}) + 0.1*{_R}", _box(-100, 100), 0.0, [0, 0], JY),
    _f("Sargan", "2*(x1**2 + 0.4*x1*x2) + 2*(x2**2 + 0.4*x1*x2)", _box(-100, 100), 0.0, [0, 0],
       JY),
    _f("Schaffer01", f"0.5 + (sin({_SQ})**2 - 0.5)/(1 + 0.001*{_SQ})**2", _box(-100, 100), 0.0,
       [0, 0], MIS2),
    _f("Schaffer02", f"0.5 + (sin(x1**2 - x2**2)**2 - 0.5)/(1 + 0.001*{_SQ})**2",
       _box(-100, 100), 0.0, [0, 0], MIS2),
    _f("Schaffer03", f"0.5 + (sin(cos(x1**2 - x2**2))**2 - 0.5)/(1 + 0.001*{_SQ})**2",
       _box(-100, 100), 0.00156685, [0.0, 1.253115], MIS2,
       "cos(abs(u)) written cos(u) (cos is even)"),
    _f("Schaffer04", f"0.5 + (cos(sin(x1**2 - x2**2))**2 - 0.5)/(1 + 0.001*{_SQ})**2",
       _box(-100, 100), 0.29257863203598056, [0.0, 1.2531318314637332], MIS2,
       "cos(sin(abs(u))) written cos(sin(u)) (cos is even); polished: published fglob "
       "0.292579 at (0, 1.253115)"),
    _f("Schwefel01", f"{_SQ}**sqrt(pi)", _box(-100, 100), 0.0, [0, 0], JY),
    _f("Schwefel02", "x1**2 + (x1 + x2)**2", _box(-100, 100), 0.0, [0, 0], JY),
    _f("Schwefel04", "(x1 - 1)**2 + (x1 - x1**2)**2 + (x2 - 1)**2 + (x1 - x2**2)**2",
       _box(0, 10), 0.0, [1, 1], JY),
    _f("Schwefel26", "2*418.982887 - x1*sin(sqrt(abs(x1))) - x2*sin(sqrt(abs(x2)))",
       _box(-500, 500), -5.4486736189574e-07, [420.96874635998205, 420.96874635998205], GAV,
       "x*sin(sqrt(abs(x))) is differentiable (no kink at 0); polished: published fglob 0 "
       "at 420.968746, but the constant 418.982887 is rounded, so the minimum is -5.4e-7"),
    _f("Schwefel36", "-x1*x2*(72 - 2*x1 - 2*x2)", _box(0, 500), -3456.0, [12, 12], JY),
    _f("Shekel05", _shekel(5), _box(0, 10, 4), -10.1531996791,
       [4.00003715092, 4.00013327435, 4.00003714871, 4.0001332742], JY),
    _f("Shekel07", _shekel(7), _box(0, 10, 4), -10.4029405668,
       [4.00057291078, 4.0006893679, 3.99948971076, 3.99960615785], JY),
    _f("Shekel10", _shekel(10), _box(0, 10, 4), -10.536409816692023,
       [4.000746537726627, 4.000592923462141, 3.999663394168097, 3.9995098017834123], JY),
    _f("Shubert01", _shubert(1), _box(-10, 10), -186.7309, [-7.0835, 4.858], GAV),
    _f("Shubert03", _shubert(3), _box(-10, 10), -24.062499, [5.791794, 5.791794], GAV),
    _f("Shubert04", _shubert(4), _box(-10, 10), -29.016015, [-0.80032121, -7.08350592], GAV),
    _f("SineEnvelope", f"(sin({_R})**2 - 0.5)/(1 + 0.001*{_SQ})**2 + 0.5", _box(-100, 100),
       0.0, [0, 0], GAV),
    _f("SixHumpCamel", "(4 - 2.1*x1**2 + x1**4/3)*x1**2 + x1*x2 + (4*x2**2 - 4)*x2**2",
       _box(-5, 5), -1.0316284534898774, [0.08984201310031806, -0.7126564030207396], JY,
       "polished; published fglob -1.031628"),
    _f("Sodp", "x1**2 + abs(x2)**3", _box(-1, 1), 0.0, [0, 0], GAV,
       "abs(x1)**2 written x1**2; abs(x2)**3 has no kink"),
    _f("Sphere", "x1**2 + x2**2", _box(-5.12, 5.12), 0.0, [0, 0], JY),
    _f("StretchedV", f"{_SQ}**0.25*sin(50*{_SQ}**0.1 + 1)**2", _box(-10, 10), 0.0, [0, 0], ADO),
    _f("StyblinskiTang", "(x1**4 - 16*x1**2 + 5*x1 + x2**4 - 16*x2**2 + 5*x2)/2", _box(-5, 5),
       -78.33233140754284, [-2.90353401818596, -2.90353401818596], JY),
    _f("Treccani", "x1**4 + 4*x1**3 + 4*x1**2 + x2**2", _box(-5, 5), 0.0, [-2, 0], JY),
    _f("Trefethen", "0.25*x1**2 + 0.25*x2**2 + exp(sin(50*x1)) - sin(10*x1 + 10*x2) "
       "+ sin(60*exp(x2)) + sin(70*sin(x1)) + sin(sin(80*x2))", _box(-10, 10), -3.3068686474,
       [-0.02440307923, 0.2106124261], JY),
    _f("ThreeHumpCamel", "2*x1**2 - 1.05*x1**4 + x1**6/6 + x1*x2 + x2**2", _box(-5, 5), 0.0,
       [0, 0], JY),
    _f("Trigonometric01", _trigonometric01(), _box(0, _PI), 0.0, [0, 0], JY),
    _f("Trigonometric02", "1 + 8*sin(7*(x1 - 0.9)**2)**2 + 6*sin(14*(x1 - 0.9)**2)**2 "
       "+ (x1 - 0.9)**2 + 8*sin(7*(x2 - 0.9)**2)**2 + 6*sin(14*(x2 - 0.9)**2)**2 "
       "+ (x2 - 0.9)**2", _box(-500, 500), 1.0, [0.9, 0.9], JY),
    _f("Ursem01", "-sin(2*x1 - 0.5*pi) - 3*cos(x2) - 0.5*x1", ((-2.5, 3.0), (-2.0, 2.0)),
       -4.81681406371, [1.69714, 0.0], JY),
    _f("Ursem04", f"-3*sin(0.5*pi*x1 + 0.5*pi)*(2 - {_R})/4", _box(-2, 2), -1.5, [0, 0], JY),
    _f("UrsemWaves", "-0.9*x1**2 + (x2**2 - 4.5*x2**2)*x1*x2 "
       "+ 4.7*cos(3*x1 - x2**2*(2 + x1))*sin(2.5*pi*x1)", ((-0.9, 1.2), (-1.2, 1.2)),
       -8.5536, [1.2, 1.2], JY),
    _f("VenterSobiezcczanskiSobieski", "x1**2 - 100*cos(x1)**2 - 100*cos(x1**2/30) + x2**2 "
       "- 100*cos(x2)**2 - 100*cos(x2**2/30)", _box(-50, 50), -400.0, [0, 0], JY),
    _f("Vincent", "-(sin(10*log(x1)) + sin(10*log(x2)))", _box(0.25, 10), -2.0,
       [7.70628098, 7.70628098], GAV),
    _f("Wavy", "1 - (cos(10*x1)*exp(-x1**2/2) + cos(10*x2)*exp(-x2**2/2))/2", _box(-_PI, _PI),
       0.0, [0, 0], JY),
    _f("WayburnSeader01", "(x1**6 + x2**4 - 17)**2 + (2*x1 + x2 - 4)**2", _box(-5, 5), 0.0,
       [1, 2], JY),
    _f("WayburnSeader02", "(1.613 - 4*(x1 - 0.3125)**2 - 4*(x2 - 1.625)**2)**2 + (x2 - 1)**2",
       _box(-500, 500), 0.0, [0.3125 - 0.012625 ** 0.5, 1.0], JY,
       "f = 0 at x1 = 0.3125 - sqrt(0.0505)/2; the published xglob (0.2, 1) gives 1.6e-8"),
    _f("Weierstrass", _weierstrass(), _box(-0.5, 0.5), 0.0, [0, 0], MIS,
       "the sums stop at k = 20 as in the source (a smooth function)"),
    _f("Whitley", _whitley(), _box(-10.24, 10.24), 0.0, [1, 1], GAV,
       "as SciPy's code: 100*(xi**2 - xj) + (1 - xj)**2 (its docstring squares xi**2 - xj)"),
    _f("Wolfe", "4/3*(x1**2 + x2**2 - x1*x2)**0.75 + x3", _box(0, 2, 3), 0.0, [0, 0, 0], JY),
    _f("XinSheYang03", "exp(-((x1/15)**10 + (x2/15)**10)) "
       "- 2*exp(-(x1**2 + x2**2))*cos(x1)**2*cos(x2)**2", _box(-20, 20), -1.0, [0, 0], JY),
    _f("YaoLiu09", "x1**2 - 10*cos(2*pi*x1) + 10 + x2**2 - 10*cos(2*pi*x2) + 10",
       _box(-5.12, 5.12), 0.0, [0, 0], YL),
    _f("Zacharov", "x1**2 + x2**2 + (0.5*(x1 + 2*x2))**2 + (0.5*(x1 + 2*x2))**4", _box(-5, 10),
       0.0, [0, 0], JY),
    _f("Zettl", "(x1**2 + x2**2 - 2*x1)**2 + 0.25*x1", _box(-5, 10), -0.003791237220468656,
       [-0.02989597760285287, 0.0], JY),
    _f("Zirilli", "0.25*x1**4 - 0.5*x1**2 + 0.1*x1 + 0.5*x2**2", _box(-10, 10), -0.35238603,
       [-1.0465, 0.0], JY),
]


def by_name(name: str) -> TestFunction:
    for f in SUITE:
        if f.name.lower() == name.lower():
            return f
    raise KeyError(name)
