"""gdlab ``minimize`` against scipy's L-BFGS-B on standard global-optimization test functions
(a benchmark, not a test).

Run:  .venv/bin/python benchmarks/bench_minimize_suite.py [--verbose] [--limit N]
          [--functions Beale,Rosenbrock] [--starts 50] [--seed 0] [--time-limit 20]

Prints the machine facts, the method gdlab ran, a totals table side by side and gdlab's
misses; writes nothing. The whole suite takes a few minutes (each gdlab call is cut at
``--time-limit`` seconds; the functions that hit it are listed).

The functions are ``suite_functions.SUITE``: smooth functions of 2 to 5 variables with
published bounds and known minimum ``fglob`` (SciPy's global-optimization benchmark set;
``check_suite.py`` checks the formulas). For each function:

* the formula is parsed, differentiated and compiled once by gdlab (``gdlab.Function``;
  this time is reported apart; both sides then evaluate the same expressions);
* ``--starts`` points are drawn uniformly in the bounds by
  ``numpy.random.default_rng(seed)`` (a new generator per function, so a function gets the
  same starts whatever else runs); both sides start from exactly these points;
* gdlab: one call ``gdlab.minimize(f, x0=starts, bounds=bounds, seed=0,
  time_limit=...)`` with every other argument at its default (the default method is
  printed once);
* scipy: ``scipy.optimize.minimize(f, x0, method="L-BFGS-B", jac=True, bounds=bounds)``
  from each start in turn, ``f`` returning the value and gradient of one point. By default
  (``--scipy-callable lambdify``) ``f`` is the fastest honest scalar function: the same
  sympy expressions gdlab differentiated, lambdified for Python's ``math`` module (about
  1 us per call; checked against gdlab's evaluator at three random points, NumPy's module
  where ``math`` fails).
  ``--scipy-callable gdlab`` calls gdlab's compiled ``Function.value_and_grad`` on one row
  instead (about 100 us per call: built for many rows, it handicaps scipy);
* found: the best start's value within ``1e-4 * max(1, |fglob|)`` of ``fglob`` and its point
  inside the bounds (gdlab: ``result.fun``/``result.x``; scipy: the best of its results).

Times are CPU (``time.process_time``) and wall clock of the optimization calls only, summed
over the functions (``--repeat N``: the best wall time of N runs, ``_common.best_of``).
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import scipy
import scipy.optimize

import gdlab
from _common import best_of, header, table
from suite_functions import SUITE, TestFunction

RTOL = 1e-4  # found: |f - fglob| <= RTOL * max(1, |fglob|)


@dataclass
class Outcome:
    """One side's result on one function."""

    fun: float
    x: np.ndarray
    cpu: float
    wall: float
    found: bool = False
    outside: bool = False
    time_limit: bool = False


@dataclass
class Row:
    tf: TestFunction
    compile_s: float
    gd: Outcome | None = None
    sp: Outcome | None = None
    notes: list[str] = field(default_factory=list)
    module: str = ""  # how scipy's callable was made (lambdify's module)


def tolerance(fglob: float) -> float:
    return RTOL * max(1.0, abs(fglob))


def judge(tf: TestFunction, out: Outcome) -> Outcome:
    lo, hi = np.asarray(tf.bounds).T
    out.outside = bool(np.any(out.x < lo) or np.any(out.x > hi))
    out.found = bool(np.isfinite(out.fun) and abs(out.fun - tf.fglob) <= tolerance(tf.fglob)
                     and not out.outside)
    return out


def timed(run: Callable[[], Any], repeat: int) -> tuple[Any, float, float]:
    """``run()``'s result, its CPU time (mean of ``repeat`` runs) and best wall time."""
    box: dict[str, Any] = {}

    def once() -> None:
        box["out"] = run()

    cpu0 = time.process_time()
    wall = best_of(once, repeat)
    return box["out"], (time.process_time() - cpu0) / repeat, wall


def compile_function(tf: TestFunction) -> tuple[gdlab.Function | None, float, list[str]]:
    """The compiled Function (value and gradient), its build time, and notes (a refusal; a
    formula accepted only at the second attempt: gdlab's parser has a wall-clock budget)."""
    notes = []
    t = time.perf_counter()
    for attempt in (1, 2):
        try:
            fn = gdlab.Function(tf.formula, variables=tf.variables)
            fn.value_and_grad(np.asarray([tf.xglob], dtype=float))
            return fn, time.perf_counter() - t, notes
        except gdlab.FormulaError as e:
            notes.append(f"parser refused it (attempt {attempt}): {e}")
    return None, time.perf_counter() - t, notes


def run_gdlab(tf: TestFunction, fn: gdlab.Function, starts: np.ndarray, time_limit: float,
              repeat: int) -> tuple[Outcome, Any]:
    def run() -> Any:
        return gdlab.minimize(fn, x0=starts, bounds=tf.bounds, seed=0, time_limit=time_limit)

    res, cpu, wall = timed(run, repeat)
    statuses = getattr(res, "statuses", None) or [res.status]
    out = Outcome(float(res.fun), np.asarray(res.x, dtype=float), cpu, wall,
                  time_limit=any(s == "time_limit" for s in statuses))
    return judge(tf, out), res


