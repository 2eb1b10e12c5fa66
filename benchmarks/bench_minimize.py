"""Overhead and throughput of ``gdlab.minimize`` (a benchmark, not a test).

Run:  .venv/bin/python benchmarks/bench_minimize.py

Prints one table; writes nothing. Takes well under a minute.

1. Per-iteration overhead on a 2-variable formula: ``minimize`` with a fixed learning
   rate, ``eps=None``, ``max_iter=20000`` against the same loop written by hand in
   NumPy with the same compiled value-and-gradient (``Function.value_and_grad``), and
   against a bare loop over that compiled function alone. Also the default Armijo line
   search per iteration.
2. Throughput of many starts at once: Himmelblau with ``restarts=10000``, fixed
   learning rate, ``max_iter=500`` (start-iterations per second), against the same
   vectorized loop by hand.
3. One whole ``gdlab.minimize`` call from formula text: parsing, symbolic gradient,
   compilation and a short run.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

import gdlab
from _common import best_of as _best_of
from _common import header
from gdlab import Function

FORMULA = "x**2 + 2*x*y + 3 + cos(x + 2*y) + 2*y**2"  # the lecture's formula made bounded below
LR = 0.05
ITERS = 20_000
STARTS = 10_000
ITERS_MANY = 500


def best_of(fn, repeat: int = 5) -> float:
    return _best_of(fn, repeat)


def by_hand(f: Function, x0: np.ndarray, lr: float, iters: int) -> np.ndarray:
    """Plain gradient descent ``x <- x - lr * grad`` with the same compiled gradient."""
    x = np.array(x0, dtype=float)
    for _ in range(iters + 1):  # minimize evaluates at the start and after each of its steps
        _, g = f.value_and_grad(x)
        x -= lr * g
    return x


def main() -> None:
    rows: list[tuple[str, str, str]] = []
    f = Function(FORMULA)
    f.value_and_grad(np.zeros((1, 2)))  # compile once, outside the timings

    # 1. one start, fixed lr -----------------------------------------------------------------
    x0 = np.array([[1.0, -1.0]])
    t_gd = best_of(lambda: gdlab.minimize(f, x0=x0[0], lr=LR, eps=None, max_iter=ITERS))
    t_hand = best_of(lambda: by_hand(f, x0, LR, ITERS))
    def evals_only() -> None:
        xx = x0.copy()
        vg = f.value_and_grad
        for _ in range(ITERS + 1):
            vg(xx)

    t_eval = best_of(evals_only)
    res = gdlab.minimize(f, x0=x0[0], lr=LR, eps=None, max_iter=ITERS)
    np.testing.assert_allclose(res.x, by_hand(f, x0, LR, ITERS - 1)[0], rtol=1e-12)
    per_gd, per_hand, per_eval = t_gd / ITERS, t_hand / ITERS, t_eval / ITERS
    rows += [
        ("1 start, fixed lr: minimize", f"{per_gd * 1e6:8.1f} us/iter",
         f"{t_gd:.3f} s for {ITERS} iterations"),
        ("1 start, fixed lr: NumPy loop by hand", f"{per_hand * 1e6:8.1f} us/iter",
         f"minimize / by hand = {per_gd / per_hand:.2f}x"),
        ("1 start: compiled value_and_grad alone", f"{per_eval * 1e6:8.1f} us/call",
         f"loop overhead of minimize = {(per_gd - per_eval) * 1e6:.1f} us/iter"),
    ]
    ls_iters = 2000
    t_ls = best_of(lambda: gdlab.minimize(f, x0=x0[0], eps=None, max_iter=ls_iters))
    rows.append(("1 start, Armijo line search: minimize", f"{t_ls / ls_iters * 1e6:8.1f} us/iter",
                 f"{t_ls / ls_iters / per_gd:.2f}x the fixed-lr iteration"))

    # 2. many starts at once -------------------------------------------------------------------
    him = Function("himmelblau")
    X0 = np.random.default_rng(0).uniform(-5, 5, size=(STARTS, 2))
    him.value_and_grad(X0[:2])
    t_many = best_of(lambda: gdlab.minimize("himmelblau", restarts=STARTS, seed=0, lr=0.01,
                                            eps=None, max_iter=ITERS_MANY), repeat=2)
    t_many_hand = best_of(lambda: by_hand(him, X0, 0.01, ITERS_MANY), repeat=2)
    work = STARTS * ITERS_MANY
    rows += [
        (f"{STARTS} starts x {ITERS_MANY} iters (Himmelblau): minimize",
         f"{work / t_many / 1e6:8.2f} M start-iter/s", f"{t_many:.3f} s"),
        (f"{STARTS} starts x {ITERS_MANY} iters: NumPy loop by hand",
         f"{work / t_many_hand / 1e6:8.2f} M start-iter/s",
         f"minimize / by hand = {t_many / t_many_hand:.2f}x"),
    ]

    # 3. one whole call from text ----------------------------------------------------------------
    calls = []
    for k in range(7):
        text = f"x**2 + 2*x*y + 3 + cos(x + 2*y) + 2*y**2 + {k + 1}*x"  # new text every call
        t = time.perf_counter()
        r = gdlab.minimize(text, x0=[1.0, -1.0])
        calls.append(time.perf_counter() - t)
        assert r.converged, r
    rows += [
        ("one minimize(text) call, first in process", f"{calls[0] * 1e3:8.1f} ms",
         "parse + sympy.diff + lambdify + run (imports warm)"),
        ("one minimize(text) call, typical", f"{statistics.median(calls[1:]) * 1e3:8.1f} ms",
         f"median of {len(calls) - 1}; the run itself took {r.nit} iterations"),
    ]

    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    header("gdlab minimize benchmark")
    print(f"{'case':<{w0}}  {'result':>{w1}}  notes")
    print(f"{'-' * w0}  {'-' * w1}  {'-' * 40}")
    for a, b, c in rows:
        print(f"{a:<{w0}}  {b:>{w1}}  {c}")


if __name__ == "__main__":
    main()
