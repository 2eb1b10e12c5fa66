"""Check the test functions of ``suite_functions.py`` (a check, not part of the test suite).

Run:  .venv/bin/python benchmarks/check_suite.py [--scipy-benchmarks DIR] [--points 20]
          [--gradients]

For every function: ``gdlab.Function(formula, variables=("x1", ..., "xd"))`` parses and
compiles its value (with ``--gradients`` also its gradient, as ``minimize`` does);
``xglob`` lies in the bounds and the value there equals ``fglob`` (to 1e-6 relative or
1e-8 absolute). gdlab's parser refuses a formula whose building takes over half a second
of wall clock, which a busy machine can cause: a refusal that a later attempt overcomes is
noted, not failed, as is a build over 1 s of CPU (both are gdlab's problems, not the
suite's).

With ``--scipy-benchmarks DIR`` (SciPy's ``go_benchmark_functions`` folder, or a SciPy
source tree holding ``benchmarks/benchmarks/go_benchmark_functions``; it is imported from
there, nothing of it is kept), also: the reference class of the same name has the same
dimension and bounds, its ``fglob`` agrees (to the benchmark's tolerance, 1e-4 relative,
where the suite polished a rounded value; a ``nan`` there is not compared), and the formula
agrees with its ``fun`` at ``--points`` random points in the bounds (to 1e-9 relative).

Prints one line per failure, the notes and a summary; exits 1 if anything failed. Takes
about ten seconds (sympy building and compiling the formulas; ``--gradients`` adds sympy's
differentiation, about 20 s more).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import sys
import time
import types
from pathlib import Path
from typing import Any

import numpy as np

import gdlab
from suite_functions import SUITE, TestFunction

SLOW = 1.0  # CPU seconds to build one formula beyond which gdlab is slow (a note)
ATTEMPTS = 3  # gdlab's parser has a wall-clock budget: a busy machine can make it refuse
FGLOB_RTOL, FGLOB_ATOL = 1e-6, 1e-8
REF_RTOL = 1e-9
PUBLISHED_RTOL = 1e-4  # a polished fglob against the published one (the benchmark's tol)


def load_reference(path: str) -> Any:
    """SciPy's go_benchmark_functions package, imported from ``path`` under a private name
    (its modules import ``..common.safe_import``, which is provided here)."""
    root = Path(path).expanduser().resolve()
    for cand in (root, root / "go_benchmark_functions",
                 root / "benchmarks" / "benchmarks" / "go_benchmark_functions"):
        if (cand / "go_benchmark.py").is_file():
            root = cand
            break
    else:
        raise SystemExit(f"no go_benchmark_functions package found at {path}")
    parent = types.ModuleType("_suite_ref")
    parent.__path__ = []
    common = types.ModuleType("_suite_ref.common")
    common.safe_import = lambda: contextlib.suppress(ImportError)  # type: ignore[attr-defined]
    sys.modules["_suite_ref"] = parent
    sys.modules["_suite_ref.common"] = common
    spec = importlib.util.spec_from_file_location(
        "_suite_ref.gbf", root / "__init__.py", submodule_search_locations=[str(root)])
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["_suite_ref.gbf"] = mod
    spec.loader.exec_module(mod)
    return mod


def build(tf: TestFunction, gradients: bool) -> tuple[gdlab.Function, float, float, list[str]]:
    """The compiled Function (its value, and its gradient if ``gradients``), the CPU and
    wall seconds of its last attempt, and the refusals before it. gdlab's parser refuses a
    formula whose building takes over ``gdlab.expr.TIME_BUDGET`` seconds of wall clock,
    which a busy machine can cause: up to ``ATTEMPTS`` attempts are made (the later ones
    find sympy's caches warm)."""
    refusals: list[str] = []
    while True:
        cpu, wall = time.process_time(), time.perf_counter()
        try:
            fn = gdlab.Function(tf.formula, variables=tf.variables)
            x = np.asarray([tf.xglob], dtype=float)
            fn.value_and_grad(x) if gradients else fn.value(x)
            return fn, time.process_time() - cpu, time.perf_counter() - wall, refusals
        except gdlab.FormulaError as e:
            refusals.append(str(e))
            if len(refusals) == ATTEMPTS:
                raise


def check_formula(tf: TestFunction,
                  gradients: bool) -> tuple[list[str], list[str], gdlab.Function | None]:
    """Problems with the formula alone, notes (not failures), and the compiled Function."""
    try:
        fn, cpu, wall, refusals = build(tf, gradients)
    except Exception as e:  # noqa: BLE001 - any refusal is reported
        return [f"refused by gdlab: {type(e).__name__}: {e}"], [], None
    notes = [f"refused at attempt {i + 1} of {ATTEMPTS}, accepted later: {r}"
             for i, r in enumerate(refusals)]
    if cpu > SLOW:
        notes.append(f"slow: {cpu:.2f} s CPU ({wall:.2f} s wall) to parse"
                     + (", differentiate and compile" if gradients else " and compile"))
    problems = []
    lo, hi = np.asarray(tf.bounds).T
    x = np.asarray(tf.xglob, dtype=float)
    if x.shape != lo.shape or np.any(x < lo) or np.any(x > hi):
        problems.append(f"xglob {tf.xglob} outside the bounds")
    v = float(fn.value(x[None])[0])
    if not abs(v - tf.fglob) <= max(FGLOB_RTOL * abs(tf.fglob), FGLOB_ATOL):
        problems.append(f"f(xglob) = {v!r}, fglob = {tf.fglob!r}")
    return problems, notes, fn


def check_reference(tf: TestFunction, fn: gdlab.Function, ref: Any, points: int) -> list[str]:
    """Problems against SciPy's class of the same name."""
    cls = getattr(ref, tf.name, None)
    if cls is None:
        return ["no reference class of that name"]
    obj = cls()
    if obj.N != tf.dim:
        return [f"reference has {obj.N} variables"]
    problems = []
    if not np.allclose(np.asarray(obj.bounds, dtype=float), np.asarray(tf.bounds)):
        problems.append(f"reference bounds {obj.bounds}")
    fref = float(obj.fglob)
    if not np.isnan(fref) and abs(fref - tf.fglob) > PUBLISHED_RTOL * max(1.0, abs(tf.fglob)):
        problems.append(f"reference fglob {fref!r}, suite {tf.fglob!r}")
    rng = np.random.default_rng(0)
    lo, hi = np.asarray(tf.bounds).T
    X = rng.uniform(lo, hi, size=(points, tf.dim))
    with np.errstate(all="ignore"):
        mine = fn.value(X)
        theirs = np.array([float(obj.fun(x)) for x in X])
    bad = ~(np.abs(mine - theirs) <= REF_RTOL * np.abs(theirs))
    if bad.any():
        i = int(np.argmax(bad))
        problems.append(f"differs from the reference at {int(bad.sum())} of {points} points, "
                        f"e.g. {mine[i]!r} vs {theirs[i]!r} at {X[i].tolist()}")
    return problems


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scipy-benchmarks", metavar="DIR",
                    help="SciPy's go_benchmark_functions folder (or a SciPy source tree)")
    ap.add_argument("--points", type=int, default=20)
    ap.add_argument("--gradients", action="store_true",
                    help="also differentiate and compile the gradients (as minimize does; "
                         "sympy takes about 20 s for the suite)")
    a = ap.parse_args()
    ref = load_reference(a.scipy_benchmarks) if a.scipy_benchmarks else None
    names = [tf.name for tf in SUITE]
    failed, noted = 0, []
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        print(f"duplicate names: {sorted(dupes)}")
        failed += 1
    t0 = time.perf_counter()
    for tf in SUITE:
        problems, notes, fn = check_formula(tf, a.gradients)
        if ref is not None and fn is not None:
            problems += check_reference(tf, fn, ref, a.points)
        for p in problems:
            print(f"FAIL {tf.name}: {p}")
        noted += [f"{tf.name}: {n}" for n in notes]
        failed += bool(problems)
    dims = {d: sum(tf.dim == d for tf in SUITE) for d in sorted({tf.dim for tf in SUITE})}
    what = (f"parsing, f(xglob) = fglob, reference at {a.points} points" if ref is not None
            else "parsing and f(xglob) = fglob (no --scipy-benchmarks: reference skipped)")
    print(f"{len(SUITE)} functions ({', '.join(f'{n} of {d} variables' for d, n in dims.items())})"
          f"; checked {what} in {time.perf_counter() - t0:.1f} s: "
          f"{'all passed' if not failed else f'{failed} failed'}")
    if noted:
        print("notes (gdlab's parser or compiler; not failures of the suite):")
        print("\n".join("  " + n for n in noted))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