def scalar_callable(tf: TestFunction, fn: gdlab.Function) -> tuple[Callable, str]:
    """The fastest honest one-point ``fg(x) -> (f, grad)`` for scipy: the same sympy
    expressions gdlab differentiated (``fn.expr`` and ``fn.derivative(v).expr``),
    lambdified for Python's ``math`` module (about 1 us per call, against about 100 us for
    ``Function.value_and_grad`` on one row, which is built for many rows at once), checked
    against gdlab's evaluator at three random points in the bounds; NumPy's module where
    ``math`` cannot evaluate it."""
    import sympy

    syms = [sympy.Symbol(v) for v in fn.variables]
    exprs = [fn.expr] + [fn.derivative(v).expr for v in fn.variables]
    lo, hi = np.asarray(tf.bounds, dtype=float).T
    xs = np.random.default_rng(1).uniform(lo, hi, size=(3, tf.dim))  # off the minimum and
    # the origin, where sqrt(x**2 + ...) and the like have no gradient to compare
    want_v, want_g = fn.value_and_grad(xs)
    for module in ("math", "numpy"):
        try:
            raw = sympy.lambdify(syms, exprs, modules=module)

            def fg(x: np.ndarray, raw: Callable = raw) -> tuple[float, np.ndarray]:
                out = raw(*(float(xi) for xi in x))
                return float(out[0]), np.array(out[1:], dtype=float)

            with np.errstate(all="ignore"):
                got = [fg(x) for x in xs]
            if all(np.allclose([v, *g], [wv, *wg], rtol=1e-9, atol=1e-12, equal_nan=True)
                   for (v, g), wv, wg in zip(got, want_v, want_g)):
                return fg, module
        except Exception:  # noqa: BLE001, S112 - try the next module
            continue
    return gdlab_callable(fn), "gdlab"


def gdlab_callable(fn: gdlab.Function) -> Callable:
    """``fg(x)`` from gdlab's compiled evaluator, one row per call."""
    def fg(x: np.ndarray) -> tuple[float, np.ndarray]:
        v, g = fn.value_and_grad(x[None])
        return float(v[0]), g[0]
    return fg


def run_scipy(tf: TestFunction, fg: Callable, starts: np.ndarray,
              repeat: int) -> Outcome:

    def run() -> list[tuple[float, np.ndarray]]:
        out = []
        for x0 in starts:
            try:
                r = scipy.optimize.minimize(fg, x0, method="L-BFGS-B", jac=True,
                                            bounds=tf.bounds)
                out.append((float(r.fun), np.asarray(r.x, dtype=float)))
            except Exception:  # noqa: BLE001 - a start that raises counts as not found
                out.append((np.inf, np.asarray(x0, dtype=float)))
        return out

    results, cpu, wall = timed(run, repeat)
    funs = np.array([f if np.isfinite(f) else np.inf for f, _ in results])
    i = int(np.argmin(funs))
    return judge(tf, Outcome(float(funs[i]), results[i][1], cpu, wall))


def select(names: str | None, limit: int | None) -> list[TestFunction]:
    suite = list(SUITE)
    if names:
        wanted = [n.strip().lower() for n in names.split(",") if n.strip()]
        known = {tf.name.lower(): tf for tf in suite}
        unknown = [n for n in wanted if n not in known]
        if unknown:
            raise SystemExit(f"unknown functions: {', '.join(unknown)}")
        suite = [known[n] for n in wanted]
    return suite[:limit] if limit else suite


def mark(o: Outcome | None) -> str:
    if o is None:
        return "-"
    return "yes" if o.found else ("no (outside)" if o.outside else "no")


def verbose_line(row: Row) -> str:
    tf, gd, sp = row.tf, row.gd, row.sp
    gtxt = "refused" if gd is None else (f"{gd.fun:.8g} {mark(gd):>3} {gd.wall:6.2f}s"
                                         + (" time limit" if gd.time_limit else ""))
    stxt = "-" if sp is None else f"{sp.fun:.8g} {mark(sp):>3} {sp.wall:6.2f}s"
    return f"{tf.name:<28} d={tf.dim} fglob={tf.fglob:<14.8g} gdlab {gtxt:<34} scipy {stxt}"


