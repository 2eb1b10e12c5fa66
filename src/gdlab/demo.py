"""``gdlab demo``: the lecture's tour on bundled data, as a short printed report.

1. derivatives with sympy (``sympy.diff`` examples of the lecture);
2. gradient descent on x² + 2x + 3 with the lecture's loop (``lr``, ``eps``), and ascent;
3. linear regression by gradient descent versus the closed form (lstsq), on diabetes;
4. full-batch gradient descent versus mini-batch SGD on the same data;
5. a nonconvex problem where mini-batch SGD escapes a poor local minimum that full-batch
   GD stays in, over several seeds;
6. an MLP with backpropagation on the digits.

With ``plots=DIR`` every step's picture is written there (``1-gradient.png`` ...
``6-mlp-loss.png``) and each file is printed as ``picture: PATH``.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np

#: one picture of the tour: its file name and how to draw it (given gdlab.plot and the path)
Picture = tuple[str, Callable[[Any, str], Any]]


class DoubleWell:
    """A one-parameter model whose loss over the data has two minima.

    Per sample, ℓᵢ(w) = (w² − 1)² − 0.3·w + aᵢ·w, with the aᵢ centred: the full-batch loss
    is (w² − 1)² − 0.3·w, a tilted double well with a poor local minimum near w = −0.96
    (f ≈ 0.29) and the global one near w = 1.04 (f ≈ −0.30). A mini-batch sees the mean of
    its aᵢ as an extra slope: the landscape it descends changes from batch to batch, which
    is what lets SGD hop the barrier (lecture: "the objective's shape keeps changing").
    """

    n_params = 1

    def value_and_grad(self, p: np.ndarray, X: np.ndarray, y: np.ndarray, out: Any = None):
        w = float(p[0])
        a = float(X[:, 0].mean())
        return (w * w - 1) ** 2 - 0.3 * w + a * w, np.array([4 * w * (w * w - 1) - 0.3 + a])

    def value(self, p: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
        return self.value_and_grad(p, X, y)[0]


def nonconvex_escape(seeds: range = range(10), epochs: int = 20) -> dict[str, list[float]]:
    """Final w of full-batch GD and of mini-batch SGD (batch 2) from w = −1.5, per seed."""
    from .data import ArrayStream
    from .optim import make_schedule, sgd
    from .train import train

    rng = np.random.default_rng(0)
    a = rng.normal(size=(1000, 1))
    a = (a - a.mean()) * (8.0 / a.std())
    y = np.zeros(len(a))
    out: dict[str, list[float]] = {"full-batch GD": [], "mini-batch SGD": []}
    for seed in seeds:
        for name, bs in (("full-batch GD", None), ("mini-batch SGD", 2)):
            stream = ArrayStream(a, y, batch_size=bs, seed=seed)
            steps = epochs * stream.n_batches() if bs else epochs
            r = train(DoubleWell(), np.array([-1.5]), stream, sgd(lr=0.05),
                      schedule=make_schedule("cosine", T_max=steps), epochs=epochs, tol=None)
            out[name].append(float(r.params[0]))
    return out


def run_demo(quick: bool = False, plots: str | None = None) -> int:
    import warnings

    from sklearn.model_selection import train_test_split

    from . import maximize, minimize
    from .calculus import Function
    from .data import load_dataset, make_linear
    from .models.estimators import LinearRegression, MLPClassifier

    t_all = time.perf_counter()
    pictures: list[Picture] = []

    def head(n: int, text: str) -> None:
        print(f"\n{n}. {text}\n" + "-" * (len(text) + 3))

    head(1, "Derivatives (sympy.diff)")
    f = Function("x**2 + 2*x + 3")
    print(f"d/dx ({f.text}) = {f.derivative('x').text}")
    g = Function("x**2 + 2*x*y + 3 + cos(x + 2*y)")
    print(f"d/dx ({g.text}) = {g.derivative('x').text}")
    print(f"gradient at (1, 2): {np.round(g.grad_at(1, 2), 6).tolist()}")
    pictures.append(("1-gradient.png", lambda plot, p: plot.plot_function(
        g, bounds=[(-1.0, 3.0), (0.0, 4.0)], show_gradients=True, path=p,
        marks={"(1, 2): the point whose gradient is printed": [(1.0, 2.0)]})))

    head(2, "Gradient descent: var = var - lr * grad until |grad| < eps")
    r = minimize("x**2 + 2*x + 3", x0=5.0, lr=0.1, eps=1e-5)
    print(f"x**2 + 2*x + 3 from x = 5, lr = 0.1: x = {r.x[0]:.6f} after {r.nit} steps "
          f"({r.reason})")
    pictures.append(("2-descent.png", lambda plot, p: plot.plot_path(r, f, path=p)))
    rates = {}
    for lr in (0.01, 0.5, 1.01):
        rr = minimize("x**2 + 2*x + 3", x0=5.0, lr=lr, eps=1e-5, max_iter=2000)
        rates[f"lr = {lr}"] = rr
        print(f"  lr = {lr:<5}: {rr.status:<9} after {rr.nit:4d} steps, x = {rr.x[0]:.4g}")
    pictures.append(("2-learning-rates.png", lambda plot, p: plot.plot_compare(rates, f, path=p)))
    hill = "-(x - 1)**2 - (y + 2)**2 + 3"
    rm = maximize(hill, x0=[0, 0], lr=0.1)
    print(f"ascent on -(x-1)^2-(y+2)^2+3: max {rm.fun:.6f} at "
          f"({rm.x[0]:.4f}, {rm.x[1]:.4f}), {rm.reason}")
    pictures.append(("2-ascent.png", lambda plot, p: plot.plot_path(rm, hill, path=p)))
    rb = minimize("rosenbrock", x0=[-1.2, 1.0])
    print(f"Rosenbrock from (-1.2, 1), line search: ({rb.x[0]:.6f}, {rb.x[1]:.6f}) in "
          f"{rb.nit} steps")
    pictures.append(("2-rosenbrock.png",
                     lambda plot, p: plot.plot_path(rb, Function("rosenbrock"), path=p)))

    head(3, "Linear regression by gradient descent vs the closed form (diabetes)")
    X, y, _ = load_dataset("diabetes")
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0)
    lin = LinearRegression(loss="mse", lr=0.1, epochs=3000, tol=1e-10).fit(Xtr, ytr)
    cf = lin.closed_form(Xtr, ytr)
    from sklearn.linear_model import LinearRegression as SkLinear
    sk = SkLinear().fit(Xtr, ytr)
    print(f"test R^2: GD {lin.score(Xte, yte):.6f}   lstsq {sk.score(Xte, yte):.6f}   "
          f"(train R^2 gap {cf['r2_gap']:.1e}, {lin.n_iter_} epochs)")
    pictures.append(("3-regression-loss.png", lambda plot, p: plot.plot_loss(
        lin, path=p, title="linear regression by gradient descent (diabetes): loss per epoch")))

    head(4, "Full-batch GD vs mini-batch SGD (synthetic, 20,000 x 20)")
    Xs, ys, _, _ = make_linear(20_000, 20, noise=0.5, seed=1)
    fits = {}
    for name, kw in (("full batch", {"batch_size": None, "epochs": 300, "lr": 0.1}),
                     ("mini-batch 64", {"batch_size": 64, "epochs": 5, "lr": 0.01,
                                        "schedule": "inverse_time"})):
        t = time.perf_counter()
        m = fits[name] = LinearRegression(tol=None, **kw).fit(Xs, ys)
        print(f"{name:<14} R^2 {m.score(Xs, ys):.6f}  after {m.n_iter_:3d} epochs, "
              f"{m.t_:5d} updates, {time.perf_counter() - t:.2f} s")
    pictures.append(("4-full-vs-minibatch.png", lambda plot, p: plot.plot_loss(
        list(fits.values()), labels=list(fits), path=p,
        title="full-batch GD vs mini-batch SGD: training loss per epoch")))

    head(5, "Nonconvex: SGD escapes a poor local minimum, full-batch GD does not")
    seeds = range(6) if quick else range(10)
    ends = nonconvex_escape(seeds)
    for name, ws in ends.items():
        good = sum(w > 0 for w in ws)
        print(f"{name:<15} ends near the global minimum (w = 1.04) in {good}/{len(ws)} seeds: "
              f"{', '.join(f'{w:+.2f}' for w in ws)}")
    pictures.append(("5-nonconvex.png", lambda plot, p: plot.plot_function(
        "(w**2 - 1)**2 - 0.3*w", bounds=(-1.8, 1.8), path=p,
        marks={f"{name}: where each of {len(ws)} seeds ended": ws for name, ws in ends.items()},
        title="full-batch loss (w² − 1)² − 0.3·w: where each method ended")))

    head(6, "MLP with backpropagation on the digits")
    Xd, yd, _ = load_dataset("digits")
    Xtr, Xte, ytr, yte = train_test_split(Xd, yd, test_size=0.25, random_state=0)
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the digits have constant border pixels
        mlp = MLPClassifier((128,), activation="relu", epochs=30 if quick else 60,
                            batch_size=64).fit(Xtr, ytr)
    print(f"MLP 64-128-10 (relu, adam): test accuracy {mlp.score(Xte, yte):.4f} after "
          f"{mlp.n_iter_} epochs ({time.perf_counter() - t:.1f} s)")
    pictures.append(("6-mlp-loss.png", lambda plot, p: plot.plot_loss(
        mlp, path=p, title="MLP 64-128-10 on the digits: training loss per epoch")))

    if plots:
        _demo_plots(plots, pictures)
    print(f"\nDone in {time.perf_counter() - t_all:.1f} s.")
    return 0


def _demo_plots(folder: str, pictures: list[Picture]) -> list[str]:
    """Draw every picture of the tour into ``folder``, printing each file written."""
    import os

    from . import plot
    os.makedirs(folder, exist_ok=True)
    print()
    written = []
    for name, draw in pictures:
        path = os.path.join(folder, name)
        draw(plot, path)
        print(f"picture: {path}")
        written.append(path)
    return written
