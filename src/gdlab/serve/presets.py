"""One-click settings for each lecture topic: each preset is a page state (the same object
the page keeps in its address), checked by the tests to run through the API."""

from __future__ import annotations

from typing import Any


def _run(optimizer: str, lr: float, label: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"optimizer": optimizer, "lr": lr, "label": label or f"{optimizer} lr={lr:g}",
            "options": extra.pop("options", {}), "schedule": extra.pop("schedule", None),
            **extra}


def _functions(formula: str, starts: list[list[float]], runs: list[dict[str, Any]],
               **extra: Any) -> dict[str, Any]:
    state = {"tab": "functions", "formula": formula, "starts": starts, "runs": runs,
             "max_steps": 1000, "eps": 1e-6, "maximize": False, "view": None, "field": False,
             "surface": False, "log_levels": False, "derivative": False}
    state.update(extra)
    return state


def _data(task: str, dataset: dict[str, Any], model: dict[str, Any], runs: list[dict[str, Any]],
          epochs: int, **extra: Any) -> dict[str, Any]:
    state = {"tab": "data", "task": task, "dataset": dataset, "model": model, "runs": runs,
             "epochs": epochs, "validation": 0.25 if task == "classification" else 0.0,
             "seed": 0}
    state.update(extra)
    return state


PRESETS: list[dict[str, Any]] = [
    {"id": "derivative", "title": "Derivative and tangent",
     "text": "f'(x) is the slope of the tangent: the dashed line touches the curve at each "
             "step, and its slope is what gradient descent follows.",
     "state": _functions("x**2 + 2*x + 3", [[2.0]], [_run("sgd", 0.1)], view=[[-5.0, 3.0]],
                         derivative=True)},
    {"id": "gd-quadratic", "title": "GD on x**2 + 2*x + 3",
     "text": "The lecture's loop: x = x - lr * f'(x) from x = 5 with lr = 0.1, until "
             "|f'(x)| < eps.",
     "state": _functions("x**2 + 2*x + 3", [[5.0]], [_run("sgd", 0.1)], view=[[-6.0, 6.0]])},
    {"id": "learning-rate", "title": "The effect of lr",
     "text": "Too small crawls, too large oscillates; above 2/L = 1 every step overshoots "
             "further and the run diverges.",
     "state": _functions("x**2 + 2*x + 3", [[5.0]],
                         [_run("sgd", lr) for lr in (0.01, 0.1, 0.5, 0.9, 1.1)],
                         view=[[-8.0, 6.0]], max_steps=200)},
    {"id": "ascent", "title": "Gradient ascent",
     "text": "x = x + lr * grad climbs to the maximum of -(x - 1)**2 - (y + 2)**2 + 3.",
     "state": _functions("-(x - 1)**2 - (y + 2)**2 + 3", [[-3.0, 2.0]], [_run("sgd", 0.1)],
                         maximize=True, view=[[-4.0, 4.0], [-5.0, 3.0]], field=True)},
    {"id": "many-variables", "title": "Many variables",
     "text": "With two variables the gradient is a vector; -grad (the arrows) points "
             "downhill, across the contour lines.",
     "state": _functions("x**2 + 3*y**2", [[3.0, 2.0]],
                         [_run("sgd", 0.1), _run("momentum", 0.05), _run("adam", 0.3)],
                         view=[[-4.0, 4.0], [-3.0, 3.0]], field=True)},
    {"id": "optimizer-race", "title": "Six optimizers on Rosenbrock",
     "text": "Rosenbrock's curved valley: plain GD crawls along it; momentum and the "
             "adaptive methods go faster (log-spaced contour levels).",
     "state": _functions("rosenbrock", [[-1.5, 2.0]],
                         [_run("sgd", 0.001), _run("momentum", 0.001), _run("nesterov", 0.001),
                          _run("adam", 0.05), _run("rmsprop", 0.01), _run("adagrad", 0.5)],
                         log_levels=True, max_steps=2000)},
    {"id": "local-minima", "title": "Local minima and remedies",
     "text": "From x = 2 plain GD stops in the poor minimum near 1.13; momentum carries over "
             "the bump to the global one near -1.30. Another remedy: many starts.",
     "state": _functions("x**4 - 3*x**2 + x", [[2.0]],
                         [_run("sgd", 0.01), _run("momentum", 0.01), _run("adam", 0.1)],
                         view=[[-2.2, 2.2]])},
    {"id": "sgd-vs-gd", "title": "SGD vs GD (linear regression)",
     "text": "Full batch takes one exact step per epoch; mini-batches and online SGD take many "
             "noisy ones. The dashed line is least squares.",
     "state": _data("regression", {"name": "line", "n": 100, "noise": 1.0, "seed": 0},
                    {"kind": "linear", "loss": "mse"},
                    [_run("sgd", 0.1, "full batch", batch_size=None),
                     _run("sgd", 0.05, "mini-batch 10", batch_size=10),
                     _run("sgd", 0.01, "online", batch_size=1)], 30)},
    {"id": "objectives", "title": "The three regression objectives",
     "text": "MSE, RMSE and half MSE have the same minimizer (least squares) but different "
             "gradients, so the same lr moves differently.",
     "state": _data("regression", {"name": "line", "n": 100, "noise": 1.0, "seed": 0},
                    {"kind": "linear", "loss": "mse"},
                    [_run("sgd", 0.1, f"{loss}", batch_size=None, loss=loss)
                     for loss in ("mse", "rmse", "half_mse")], 60)},
    {"id": "sgd-escape", "title": "SGD escapes a poor minimum",
     "text": "On the demo's double well, full-batch GD from w = -1.5 settles in the poor "
             "minimum; mini-batch SGD's noisy landscape lets it hop the barrier.",
     "state": _data("escape", {"n": 200}, {"kind": "double_well"},
                    [_run("sgd", 0.05, "full-batch GD", batch_size=None,
                          schedule={"name": "cosine", "T_max": 20}),
                     _run("sgd", 0.05, "mini-batch SGD (2)", batch_size=2,
                          schedule={"name": "cosine", "T_max": 2000})], 20)},
    {"id": "logistic", "title": "Logistic regression",
     "text": "A linear boundary between two blobs; the loss is cross-entropy.",
     "state": _data("classification", {"name": "blobs", "n": 200, "classes": 2, "seed": 0},
                    {"kind": "logistic"}, [_run("sgd", 0.5, "full batch", batch_size=None)],
                    100)},
    {"id": "mlp-activations", "title": "MLP activations",
     "text": "Two hidden layers of 16 on the moons: sigmoid learns slowly, tanh and ReLU "
             "bend the boundary sooner.",
     "state": _data("classification", {"name": "moons", "n": 300, "seed": 0},
                    {"kind": "mlp", "hidden": [16, 16], "activation": "tanh"},
                    [_run("adam", 0.03, act, batch_size=None, activation=act)
                     for act in ("sigmoid", "tanh", "relu")], 300)},
]