def race(suite: list[TestFunction], a: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    said_method = False
    for tf in suite:
        fn, compile_s, notes = compile_function(tf)
        row = Row(tf, compile_s, notes=notes)
        rows.append(row)
        if fn is None:
            print(f"{tf.name}: {notes[-1]}", flush=True)
            continue
        lo, hi = np.asarray(tf.bounds).T
        starts = np.random.default_rng(a.seed).uniform(lo, hi, size=(a.starts, tf.dim))
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            row.gd, res = run_gdlab(tf, fn, starts, a.time_limit, a.repeat)
            if a.scipy_callable == "gdlab":
                fg = gdlab_callable(fn)
            else:
                fg, module = scalar_callable(tf, fn)
                row.module = module
            row.sp = run_scipy(tf, fg, starts, a.repeat)
        if not said_method:
            print(f"gdlab's default method (result.optimizer): {res.optimizer}\n", flush=True)
            said_method = True
        if a.verbose:
            print(verbose_line(row), flush=True)
    return rows


def report(rows: list[Row], a: argparse.Namespace) -> None:
    ran = [r for r in rows if r.gd is not None and r.sp is not None]
    n = len(ran)
    g = {r.tf.name for r in ran if r.gd.found}  # type: ignore[union-attr]
    s = {r.tf.name for r in ran if r.sp.found}  # type: ignore[union-attr]
    hits = [r for r in ran if r.gd.time_limit]  # type: ignore[union-attr]

    def total(side: str, what: str) -> float:
        return sum(getattr(getattr(r, side), what) for r in ran)

    print(f"\n{n} functions, {a.starts} starts each (seed {a.seed}); found: best value within "
          f"{RTOL:g}*max(1, |fglob|) of fglob and inside the bounds")
    print(table([
        ("functions found", f"{len(g)} / {n}", f"{len(s)} / {n}"),
        ("found only by this one", str(len(g - s)), str(len(s - g))),
        ("found by both", str(len(g & s)), str(len(g & s))),
        ("found by neither", str(n - len(g | s)), str(n - len(g | s))),
        ("CPU time, s (process_time)", f"{total('gd', 'cpu'):.1f}", f"{total('sp', 'cpu'):.1f}"),
        ("wall time, s", f"{total('gd', 'wall'):.1f}", f"{total('sp', 'wall'):.1f}"),
        (f"calls cut at --time-limit {a.time_limit:g} s", str(len(hits)), "-"),
    ], ("", "gdlab minimize (default)", "scipy L-BFGS-B")))
    print(f"(not in the times: parse + gradient + compile by gdlab.Function, shared by both: "
          f"{sum(r.compile_s for r in rows):.1f} s wall)")
    if a.scipy_callable == "lambdify":
        modules = Counter(r.module for r in ran)
        print("scipy's callable: the same expressions lambdified, one point per call ("
              + ", ".join(f"{k}: {v} functions" for k, v in sorted(modules.items())) + ")")
    refused = [r for r in rows if r.gd is None or r.notes]
    if refused:
        print("\nformulas gdlab's parser refused: "
              + "; ".join(f"{r.tf.name} ({'; '.join(r.notes)})" for r in refused))
    if hits:
        print("\ngdlab calls cut by the time limit: "
              + ", ".join(f"{r.tf.name} ({r.gd.wall:.1f} s)" for r in hits))  # type: ignore
    report_misses(ran, g, s)


def report_misses(ran: list[Row], g: set[str], s: set[str]) -> None:
    misses = [r for r in ran if r.tf.name not in g]
    if misses:
        print(f"\ngdlab's misses ({len(misses)}):")
        print(table([(r.tf.name, f"{r.gd.fun:.10g}", f"{r.tf.fglob:.10g}",  # type: ignore
                       "yes" if r.gd.outside else "no",  # type: ignore[union-attr]
                       "yes" if r.gd.time_limit else "no",  # type: ignore[union-attr]
                       "yes" if r.tf.name in s else "no", f"{r.sp.fun:.10g}")  # type: ignore
                      for r in misses],
                     ("function", "gdlab best f", "fglob", "outside bounds", "time limit",
                      "scipy found", "scipy best f")))
    only_scipy = sorted(s - g)
    only_gdlab = sorted(g - s)
    print(f"\nfound by scipy only: {', '.join(only_scipy) or '-'}")
    print(f"found by gdlab only: {', '.join(only_gdlab) or '-'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--functions", help="comma-separated names (default: the whole suite)")
    ap.add_argument("--limit", type=int, help="only the first N functions (a quick run)")
    ap.add_argument("--starts", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-limit", type=float, default=20.0,
                    help="seconds per gdlab call (default 20)")
    ap.add_argument("--repeat", type=int, default=1, help="best wall time of N runs")
    ap.add_argument("--verbose", action="store_true", help="one line per function")
    ap.add_argument("--scipy-callable", choices=("lambdify", "gdlab"), default="lambdify",
                    help="scipy's f and gradient: the expressions lambdified for the math "
                         "module (default; about 1 us per call), or gdlab's compiled "
                         "evaluator called on one row (about 100 us per call)")
    a = ap.parse_args()
    suite = select(a.functions, a.limit)
    header(f"gdlab minimize vs scipy {scipy.__version__} L-BFGS-B on {len(suite)} test functions")
    rows = race(suite, a)
    report(rows, a)


if __name__ == "__main__":
    main()
