"""MLP (256, 128) classifiers side by side: seconds per epoch at equal accuracy (a benchmark,
not a test).

Run:  .venv/bin/python benchmarks/bench_mlp.py [--epochs 5] [--repeat 2]

Two data sets, each standardized once (all peers get the same float32 arrays and do no
scaling of their own; gdlab ``standardize=False``):

* synthetic: 60,000 x 784 training rows (plus 10,000 test rows) of a 10-class problem, each
  class a Gaussian around its own random centre in a 50-dimensional subspace, plus noise;
* digits: scikit-learn's 8x8 digits (1,797 x 64), 80 % train / 20 % test.

Every method trains ReLU (256, 128) with Adam (lr 1e-3), batch 200, shuffled, for the same
number of epochs: gdlab ``MLPClassifier``, scikit-learn ``MLPClassifier`` (``tol=0``,
``n_iter_no_change`` large, so it runs every epoch) and a plain PyTorch loop (index slices
of a ``randperm``, ``CrossEntropyLoss``, ``torch.optim.Adam``; skipped without
``torch==2.13.0``). Penalties: scikit-learn's ``alpha=1e-4`` is ``l2 = alpha / batch`` in
gdlab's per-batch convention; PyTorch runs without weight decay (a 5e-7 penalty changes
nothing measurable). Reported: seconds per epoch (best run of ``--repeat``, total time /
epochs) and the test accuracy reached, so "equal accuracy" can be read off.

The FLOP rate: one epoch of forward and backward passes costs 2·n·(sum of in·out over the
layers) for the forward products, as much again for the weight gradients and the same
without the first layer for the deltas. Reference: the same matrix products alone (plain
float32 ``np.matmul`` into preallocated buffers, every batch of an epoch).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from _common import header, peer, skip_note, table
from gdlab.models.estimators import MLPClassifier

HIDDEN = (256, 128)
BATCH = 200
LR = 1e-3
ALPHA = 1e-4


def synthetic(n_train=60_000, n_test=10_000, d=784, k=10, seed=0):
    rng = np.random.default_rng(seed)
    basis = rng.normal(size=(50, d)).astype(np.float32) / np.sqrt(50)
    centres = rng.normal(size=(k, 50)).astype(np.float32) * 0.3
    n = n_train + n_test
    y = rng.integers(0, k, size=n)
    Z = centres[y] + rng.standard_normal((n, 50), dtype=np.float32)
    X = Z @ basis + 1.0 * rng.standard_normal((n, d), dtype=np.float32)
    return _standardized(X[:n_train], y[:n_train], X[n_train:], y[n_train:])


def digits(seed=0):
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    perm = np.random.default_rng(seed).permutation(len(X))
    X, y = X[perm].astype(np.float32), y[perm]
    cut = int(0.8 * len(X))
    return _standardized(X[:cut], y[:cut], X[cut:], y[cut:])


def _standardized(X, y, Xt, yt):
    mu = X.mean(axis=0)
    sd = X.std(axis=0)
    sd[sd == 0] = 1
    f = lambda A: np.ascontiguousarray(((A - mu) / sd).astype(np.float32))  # noqa: E731
    return f(X), y.astype(np.int64), f(Xt), yt.astype(np.int64)


def flops_per_epoch(n, sizes):
    pairs = [(sizes[i], sizes[i + 1]) for i in range(len(sizes) - 1)]
    fwd = sum(2 * n * a * b for a, b in pairs)
    back_delta = sum(2 * n * a * b for a, b in pairs[1:])
    return 2 * fwd + back_delta


def matmul_floor(X, sizes, repeat):
    """Seconds of the epoch's matrix products alone (batch BATCH, float32, no allocation)."""
    rng = np.random.default_rng(0)
    Ws = [rng.standard_normal((sizes[i], sizes[i + 1]), dtype=np.float32)
          for i in range(len(sizes) - 1)]
    acts = [np.empty((BATCH, s), dtype=np.float32) for s in sizes[1:]]
    deltas = [np.empty((BATCH, s), dtype=np.float32) for s in sizes[1:]]
    gWs = [np.empty_like(W) for W in Ws]
    best = float("inf")
    n = len(X) - len(X) % BATCH
    for _ in range(repeat):
        t = time.perf_counter()
        for lo in range(0, n, BATCH):
            a = X[lo:lo + BATCH]
            for W, out in zip(Ws, acts):
                a = np.matmul(a, W, out=out)
            for layer in range(len(Ws) - 1, -1, -1):
                prev = X[lo:lo + BATCH] if layer == 0 else acts[layer - 1]
                np.matmul(prev.T, deltas[layer], out=gWs[layer])
                if layer:
                    np.matmul(deltas[layer], Ws[layer].T, out=deltas[layer - 1])
        best = min(best, time.perf_counter() - t)
    return best * len(X) / n


