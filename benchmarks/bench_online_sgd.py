"""Online SGD (batch of 1): samples per second, side by side (a benchmark, not a test).

Run:  .venv/bin/python benchmarks/bench_online_sgd.py [--rows 20000] [--repeat 3]

One shuffled epoch of plain SGD with batch size 1 on a 100-feature float32 regression:

* gdlab ``LinearRegression(batch_size=1, epochs=1, lr=0.002)`` (every sample one trip
  through the shared descent loop);
* the same update written by hand as a NumPy loop (one ``x @ w`` and one axpy per sample):
  the floor of any pure NumPy implementation, dominated by the interpreter;
* scikit-learn ``SGDRegressor(max_iter=1, tol=None, learning_rate="constant",
  eta0=0.004)`` (the same step: its loss is half the squared error), a compiled (Cython) loop.

Target (issue 5): gdlab at least sklearn's samples/s. NumPy alone cannot reach it (see the
hand-written loop); it needs a compiled per-sample kernel (e.g. numba), which gdlab does
not have yet.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from _common import best_of, header, peer, skip_note, table

from gdlab.models.estimators import LinearRegression

D = 100
LR = 0.002  # gdlab mse; sklearn's squared_error is half of it, so its eta0 = 2 * LR


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    header(f"gdlab online SGD benchmark: batch size 1, {args.rows:,} x {D} float32",
           ("sklearn",))
    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.rows, D), dtype=np.float32)
    w_true = rng.normal(size=D).astype(np.float32) / np.sqrt(D)
    y = (X @ w_true + 0.5 + 0.1 * rng.standard_normal(args.rows, dtype=np.float32)).astype(np.float32)
    n = args.rows
    rows = []

    def gd():
        LinearRegression(batch_size=1, epochs=1, lr=LR, tol=None, standardize=False,
                         seed=0).fit(X, y)
    t_gd = best_of(gd, args.repeat)
    rate_gd = n / t_gd

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
    rows.append(("gdlab LinearRegression(batch_size=1)", f"{rate_gd:,.0f}",
                 f"{t_gd / n * 1e6:.1f}", f"{rate_gd / ref:.3f}x"))
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


if __name__ == "__main__":
    raise SystemExit(main())
