"""The compiled online-SGD sweep (numba) against the Python descent loop it replaces:
same weights, losses, stop reasons and steps, checkpoints that resume in either path."""

from __future__ import annotations

import numpy as np
import pytest

from gdlab import kernels
from gdlab.data import ArrayStream, CSVStream, _order
from gdlab.errors import ParameterError
from gdlab.models import LinearLoss, LogisticLoss, SoftmaxLoss
from gdlab.models.estimators import LinearRegression, LogisticRegression
from gdlab.optim.rules import SGD, Adam
from gdlab.optim.schedules import StepDecay
from gdlab.train import _segment_starts, load_checkpoint, train

needs_numba = pytest.mark.skipif(not kernels.numba_available(), reason="numba not installed")


def _problem(kind, dtype, n=1500, d=7, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    w = rng.standard_normal(d)
    if kind == "logistic":
        return X, (X @ w + 0.3 * rng.standard_normal(n) > 0).astype(dtype)
    return X, (X @ w + 0.5 + 0.1 * rng.standard_normal(n)).astype(dtype)


def _objective(kind, d, **kw):
    if kind == "logistic":
        return LogisticLoss(d, **kw)
    return LinearLoss(d, loss=kind, **kw)


def _both(obj, X, y, rule_kw=None, **kw):
    out = []
    for compiled in (False, True):
        stream = ArrayStream(X, y, batch_size=1, seed=5)
        out.append(train(obj, obj.init_params(dtype=X.dtype), stream,
                         SGD(**(rule_kw or {"lr": 0.01})), compiled=compiled, **kw))
    return out


@needs_numba
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", ["mse", "half_mse", "rmse", "logistic"])
@pytest.mark.parametrize("intercept", [True, False])
def test_sweep_equals_the_python_loop(kind, dtype, intercept):
    X, y = _problem(kind, dtype)
    obj = _objective(kind, X.shape[1], fit_intercept=intercept, l2=0.02)
    py, nb = _both(obj, X, y, {"lr": 0.01, "weight_decay": 0.003}, epochs=3, tol=None,
                   schedule=StepDecay(step_size=1000, gamma=0.7))
    assert py.status == nb.status == "end_of_data"
    assert py.n_steps == nb.n_steps == 3 * len(X)
    rtol = 1e-12 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(nb.params, py.params, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(nb.history["loss"], py.history["loss"], rtol=rtol)
    assert nb.history["lr"] == pytest.approx(py.history["lr"], rel=1e-15)
    assert nb.params.dtype == dtype


@needs_numba
def test_sweep_diverges_at_the_same_step_with_the_same_message():
    X, y = _problem("mse", np.float64)
    X[700] *= 30.0  # one wild row makes lr 0.5 blow up there
    obj = LinearLoss(X.shape[1])
    py, nb = _both(obj, X, y, {"lr": 0.5}, epochs=2, tol=None)
    assert py.status == nb.status == "diverged"
    assert py.diverged_step == nb.diverged_step
    assert py.reason == nb.reason and "try a smaller learning rate" in nb.reason
    np.testing.assert_allclose(nb.params, py.params, rtol=1e-9)


@needs_numba
def test_sweep_converges_on_eps_at_the_same_step():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((400, 3))
    y = X @ np.array([1.0, -2.0, 0.5])  # noiseless: every sample's gradient goes to 0
    obj = LinearLoss(3, fit_intercept=False)
    py, nb = _both(obj, X, y, {"lr": 0.05}, epochs=50, tol=None, eps=1e-6)
    assert py.status == nb.status == "converged"
    assert py.n_steps == nb.n_steps < 50 * 400
    np.testing.assert_allclose(nb.params, py.params, rtol=1e-10)


@needs_numba
def test_sweep_early_stopping_and_best_weights_match():
    X, y = _problem("mse", np.float64, n=600)
    Xv, yv = _problem("mse", np.float64, n=200, seed=9)
    obj = LinearLoss(X.shape[1])
    py, nb = _both(obj, X, y, {"lr": 0.002}, epochs=40, tol=1e-2, patience=2,
                   validation=(Xv, yv), restore_best=True)
    assert py.status == nb.status == "stopped" and py.reason == nb.reason
    assert py.n_epochs == nb.n_epochs < 40 and py.best_epoch == nb.best_epoch
    np.testing.assert_allclose(nb.params, py.params, rtol=1e-12)
    np.testing.assert_allclose(nb.history["val_loss"], py.history["val_loss"], rtol=1e-12)


@needs_numba
@pytest.mark.parametrize("first", ["compiled", "python"])
def test_checkpoints_resume_in_either_path(tmp_path, first):
    X, y = _problem("logistic", np.float64, n=500)
    obj = LogisticLoss(X.shape[1])
    ckpt = str(tmp_path / "c.gdlab")

    def run(compiled, epochs, resume=None, halt=None):
        cbs = (lambda info: "halt" if info.step == halt else None,) if halt else ()
        return train(obj, obj.init_params(), ArrayStream(X, y, batch_size=1, seed=1),
                     SGD(lr=0.05), epochs=epochs, tol=None, checkpoint=ckpt,
                     checkpoint_every=300, resume=resume, callbacks=cbs, compiled=compiled)

    ref = run(True, 4)
    part = run(first == "compiled", 4, halt=1200)
    assert part.status == "stopped" and part.n_steps == 1200
    meta, arrays = load_checkpoint(ckpt)
    assert meta["step"] == 1200 and meta["rule_scalars"]["step"] == 1200
    res = run(first != "compiled", 4, resume=ckpt)
    assert res.n_steps == 2000 and res.status == "end_of_data"
    np.testing.assert_allclose(res.params, ref.params, rtol=1e-12)
    # the compiled path alone resumes bit for bit
    run(True, 4, halt=1500)
    again = run(True, 4, resume=ckpt)
    np.testing.assert_array_equal(again.params, ref.params)
    assert again.history["loss"] == ref.history["loss"]


@needs_numba
def test_csv_stream_sweep_equals_the_array_path(tmp_path):
    X, y = _problem("mse", np.float64, n=2000, d=3)
    path = tmp_path / "d.csv"
    with open(path, "w") as f:
        f.write("a,b,c,y\n")
        for row, t in zip(X, y):
            f.write(",".join(repr(float(v)) for v in row) + f",{float(t)!r}\n")
    obj = LinearLoss(3)
    csv = CSVStream(str(path), target="y", batch_size=1, seed=4, chunk_rows=300,
                    buffer_chunks=2)
    nb = train(obj, obj.init_params(), csv, SGD(lr=0.01), epochs=2, tol=None, compiled=True)
    arr = ArrayStream(X, y, batch_size=1, seed=4, chunk_rows=300, buffer_chunks=2)
    py = train(obj, obj.init_params(), arr, SGD(lr=0.01), epochs=2, tol=None, compiled=False)
    np.testing.assert_allclose(nb.params, py.params, rtol=1e-12)


def test_segments_stack_the_batches_of_one():
    X, y = _problem("mse", np.float64, n=1000, d=2)
    stream = ArrayStream(X, y, batch_size=1, seed=3, chunk_rows=130, buffer_chunks=3)
    ones = list(stream.batches(2, start=37))
    sizes = [5, 200, 1, 400, 357]
    pieces = list(stream.batches(2, start=37, sizes=iter(sizes)))
    assert [len(p[0]) for p in pieces] == sizes
    np.testing.assert_array_equal(np.concatenate([p[0] for p in pieces]),
                                  np.concatenate([b[0] for b in ones]))
    np.testing.assert_array_equal(np.concatenate([p[1] for p in pieces]),
                                  np.concatenate([b[1] for b in ones]))
    # the bounds arithmetic of _order alone: pieces of the row stream, the last one cut
    bounds = _order.chunk_starts(10, 4)
    load = lambda ids, perm: (lambda lo, hi: (np.arange(lo, hi),) * 2)  # noqa: E731
    got = list(_order.iter_batches(bounds, 1, 2, False, 0, 0, 0, load, iter([3, 8])))
    assert [len(g[0]) for g in got] == [3, 7]
    # when the sizes run out, pieces are batches again
    got = list(_order.iter_batches(bounds, 2, 2, False, 0, 0, 0, load, iter([3])))
    assert [len(g[0]) for g in got] == [3, 2, 2, 2, 1]


def test_segment_starts_cut_at_checkpoints_and_epoch_ends(monkeypatch):
    monkeypatch.setattr(kernels, "SEGMENT", 100)
    cuts = _segment_starts(epoch_step=1000, first=0, n_batches=250, every=0)
    assert cuts.tolist() == [0, 100, 200, 250]
    cuts = _segment_starts(epoch_step=1030, first=20, n_batches=250, every=70)
    # global steps 1050, 1120, 1190, 1260 are checkpoint steps
    assert cuts.tolist() == [20, 90, 120, 160, 220, 230, 250]


@needs_numba
def test_compiled_true_refuses_what_the_kernel_cannot_do():
    X, y = _problem("mse", np.float64, n=50)
    obj = LinearLoss(X.shape[1])
    with pytest.raises(ParameterError, match="plain SGD"):
        train(obj, obj.init_params(), ArrayStream(X, y, batch_size=1), Adam(lr=0.01),
              epochs=1, compiled=True)
    with pytest.raises(ParameterError, match="plain SGD"):
        train(obj, obj.init_params(), ArrayStream(X, y, batch_size=1),
              SGD(lr=0.01, momentum=0.9), epochs=1, compiled=True)
    with pytest.raises(ParameterError, match="batch size 1"):
        train(obj, obj.init_params(), ArrayStream(X, y, batch_size=8), SGD(lr=0.01),
              epochs=1, compiled=True)
    soft = SoftmaxLoss(X.shape[1], 3)
    with pytest.raises(ParameterError, match="linear regression with one target"):
        train(soft, soft.init_params(), ArrayStream(X, (y > 0).astype(int), batch_size=1),
              SGD(lr=0.01), epochs=1, compiled=True)


def test_without_numba_training_takes_the_loop(monkeypatch):
    monkeypatch.setattr(kernels, "numba_available", lambda: False)
    X, y = _problem("mse", np.float64, n=100)
    obj = LinearLoss(X.shape[1])
    res = train(obj, obj.init_params(), ArrayStream(X, y, batch_size=1), SGD(lr=0.01),
                epochs=1, tol=None)
    assert res.status == "end_of_data" and res.n_steps == 100
    with pytest.raises(ParameterError, match="needs numba"):
        train(obj, obj.init_params(), ArrayStream(X, y, batch_size=1), SGD(lr=0.01),
              epochs=1, compiled=True)


@needs_numba
def test_estimators_with_batch_size_one_use_the_kernel_and_match_sklearn_sgd():
    """One online epoch of gdlab equals scikit-learn's SGDRegressor with the same sample
    order, constant rate and squared loss (half the squared error: half_mse)."""
    from sklearn.linear_model import SGDRegressor

    X, y = _problem("mse", np.float64, n=800, d=4)
    est = LinearRegression(batch_size=1, epochs=1, lr=0.01, loss="half_mse", tol=None,
                           standardize=False, shuffle=False).fit(X, y)
    sk = SGDRegressor(max_iter=1, tol=None, learning_rate="constant", eta0=0.01, alpha=0.0,
                      penalty=None, shuffle=False, average=False).fit(X, y)
    np.testing.assert_allclose(est.coef_, sk.coef_, rtol=1e-10)
    np.testing.assert_allclose(est.intercept_, sk.intercept_, rtol=1e-10)
    clf = LogisticRegression(batch_size=1, epochs=2, lr=0.05, tol=None, seed=0)
    Xc, yc = _problem("logistic", np.float64, n=600)
    assert clf.fit(Xc, yc).score(Xc, yc) > 0.9
