"""Online SGD (batch of 1): samples per second, side by side (a benchmark, not a test).

Run:  .venv/bin/python benchmarks/bench_online_sgd.py [--rows 500000] [--repeat 3]

One shuffled epoch of plain SGD with batch size 1 on a 100-feature float32 regression:

* gdlab ``LinearRegression(batch_size=1, epochs=1, lr=0.002)`` with the compiled sweep
  (numba, :mod:`gdlab.kernels`; the whole ``fit`` call is timed, input checks
  included) and, for comparison, with the Python loop (every sample one trip through
  the shared descent loop);
* the same update written by hand as a NumPy loop (one ``x @ w`` and one axpy per sample):
  the floor of any pure NumPy implementation, dominated by the interpreter;
* scikit-learn ``SGDRegressor(max_iter=1, tol=None, learning_rate="constant",
  eta0=0.004)`` (the same step: its loss is half the squared error), a compiled (Cython) loop.

Target (issue 5): gdlab at least sklearn's samples/s. NumPy alone cannot reach it (see the
hand-written loop). The kernel's compile time is reported twice: cold (an empty numba
cache, in a child process) and from the on-disk cache (a new process, as a user's second
run).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np

from _common import best_of, header, peer, skip_note, table
from gdlab import kernels
from gdlab.models.estimators import LinearRegression

D = 100
LOOP_ROWS = 20_000
LR = 0.002  # gdlab mse; sklearn's squared_error is half of it, so its eta0 = 2 * LR


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=500_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    header(f"gdlab online SGD benchmark: batch size 1, {args.rows:,} x {D} float32",
           ("sklearn",))
    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.rows, D), dtype=np.float32)
    w_true = rng.normal(size=D).astype(np.float32) / np.sqrt(D)
    noise = 0.1 * rng.standard_normal(args.rows, dtype=np.float32)
    y = (X @ w_true + 0.5 + noise).astype(np.float32)
    n = args.rows
    rows = []

    def gd():
        LinearRegression(batch_size=1, epochs=1, lr=LR, tol=None, standardize=False,
                         seed=0).fit(X, y)

    compiled = kernels.numba_available()
    if compiled:
        cold, warm = _compile_times()
        print(f"numba kernel: compile {cold:.2f} s cold (empty cache), "
              f"{warm:.2f} s from the disk cache (each in a new process)\n")
        gd()  # load the kernel in this process
    t_gd = best_of(gd, args.repeat)
    rate_gd = n / t_gd
    import gdlab.models.estimators as _est
    from gdlab.train import train as _train

    def loop_only():  # the first LOOP_ROWS rows only: the Python loop is slow
        orig = _est.train
        _est.train = lambda *a, **k: _train(*a, **{**k, "compiled": False})
        try:
            LinearRegression(batch_size=1, epochs=1, lr=LR, tol=None, standardize=False,
                             seed=0).fit(X[:LOOP_ROWS], y[:LOOP_ROWS])
        finally:
            _est.train = orig
    t_loop = best_of(loop_only, 1)
    rate_loop = min(n, LOOP_ROWS) / t_loop

    def by_hand():
        w = np.zeros(D, dtype=np.float32)
        b = np.float32(0)
        lr = np.float32(LR * 2)  # gradient of the mean squared error: 2 * e * x
        for i in np.random.default_rng(0).permutation(n):
            xi = X[i]
            e = xi @ w + b - y[i]
            w -= (lr * e) * xi
            b -= lr * e
        return w
    t_hand = best_of(by_hand, args.repeat)
    rate_hand = n / t_hand
    sk = peer("sklearn")
    rate_sk = None
    if sk is not None:
        from sklearn.linear_model import SGDRegressor

        def sgd_sk():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                SGDRegressor(max_iter=1, tol=None, learning_rate="constant", eta0=2 * LR,
                             random_state=0).fit(X, y)
        t_sk = best_of(sgd_sk, max(args.repeat, 5))
        rate_sk = n / t_sk
    ref = rate_sk or rate_gd
    label = "compiled sweep" if compiled else "Python loop: numba not installed"
    rows.append((f"gdlab LinearRegression(batch_size=1), {label}", f"{rate_gd:,.0f}",
                 f"{t_gd / n * 1e6:.2f}", f"{rate_gd / ref:.3f}x"))
    if compiled and rate_loop:
        rows.append(("gdlab, the same through the Python loop", f"{rate_loop:,.0f}",
                     f"{1e6 / rate_loop:.1f}", f"{rate_loop / ref:.3f}x"))
    rows.append(("NumPy loop by hand (same update)", f"{rate_hand:,.0f}",
                 f"{t_hand / n * 1e6:.1f}", f"{rate_hand / ref:.3f}x"))
    if rate_sk is not None:
        rows.append(("sklearn SGDRegressor (Cython)", f"{rate_sk:,.0f}", f"{1e6 / rate_sk:.2f}",
                     "1.000x"))
    else:
        rows.append(("sklearn SGDRegressor", "-", "-", skip_note("sklearn")))
    print(table(rows, ("one epoch, batch 1", "samples/s", "us/sample", "vs sklearn")))
    if rate_sk is not None:
        print(f"\ntarget: gdlab >= sklearn's samples/s: "
              f"{'met' if rate_gd >= rate_sk else f'MISSED by {rate_sk / rate_gd:.0f}x'}")
    return 0


def _compile_times() -> tuple[float, float]:
    """Seconds for the first sweep in a new process: with an empty numba cache, then with
    the cache that first run wrote (minus the same process's time without any sweep)."""
    code = ("import time, numpy as np; from gdlab import kernels; "
            "X = np.ones((2, 3), np.float32); y = np.ones(2, np.float32); "
            "p = np.zeros(4, np.float32); t = time.perf_counter(); "
            "kernels.online_kernel()(X, y, p, True, 0, np.array([0.1]), 0.0, 0.0, float('nan'), "
            "0.0, 0.0, np.zeros(6), False, 0.0, 0.0, 0.0, np.zeros(3), p[:0]); "
            "print(time.perf_counter() - t)")
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        out = [float(subprocess.run([sys.executable, "-c", code], env=env, check=True,
                                    capture_output=True, text=True).stdout)
               for _ in range(2)]
    return out[0], out[1]


if __name__ == "__main__":
    raise SystemExit(main())
