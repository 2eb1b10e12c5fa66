"""Linear regression on 1,000,000 x 100 float32 in memory, side by side (a benchmark, not a test).

Run:  .venv/bin/python benchmarks/bench_linear.py [--rows 1000000] [--repeat 3]
      (fairest BLAS kernel: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python ...)

Prints the machine facts and two tables; writes nothing. Takes about two minutes.

Data: correlated Gaussian features (AR(1) correlation 0.5 between neighbouring columns, so
the condition number of the covariance is about 9 and gradient descent needs more than a
step or two), y = X beta + 0.5 + noise with R^2 about 0.92; a separate test set of 200,000
rows. All peers get the same float32 arrays; features are already standardized, so every
method runs without its own scaling (gdlab ``standardize=False``).

1. Time to reach a test R^2 within 1e-3 of the least-squares optimum (float64 normal
   equations). For each method the number of epochs needed is found once with a probe run
   that scores after every epoch; then a clean run of exactly that many epochs (no scoring
   inside) is timed, best of ``--repeat``, and its R^2 checked:

   * gdlab ``LinearRegression`` full batch (plain GD, lr 0.3; and heavy ball, i.e.
     PyTorch's SGD momentum, with Polyak's parameters for this problem: the mse gradient
     has L = 2·λmax = 6, μ = 2·λmin = 2/3, κ = 9, so lr = 4/(√L+√μ)² ≈ 0.375, momentum
     ((√κ−1)/(√κ+1))² = 0.25; lr 0.35 is used, the largest step that stays monotone here)
     and mini-batch (batch 1024, lr 0.05, shuffled);
   * scikit-learn ``SGDRegressor`` with its defaults (invscaling eta0=0.01, shuffled) and
     with ``average=True`` (averaged SGD, its best setting here), epochs via ``max_iter``
     with ``tol=None`` (at most 16 epochs are tried);
   * a plain PyTorch mini-batch loop (``nn.Linear``, ``MSELoss``, ``optim.SGD``, batch 1024,
     lr 0.05, a ``randperm`` per epoch and index slices, no DataLoader), skipped when
     ``torch==2.13.0`` is not installed.

2. Seconds per full-batch epoch (one mean loss + gradient over all rows, what one GD step
   costs) against the floor of reading X once from memory: one BLAS ``X @ b`` (sgemv);
   also the two plain matrix products ``X @ b`` then ``X.T @ r`` that a naive step does.

3. The defaults, as a user calls them: the whole ``fit`` of gdlab's ``LinearRegression()``
   (full batch: L-BFGS, stopping on tolerance) and ``LinearRegression(batch_size=1024)``
   (averaged SGD, the data's step, stopping on tolerance) against scikit-learn's
   ``SGDRegressor()`` and ``SGDRegressor(average=True)`` with their defaults (``tol=1e-3``,
   ``max_iter=1000``), best of ``--repeat``: seconds, epochs and the test R^2's gap to
   least squares.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from _common import best_of, header, peer, r2, skip_note, table
from gdlab.data.stream import ArrayStream
from gdlab.models.estimators import LinearRegression
from gdlab.models.linear import LinearLoss
from gdlab.train import FullPass, ModelObjective

D = 100
RHO = 0.5
TOL_R2 = 1e-3
BATCH = 1024
LR_FULL = 0.3
LR_MINI = 0.05


def make_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    # AR(1) covariance: Sigma_ij = RHO^|i-j|, unit variances
    idx = np.arange(D)
    L = np.linalg.cholesky(RHO ** np.abs(idx[:, None] - idx[None, :])).astype(np.float32)
    beta = np.random.default_rng(123).normal(size=D).astype(np.float32) / np.sqrt(D)
    X = np.empty((n, D), dtype=np.float32)
    y = np.empty(n, dtype=np.float32)
    step = 100_000
    for lo in range(0, n, step):
        Z = rng.standard_normal((min(step, n - lo), D), dtype=np.float32)
        Xb = Z @ L.T
        X[lo:lo + len(Z)] = Xb
        y[lo:lo + len(Z)] = Xb @ beta + 0.5 + 0.3 * rng.standard_normal(len(Z), dtype=np.float32)
    return X, y


def lstsq_r2(X, y, Xt, yt) -> float:
    """Test R^2 of the least-squares fit (float64 normal equations, blocked)."""
    n = len(X)
    A = np.zeros((D + 1, D + 1))
    b = np.zeros(D + 1)
    for lo in range(0, n, 100_000):
        block = X[lo:lo + 100_000].astype(np.float64)
        Xb = np.hstack([block, np.ones((len(block), 1))])
        A += Xb.T @ Xb
        b += Xb.T @ y[lo:lo + 100_000].astype(np.float64)
    w = np.linalg.solve(A, b)
    return r2(yt, Xt.astype(np.float64) @ w[:D] + w[D])


# ---- the methods: each is ``fit(k) -> predict`` (k epochs from scratch) -----------------------

def gdlab_method(X, y, batch, lr, momentum=0.0):
    def fit(k):
        m = LinearRegression(batch_size=batch, lr=lr, epochs=k, tol=None, standardize=False,
                             seed=0, optimizer_options={"momentum": momentum}).fit(X, y)
        return m.predict
    return fit


def sklearn_method(X, y, **options):
    from sklearn.linear_model import SGDRegressor

    def fit(k):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning of max_iter with tol=None
            m = SGDRegressor(max_iter=k, tol=None, random_state=0, **options).fit(X, y)
        return m.predict
    return fit


def torch_method(torch, X, y, batch, lr):
    Xt_, yt_ = torch.from_numpy(X), torch.from_numpy(y).reshape(-1, 1)
    n = len(X)

    def fit(k):
        torch.manual_seed(0)
        model = torch.nn.Linear(X.shape[1], 1)
        torch.nn.init.zeros_(model.weight)
        torch.nn.init.zeros_(model.bias)
        opt = torch.optim.SGD(model.parameters(), lr=lr)
        loss_fn = torch.nn.MSELoss()
        for _ in range(k):
            perm = torch.randperm(n)
            for lo in range(0, n, batch):
                idx = perm[lo:lo + batch]
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(model(Xt_[idx]), yt_[idx])
                loss.backward()
                opt.step()

        def predict(Z):
            with torch.no_grad():
                return model(torch.from_numpy(Z)).numpy().reshape(-1)
        return predict
    return fit


def time_to_target(fit, Xt, yt, target, repeat, max_epochs=256):
    """(epochs, best seconds, R^2) of the fewest epochs that reach ``target``.

    Doubling then bisection on k, each probe a clean ``fit(k)``; the k found is then timed
    ``repeat`` times in all (probe runs of that k count)."""
    times: dict[int, list[float]] = {}
    scores: dict[int, float] = {}

    def ok(k):
        t = time.perf_counter()
        predict = fit(k)
        times.setdefault(k, []).append(time.perf_counter() - t)
        scores[k] = r2(yt, predict(Xt))
        return scores[k] >= target

    lo, hi = 0, 1
    while not ok(hi):
        lo, hi = hi, hi * 2
        if hi > max_epochs:
            return None, float("nan"), max(scores.values())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    while len(times[hi]) < repeat:
        ok(hi)
    return hi, min(times[hi]), scores[hi]


def epoch_costs(X, y, repeat):
    """Seconds of one full-batch loss+gradient through gdlab's training objective, of the
    floor (one sgemv reading X once) and of the naive two matrix products."""
    obj = ModelObjective(LinearLoss(D))
    stream = ArrayStream(X, y, batch_size=None)
    x = np.zeros((1, D + 1), dtype=np.float32)
    x[0, :D] = 0.01
    full = FullPass(stream, 0)
    t_gd = best_of(lambda: obj.value_and_grad(x, full), repeat * 3)
    # the fused blocked pass must agree with the plain two products (float64 reference)
    f, g = obj.value_and_grad(x, full)
    r64 = X @ x[0, :D].astype(np.float64) + x[0, D] - y
    n = len(X)
    g64 = np.concatenate([X.T @ (2 / n * r64).astype(np.float32), [2 / n * r64.sum()]])
    np.testing.assert_allclose(g[0], g64, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(f[0], r64 @ r64 / n, rtol=1e-4)
    b = x[0, :D].copy()
    t_floor = best_of(lambda: X @ b, repeat * 3)

    def two():
        r = X @ b
        r -= y
        return X.T @ r
    t_two = best_of(two, repeat * 3)
    return t_gd, t_floor, t_two


def defaults_table(X, y, Xt, yt, best: float, repeat: int, with_sklearn: bool) -> str:
    """Section 3: whole fits with every setting at its default."""
    fits = [("gdlab LinearRegression() (L-BFGS)", lambda: LinearRegression().fit(X, y)),
            ("gdlab LinearRegression(batch_size=1024) (ASGD)",
             lambda: LinearRegression(batch_size=BATCH).fit(X, y))]
    if with_sklearn:
        from sklearn.linear_model import SGDRegressor
        fits += [("sklearn SGDRegressor()", lambda: SGDRegressor(random_state=0).fit(X, y)),
                 ("sklearn SGDRegressor(average=True)",
                  lambda: SGDRegressor(average=True, random_state=0).fit(X, y))]
    rows, times = [], {}
    for name, fit in fits:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = fit()
            sec = best_of(fit, repeat)
        times[name] = sec
        epochs = getattr(model, "n_iter_", "-")
        gap = best - r2(yt, model.predict(Xt))
        rows.append((name, str(epochs), f"{sec:.3f}", f"{gap:.2e}"))
        print(f"  {name}: {epochs} epochs, {sec:.3f} s, R^2 gap {gap:.2e}", flush=True)
    fastest = min(v for k, v in times.items() if k.startswith("gdlab"))
    rows = [(*r, f"{times[r[0]] / fastest:.2f}x") for r in rows]
    return table(rows, ("defaults, whole fit", "epochs", "seconds", "test R^2 gap to lstsq",
                        "vs best gdlab"))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    header(f"gdlab linear regression benchmark: {args.rows:,} x {D} float32",
           ("sklearn", "torch"))
    t = time.perf_counter()
    X, y = make_data(args.rows, 0)
    Xt, yt = make_data(200_000, 1)
    best = lstsq_r2(X, y, Xt, yt)
    target = best - TOL_R2
    print(f"data made in {time.perf_counter() - t:.1f} s; least-squares test R^2 = {best:.5f}, "
          f"target >= {target:.5f}\n", flush=True)
    rows = []
    results = {}
    methods = [("gdlab full batch (GD, lr 0.3)", gdlab_method(X, y, None, LR_FULL)),
               ("gdlab full batch (heavy ball, lr 0.35, momentum 0.25)",
                gdlab_method(X, y, None, 0.35, momentum=0.25)),
               (f"gdlab mini-batch {BATCH} (SGD, lr {LR_MINI})",
                gdlab_method(X, y, BATCH, LR_MINI))]
    sk = peer("sklearn")
    methods.append(("sklearn SGDRegressor (defaults)", sklearn_method(X, y) if sk else None))
    methods.append(("sklearn SGDRegressor(average=True)",
                    sklearn_method(X, y, average=True) if sk else None))
    torch = peer("torch")
    methods.append((f"PyTorch mini-batch {BATCH} (SGD, lr {LR_MINI})",
                    torch_method(torch, X, y, BATCH, LR_MINI) if torch else None))
    for name, fit in methods:
        if fit is None:
            rows.append((name, "-", "-", "-", skip_note("torch" if "PyTorch" in name
                                                         else "sklearn")))
            continue
        max_epochs = 16 if "sklearn" in name else 256
        k, sec, score = time_to_target(fit, Xt, yt, target, args.repeat, max_epochs=max_epochs)
        results[name] = sec
        rows.append((name, "-" if k is None else str(k), f"{sec:.3f}", f"{score:.5f}",
                     "" if k is not None else f"target not reached in {max_epochs} epochs"))
        print(f"  {name}: {k} epochs, {sec:.3f} s", flush=True)
    fastest = min(v for k_, v in results.items() if k_.startswith("gdlab"))
    rows2 = []
    for name, *rest in rows:
        sec = results.get(name)
        ratio = f"{sec / fastest:.2f}x" if sec is not None and sec == sec else "-"  # noqa: PLR0124
        rows2.append((name, *rest[:3], ratio, rest[3]))
    print()
    print(table(rows2, ("time to R^2 within 1e-3 of lstsq", "epochs", "seconds", "test R^2",
                        "vs best gdlab", "note")))
    print()
    print()
    print(defaults_table(X, y, Xt, yt, best, args.repeat, sk is not None))
    t_gd, t_floor, t_two = epoch_costs(X, y, args.repeat)
    print(table([("gdlab full-batch epoch (loss + gradient)", f"{t_gd * 1e3:.1f}",
                  f"{t_gd / t_floor:.2f}x"),
                 ("floor: X @ b once (sgemv, reads X once)", f"{t_floor * 1e3:.1f}", "1.00x"),
                 ("naive: X @ b then X.T @ r", f"{t_two * 1e3:.1f}", f"{t_two / t_floor:.2f}x")],
                ("full-batch epoch", "ms", "vs floor")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