def run_gdlab(X, y, Xt, yt, epochs):
    m = MLPClassifier(HIDDEN, optimizer="adam", lr=LR, batch_size=BATCH, epochs=epochs,
                      tol=None, l2=ALPHA / BATCH, standardize=False, seed=0)
    t = time.perf_counter()
    m.fit(X, y)
    return time.perf_counter() - t, float(np.mean(m.predict(Xt) == yt))


def run_sklearn(X, y, Xt, yt, epochs):
    from sklearn.neural_network import MLPClassifier as SkMLP
    m = SkMLP(HIDDEN, solver="adam", learning_rate_init=LR, batch_size=BATCH, max_iter=epochs,
              alpha=ALPHA, tol=0.0, n_iter_no_change=10 ** 6, random_state=0, shuffle=True)
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m.fit(X, y)
    return time.perf_counter() - t, float(np.mean(m.predict(Xt) == yt))


def run_torch(torch, X, y, Xt, yt, epochs):
    torch.manual_seed(0)
    d, k = X.shape[1], int(y.max()) + 1
    model = torch.nn.Sequential(torch.nn.Linear(d, HIDDEN[0]), torch.nn.ReLU(),
                                torch.nn.Linear(HIDDEN[0], HIDDEN[1]), torch.nn.ReLU(),
                                torch.nn.Linear(HIDDEN[1], k))
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xs, ys = torch.from_numpy(X), torch.from_numpy(y)
    n = len(X)
    t = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(n)
        for lo in range(0, n, BATCH):
            idx = perm[lo:lo + BATCH]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(Xs[idx]), ys[idx])
            loss.backward()
            opt.step()
    sec = time.perf_counter() - t
    with torch.no_grad():
        acc = float((model(torch.from_numpy(Xt)).argmax(1).numpy() == yt).mean())
    return sec, acc


def bench(name, data, epochs, repeat):
    X, y, Xt, yt = data
    sizes = [X.shape[1], *HIDDEN, int(y.max()) + 1]
    fl = flops_per_epoch(len(X), sizes)
    t_mm = matmul_floor(X, sizes, 3)
    results = []
    methods = [("gdlab MLPClassifier", lambda: run_gdlab(X, y, Xt, yt, epochs)),
               ("sklearn MLPClassifier", (lambda: run_sklearn(X, y, Xt, yt, epochs))
                if peer("sklearn") else None)]
    torch = peer("torch")
    methods.append(("PyTorch loop", (lambda: run_torch(torch, X, y, Xt, yt, epochs))
                    if torch else None))
    for label, fn in methods:
        if fn is None:
            results.append((label, None, None))
            continue
        runs = [fn() for _ in range(repeat)]
        sec = min(r[0] for r in runs)
        results.append((label, sec / epochs, runs[0][1]))
        print(f"  {name}: {label}: {sec / epochs:.3f} s/epoch, accuracy {runs[0][1]:.4f}",
              flush=True)
    sk = next((r[1] for r in results if r[0].startswith("sklearn") and r[1]), None)
    to = next((r[1] for r in results if r[0].startswith("PyTorch") and r[1]), None)
    rows = []
    for label, spe, acc in results:
        if spe is None:
            rows.append((label, "-", "-", "-", "-", "-",
                         skip_note("torch" if "PyTorch" in label else "sklearn")))
            continue
        rows.append((label, f"{spe:.3f}", f"{acc:.4f}",
                     f"{spe / sk:.2f}x" if sk else "-", f"{spe / to:.2f}x" if to else "-",
                     f"{fl / spe / 1e9:.1f}", ""))
    rows.append(("matmuls alone (np.matmul, float32)", f"{t_mm:.3f}", "-", "-", "-",
                 f"{fl / t_mm / 1e9:.1f}", "reference FLOP rate"))
    print()
    print(f"{name}: {len(X):,} x {X.shape[1]} -> {sizes[-1]} classes, {epochs} epochs, "
          f"{fl / 1e9:.2f} GFLOP per epoch")
    print(table(rows, ("method", "s/epoch", "test acc", "vs sklearn", "vs torch", "GFLOP/s",
                       "note")))
    print(flush=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--digits-epochs", type=int, default=30)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    header("gdlab MLP benchmark: hidden (256, 128), ReLU, Adam, batch 200",
           ("sklearn", "torch"))
    bench("synthetic 60k x 784", synthetic(), args.epochs, args.repeat)
    if peer("sklearn"):
        bench("digits", digits(), args.digits_epochs, args.repeat + 1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
