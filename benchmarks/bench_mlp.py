"""MLP (256, 128) classifiers side by side: seconds per epoch at equal accuracy (a benchmark,
not a test).

Run:  .venv/bin/python benchmarks/bench_mlp.py [--epochs 5] [--repeat 2]
          [--torch-python PATH] [--gdlab-src LABEL=PATH ...]

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

Each peer runs in its own process (this script with ``--child``), so no peer shares a
process, and so thread pools (OpenBLAS, OpenMP, PyTorch's), with another: the arrays are
written once to temporary ``.npy`` files that every child loads. Each child first trains
one untimed epoch on 2,000 rows (imports, numba's cached kernels, first-touch buffers), then
the timed fit, and prints the BLAS and thread facts of its process. The rounds are
interleaved (gdlab, sklearn, PyTorch, the reference, then again), so every ratio compares
runs made minutes apart at most. ``--threads N`` sets the thread count of every child
(``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``, ``NUMBA_NUM_THREADS``).
PyTorch runs with ``--torch-python`` (default: the
``GDLAB_TORCH_PYTHON`` environment variable, else this interpreter) when that interpreter
has torch 2.13.0. ``--gdlab-src LABEL=PATH`` adds a gdlab line run with ``PYTHONPATH=PATH``
(another checkout's ``src``: before/after comparisons in one run). ``--gdlab-standardize``
times the gdlab lines with the estimators' default ``standardize=True`` instead (each
shuffled batch standardized as its rows are picked: work the other peers do not do, on
the same arrays, so their numbers differ slightly).

The FLOP rate: one epoch of forward and backward passes costs 2·n·(sum of in·out over the
layers) for the forward products, as much again for the weight gradients and the same
without the first layer for the deltas. Reference: the same matrix products alone (plain
float32 ``np.matmul`` into preallocated buffers, every batch of an epoch, best of 3 epochs),
on finite data: weights N(0, 1/fan_in) (so the forward activations keep unit scale), the
output deltas a fixed N(0, 1/batch²) array and each backward delta computed from the one
after it within the batch (nothing accumulates across batches); the child checks that every
output is finite (overflow or NaN would time something else).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from _common import blas_facts, header, peer, skip_note, table

HIDDEN = (256, 128)
BATCH = 200
LR = 1e-3
ALPHA = 1e-4
#: rows of the untimed warm-up fit each child runs first
WARMUP_ROWS = 2_000
HERE = Path(__file__).resolve().parent


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


# -- the children: one peer each, in its own process -------------------------------------

def matmul_floor(X, sizes, repeat=3):
    """Seconds of the epoch's matrix products alone (batch BATCH, float32, no allocation),
    on finite data (see the module docstring); best of ``repeat`` epochs."""
    rng = np.random.default_rng(0)
    f32 = np.float32
    Ws = [(rng.standard_normal((sizes[i], sizes[i + 1]), dtype=f32)
           / f32(np.sqrt(sizes[i]))) for i in range(len(sizes) - 1)]
    acts = [np.zeros((BATCH, s), dtype=f32) for s in sizes[1:]]
    deltas = [np.zeros((BATCH, s), dtype=f32) for s in sizes[1:]]
    deltas[-1][...] = rng.standard_normal((BATCH, sizes[-1]), dtype=f32) / f32(BATCH)
    gWs = [np.zeros_like(W) for W in Ws]
    n = len(X) - len(X) % BATCH
    times = []
    with np.errstate(over="raise", invalid="raise"):
        for _ in range(repeat + 1):  # the first epoch is a warm-up
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
            times.append(time.perf_counter() - t)
    for arr in (*acts, *deltas, *gWs):
        assert np.isfinite(arr).all(), "the reference's matrix products left the finite range"
    scale = max(float(np.abs(a).max()) for a in (*acts, *deltas, *gWs))
    return min(times[1:]) * len(X) / n, scale


def run_gdlab(X, y, Xt, yt, epochs, standardize=False):
    from gdlab.models.estimators import MLPClassifier
    m = MLPClassifier(HIDDEN, optimizer="adam", lr=LR, batch_size=BATCH, epochs=epochs,
                      tol=None, l2=ALPHA / BATCH, standardize=standardize, seed=0)
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


def run_torch(X, y, Xt, yt, epochs):
    import torch
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


#: what ``--threads`` sets in the children's environment (PyTorch reads OMP_NUM_THREADS)
_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                "NUMBA_NUM_THREADS")

_RUNNERS = {"gdlab": run_gdlab, "sklearn": run_sklearn, "torch": run_torch}


def _process_facts(kind):
    facts = [f"pid {os.getpid()}, python {sys.executable}"]
    if kind == "gdlab":
        import gdlab
        facts.append(f"gdlab from {Path(gdlab.__file__).parent}")
    if kind == "torch":
        import torch
        facts.append(f"torch {torch.__version__}: {torch.get_num_threads()} threads, "
                     f"{torch.get_num_interop_threads()} inter-op, "
                     f"mkl={torch.backends.mkl.is_available()}, "
                     f"mkldnn={torch.backends.mkldnn.is_available()}")
        facts += [line.strip() for line in torch.__config__.parallel_info().splitlines()
                  if line.strip().startswith(("ATen parallel", "OpenMP", "MKL", "at::get"))]
    return facts + ["BLAS: " + b for b in blas_facts()]


def child(kind, data, epochs, standardize=False):
    """One peer in this process; prints a ``RESULT {json}`` line."""
    X, y, Xt, yt = (np.load(Path(data) / f"{name}.npy") for name in ("X", "y", "Xt", "yt"))
    sizes = [X.shape[1], *HIDDEN, int(y.max()) + 1]
    if kind == "matmul":
        sec, scale = matmul_floor(X, sizes)
        out = {"sec_per_epoch": sec, "acc": None, "max_abs": scale}
    else:
        run = _RUNNERS[kind]
        if kind == "gdlab":
            run = lambda *a: run_gdlab(*a, standardize=standardize)  # noqa: E731
        w = min(WARMUP_ROWS, len(X))
        run(X[:w], y[:w], Xt, yt, 1)  # untimed warm-up
        sec, acc = run(X, y, Xt, yt, epochs)
        out = {"sec_per_epoch": sec / epochs, "acc": acc}
    out["facts"] = _process_facts(kind)
    print("RESULT " + json.dumps(out), flush=True)
    return 0


# -- the parent: data, rounds, table --------------------------------------------------------

def _torch_python(arg):
    exe = arg or os.environ.get("GDLAB_TORCH_PYTHON") or sys.executable
    try:
        got = subprocess.run([exe, "-c", "import torch; print(torch.__version__)"],
                             capture_output=True, text=True, timeout=120)
    except OSError:
        return None
    from _common import TORCH_VERSION
    return exe if got.returncode == 0 and got.stdout.strip().startswith(TORCH_VERSION) else None


def _peers(args):
    """(label, kind, python, PYTHONPATH or None); python None: skipped."""
    peers = [("gdlab MLPClassifier", "gdlab", sys.executable, None)]
    for spec in args.gdlab_src:
        label, _, path = spec.partition("=")
        peers.append((f"gdlab ({label})", "gdlab", sys.executable, str(Path(path).resolve())))
    peers.append(("sklearn MLPClassifier", "sklearn",
                  sys.executable if peer("sklearn") else None, None))
    peers.append(("PyTorch loop", "torch", _torch_python(args.torch_python), None))
    return peers


def _run_child(kind, python, src, data, epochs, threads=None, standardize=False):
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = src
    if threads:
        for var in _THREAD_VARS:
            env[var] = str(threads)
    cmd = [python, str(HERE / "bench_mlp.py"), "--child", kind, "--data", data,
           "--epochs", str(epochs)] + (["--gdlab-standardize"] if standardize else [])
    got = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=HERE)
    lines = [ln for ln in got.stdout.splitlines() if ln.startswith("RESULT ")]
    if got.returncode != 0 or not lines:
        raise RuntimeError(f"child {kind} failed ({got.returncode}):\n{got.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def bench(name, arrays, epochs, repeat, peers, threads=None, standardize=False):
    X, y, Xt, yt = arrays
    sizes = [X.shape[1], *HIDDEN, int(y.max()) + 1]
    fl = flops_per_epoch(len(X), sizes)
    runs: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="bench_mlp_") as data:
        for arr, fname in zip(arrays, ("X", "y", "Xt", "yt")):
            np.save(Path(data) / f"{fname}.npy", arr)
        jobs = [(label, kind, py, src) for label, kind, py, src in peers if py is not None]
        jobs.append(("matmuls alone (np.matmul, float32)", "matmul", sys.executable, None))
        for r in range(repeat):  # interleaved rounds
            for label, kind, py, src in jobs:
                res = _run_child(kind, py, src, data, epochs, threads, standardize)
                runs.setdefault(label, []).append(res)
                acc = "" if res["acc"] is None else f", accuracy {res['acc']:.4f}"
                print(f"  {name} round {r + 1}: {label}: {res['sec_per_epoch']:.3f} s/epoch"
                      f"{acc}", flush=True)
    print()
    for label, rs in runs.items():
        print(f"  [{label}] " + "; ".join(rs[0]["facts"]))
    best = {label: min(r["sec_per_epoch"] for r in rs) for label, rs in runs.items()}
    t_mm = best["matmuls alone (np.matmul, float32)"]
    sk, to = best.get("sklearn MLPClassifier"), best.get("PyTorch loop")
    rows = []
    for label, kind, py, _ in peers:
        if py is None:
            rows.append((label, "-", "-", "-", "-", "-", "-", skip_note(kind)))
            continue
        spe = best[label]
        rows.append((label, f"{spe:.3f}", f"{runs[label][0]['acc']:.4f}",
                     f"{spe / sk:.2f}x" if sk else "-", f"{spe / to:.2f}x" if to else "-",
                     f"{fl / spe / 1e9:.1f}", f"{t_mm / spe:.0%}", ""))
    rows.append(("matmuls alone (np.matmul, float32)", f"{t_mm:.3f}", "-", "-", "-",
                 f"{fl / t_mm / 1e9:.1f}", "100%", "reference FLOP rate"))
    print()
    print(f"{name}: {len(X):,} x {X.shape[1]} -> {sizes[-1]} classes, {epochs} epochs, "
          f"{fl / 1e9:.2f} GFLOP per epoch, best of {repeat} interleaved rounds, threads: "
          f"{threads or 'default'}" + (", gdlab with standardize=True" if standardize else ""))
    print(table(rows, ("method", "s/epoch", "test acc", "vs sklearn", "vs torch", "GFLOP/s",
                       "of matmul", "note")))
    for label, kind, py, _ in peers:
        if kind == "gdlab" and py is not None:
            print(f"FLOP rate: {label} {fl / best[label] / 1e9:.1f} GFLOP/s = "
                  f"{t_mm / best[label]:.1%} of the bare float32 matmuls' "
                  f"{fl / t_mm / 1e9:.1f} GFLOP/s (same run)")
    print(flush=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--digits-epochs", type=int, default=30)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--torch-python", default=None,
                    help="interpreter with torch==2.13.0 (default: $GDLAB_TORCH_PYTHON, "
                         "else this one)")
    ap.add_argument("--gdlab-src", action="append", default=[], metavar="LABEL=PATH",
                    help="also time gdlab from another src directory (PYTHONPATH=PATH)")
    ap.add_argument("--threads", type=int, default=None,
                    help="thread count for every child (OPENBLAS/OMP/MKL/NUMBA_NUM_THREADS; "
                         "default: as the environment says)")
    ap.add_argument("--no-digits", action="store_true")
    ap.add_argument("--gdlab-standardize", action="store_true",
                    help="gdlab lines with standardize=True (the default: each batch "
                         "standardized as it is drawn) instead of the pre-scaled arrays as "
                         "they are")
    ap.add_argument("--child", choices=("gdlab", "sklearn", "torch", "matmul"),
                    help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args.child, args.data, args.epochs, args.gdlab_standardize)
    header("gdlab MLP benchmark: hidden (256, 128), ReLU, Adam, batch 200 "
           "(each peer in its own process)", ("sklearn",))
    peers = _peers(args)
    bench("synthetic 60k x 784", synthetic(), args.epochs, args.repeat, peers, args.threads,
          args.gdlab_standardize)
    if peer("sklearn") and not args.no_digits:
        bench("digits", digits(), args.digits_epochs, args.repeat + 1, peers, args.threads,
              args.gdlab_standardize)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
