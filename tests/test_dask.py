"""The descent on a Dask cluster (an in-process LocalCluster, ``dask_client`` in conftest.py):
the same numbers as in memory, the batch order, checkpoints, the line-search cache, errors."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
pytest.importorskip("distributed")

from gdlab import cli  # noqa: E402
from gdlab.data import (  # noqa: E402
    ArrayStream,
    DaskStream,
    RowSplit,
    Standardizer,
    dask_cluster,  # noqa: E402
)
from gdlab.errors import DataError, ParameterError  # noqa: E402
from gdlab.loop import StopRules, descend  # noqa: E402
from gdlab.models import (  # noqa: E402
    LinearLoss,
    LinearRegression,
    LogisticRegression,
    MLPClassifier,
    SoftmaxRegression,
)
from gdlab.models.distributed import DaskObjective, DistributedLoss  # noqa: E402
from gdlab.optim.linesearch import Armijo  # noqa: E402
from gdlab.optim.quasi_newton import LBFGS  # noqa: E402
from gdlab.optim.rules import SGD  # noqa: E402
from gdlab.train import load_checkpoint, train  # noqa: E402

N, D, BLOCK = 2400, 5, 600


def _data(seed: int = 0, n: int = N, d: int = D):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * np.arange(1, d + 1) + np.arange(d)
    coef = rng.normal(size=d)
    y = X @ coef + 0.7 + 0.3 * rng.normal(size=n)
    return X, y


def _rel(a, b) -> float:
    """The largest difference of two parameter sets, relative to the largest parameter."""
    a = np.concatenate([np.ravel(v) for v in a])
    b = np.concatenate([np.ravel(v) for v in b])
    return float(np.max(np.abs(a - b)) / np.max(np.abs(a)))


def _params(est):
    return [est.coef_, np.atleast_1d(est.intercept_)]


# --- full batch: the in-memory fit to 1e-12 --------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda: LinearRegression(),
    lambda: LinearRegression(loss="rmse", l2=0.01),
    lambda: LogisticRegression(l2=1e-3),
    lambda: SoftmaxRegression(),
])
def test_full_batch_equals_in_memory(dask_client, make):
    X, y = _data()
    if not isinstance(make(), LinearRegression):
        y = np.digitize(y, np.quantile(y, [0.5] if isinstance(make(), LogisticRegression)
                                       else [0.33, 0.66])).astype(float)
    ref = make().fit(X, y)
    got = make().fit(da.from_array(X, chunks=(BLOCK, D)), da.from_array(y, chunks=BLOCK))
    assert got.n_iter_ == ref.n_iter_ and got.t_ == ref.t_
    assert _rel(_params(ref), _params(got)) < 1e-12
    assert _rel([ref.params_], [got.params_]) < 1e-12
    assert got.status_ == ref.status_ and got.converged_ == ref.converged_
    assert got.history_["loss"] == pytest.approx(ref.history_["loss"], rel=1e-12)


def test_full_batch_mlp_equals_in_memory(dask_client):
    """Other models: each block returns n·(loss, gradient), added in block order."""
    X, y = _data(1, n=800)
    y = (y > np.median(y)).astype(int)
    kw = dict(hidden_layer_sizes=(8,), batch_size=None, epochs=15, tol=None)
    ref = MLPClassifier(**kw).fit(X, y)
    got = MLPClassifier(**kw).fit(da.from_array(X, chunks=(200, D)), da.from_array(y, chunks=200))
    assert _rel([ref.params_], [got.params_]) < 1e-12


def test_dataframes_predict_and_score(dask_client):
    import pandas as pd
    X, y = _data(2)
    names = [f"f{j}" for j in range(D)]
    frame = pd.DataFrame(X, columns=names).assign(target=y)
    ddf = dd.from_pandas(frame, npartitions=4)
    ref = LinearRegression().fit(frame[names], frame["target"])
    got = LinearRegression().fit(ddf[names], ddf["target"])
    assert list(got.feature_names_in_) == names
    assert _rel(_params(ref), _params(got)) < 1e-12
    pred = got.predict(ddf[names])
    assert isinstance(pred, da.Array)  # lazy, computed on the workers
    np.testing.assert_allclose(pred.compute(), ref.predict(frame[names]), rtol=1e-12)
    assert got.score(ddf[names], ddf["target"]) == pytest.approx(
        ref.score(frame[names], frame["target"]), rel=1e-12)
    Xd = da.from_array(X, chunks=(BLOCK, D))
    np.testing.assert_allclose(LinearRegression().fit(X, y).predict(Xd).compute(),
                               LinearRegression().fit(X, y).predict(X))


def test_classifier_labels_proba_and_partial_fit(dask_client):
    X, y = _data(3)
    labels = np.array(["cat", "dog", "emu"])[np.digitize(y, np.quantile(y, [0.33, 0.66]))]
    Xd = da.from_array(X, chunks=(BLOCK, D))
    yd = da.from_array(labels, chunks=BLOCK)
    ref = SoftmaxRegression().fit(X, labels)
    got = SoftmaxRegression().fit(Xd, yd)
    assert list(got.classes_) == ["cat", "dog", "emu"]
    assert _rel(_params(ref), _params(got)) < 1e-12
    np.testing.assert_allclose(got.predict_proba(Xd).compute(), ref.predict_proba(X),
                               rtol=1e-9, atol=1e-12)
    assert got.score(Xd, yd) == ref.score(X, labels)
    part = SoftmaxRegression(batch_size=50)
    part.partial_fit(Xd, yd, classes=["cat", "dog", "emu"])
    part.partial_fit(Xd, yd)
    assert part.n_iter_ == 2 and part.t_ == 2 * N // 50 and part.score(X, labels) > 0.8


# --- mini-batches: the batch order of every stream -----------------------------------------------

def test_minibatches_are_those_of_an_array_stream(dask_client):
    X, y = _data(4)
    ds = DaskStream.from_dask(da.from_array(X, chunks=(BLOCK, D)), da.from_array(y, chunks=BLOCK),
                              batch_size=64, seed=3, buffer_chunks=2)
    ref = ArrayStream(X, y, batch_size=64, seed=3, chunk_rows=BLOCK, buffer_chunks=2)
    for epoch, start in [(0, 0), (1, 0), (2, 17)]:
        got = list(ds.batches(epoch, start))
        want = list(ref.batches(epoch, start))
        assert len(got) == len(want)
        for (a, b), (c, e) in zip(got, want):
            np.testing.assert_array_equal(a, c)
            np.testing.assert_array_equal(b, e)
    first = [b[1][0] for b in ds.batches(0)]
    assert first != [b[1][0] for b in ds.batches(1)]  # blocks reshuffled every epoch
    raw = list(ref.batches(1, 3))
    st = ds.standardizer = Standardizer().fit(X)  # batches standardized as they are picked
    got = list(ds.batches(1, 3))
    assert len(got) == len(raw)
    for (a, b), (c, e) in zip(got, raw):
        assert a.tobytes() == st.transform(c).tobytes() and b.tobytes() == e.tobytes()
    ds.close()


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("batch_size", [32, 1])
def test_minibatch_fit_equals_array_stream_fit(dask_client, batch_size):
    """ASGD (the default on mini-batches), its step from the Gram pass on the workers and its
    tolerance test on the full loss computed there: the weights of an ArrayStream whose
    chunks are the blocks (batch size 1: the compiled online sweep)."""
    n = 400 if batch_size == 1 else 1200
    X, y = _data(5, n=n)
    kw = dict(batch_size=batch_size, epochs=3 if batch_size == 1 else 12)
    ref = LinearRegression(**kw).fit_stream(
        ArrayStream(X, y, batch_size=batch_size, chunk_rows=100, seed=0))
    got = LinearRegression(**kw).fit(da.from_array(X, chunks=(100, D)),
                                     da.from_array(y, chunks=100))
    assert got.t_ == ref.t_
    assert _rel([ref.params_], [got.params_]) < 1e-13
    assert got.history_["loss"] == pytest.approx(ref.history_["loss"], rel=1e-12)


# --- checkpoints ---

def test_checkpoint_resume_and_interchange_with_array_stream(dask_client, tmp_path):
    X, y = _data(6, n=1200)
    loss = LinearLoss(D)

    def run(stream, ckpt=None, resume=None, halt=None):
        cbs = (lambda info: "halt" if info.step == halt else None,) if halt else ()
        return train(DistributedLoss(loss), loss.init_params(), stream, SGD(lr=0.002),
                     epochs=6, tol=None, checkpoint=ckpt, checkpoint_every=7 if ckpt else 0,
                     resume=resume, callbacks=cbs)

    def dask_stream():
        return DaskStream.from_dask(da.from_array(X, chunks=(300, D)),
                                    da.from_array(y, chunks=300), batch_size=40, seed=1)

    def array_stream():
        return ArrayStream(X, y, batch_size=40, seed=1, chunk_rows=300)

    ref = run(array_stream())
    ckpt = str(tmp_path / "run.gdlab")
    part = run(dask_stream(), ckpt=ckpt, halt=100)
    assert part.reason == "stopped early: halt" and load_checkpoint(ckpt)[0]["step"] == 98
    np.testing.assert_array_equal(run(dask_stream(), ckpt=ckpt, resume=ckpt).params, ref.params)
    run(array_stream(), ckpt=ckpt, halt=50)  # written in memory, resumed on the cluster
    np.testing.assert_array_equal(run(dask_stream(), ckpt=ckpt, resume=ckpt).params, ref.params)


def test_estimator_checkpoints_on_a_dask_stream(dask_client, tmp_path):
    X, y = _data(7, n=1200)
    ckpt = str(tmp_path / "est.gdlab")

    def stream():
        return DaskStream.from_dask(da.from_array(X, chunks=(300, D)),
                                    da.from_array(y, chunks=300))

    ref = LinearRegression().fit_stream(stream())
    got = LinearRegression().fit_stream(stream(), checkpoint=ckpt, checkpoint_every=2)
    again = LinearRegression().fit_stream(stream(), checkpoint=ckpt, checkpoint_every=2,
                                          resume=True)
    assert _rel([ref.params_], [got.params_]) == 0 and _rel([ref.params_], [again.params_]) == 0
    assert got.score_stream(stream()) == pytest.approx(got.score(X, y), rel=1e-12)


# --- the loss on the workers ---

def test_line_search_trials_read_no_data(dask_client):
    """Armijo's value-only trials along a direction come from the cached products."""
    X, y = _data(8)
    stream = DaskStream.from_dask(da.from_array(X, chunks=(BLOCK, D)),
                                  da.from_array(y, chunks=BLOCK))
    stream.fit_standardizer()
    loss = LinearLoss(D, loss="half_mse", l2=0.01)
    x0 = loss.init_params()[None, :]
    runs = {}
    for cached in (True, False):
        obj = DaskObjective(loss, stream, line_cache=cached)
        out = descend(obj, x0, Armijo(t_init=50.0), stop=StopRules(eps=1e-10, max_iter=60))
        runs[cached] = (out, obj.loss.stats)
    (a, sa), (b, sb) = runs[True], runs[False]
    assert sa["line_values"] > 0 and sb["line_values"] == 0
    assert sa["passes"] < sb["passes"]
    np.testing.assert_allclose(a.x, b.x, rtol=1e-9, atol=1e-12)
    Xs = stream.standardizer.transform(X)
    ref = descend(_InMemory(loss, Xs, y), x0, Armijo(t_init=50.0),
                  stop=StopRules(eps=1e-10, max_iter=60))
    np.testing.assert_allclose(a.x, ref.x, rtol=1e-9, atol=1e-12)
    assert a.status == ref.status


def test_accepted_line_search_point_is_not_evaluated_twice(dask_client):
    X, y = _data(9)
    stream = DaskStream.from_dask(da.from_array(X, chunks=(BLOCK, D)),
                                  da.from_array(y, chunks=BLOCK))
    loss = LinearLoss(D)
    obj = DaskObjective(loss, stream)
    out = descend(obj, loss.init_params()[None, :], LBFGS(line_search_fn="strong_wolfe"),
                  stop=StopRules(eps=1e-8, max_iter=50))
    s = obj.loss.stats
    assert s["remembered"] >= out.step - 1
    assert s["passes"] == int(out.nfev[0]) - s["remembered"]


class _InMemory:
    """The same objective on arrays (the reference of the line-search test)."""

    def __init__(self, loss, X, y):
        self.loss, self.X, self.y = loss, X, y

    def value_and_grad(self, x, batch=None):
        f, g = self.loss.value_and_grad(x[0], self.X, self.y)
        return np.array([f]), g[None, :]

    def value(self, x, batch=None):
        return np.array([self.loss.value(r, self.X, self.y) for r in x])


# --- errors ---

def test_bad_input_is_named(dask_client):
    X, y = _data(10, n=400)
    X[123, 2] = np.nan
    with pytest.raises(DataError, match=r"row 124, column 'x3'"):
        LinearRegression().fit(da.from_array(X, chunks=(100, D)), da.from_array(y, chunks=100))
    with pytest.raises(DataError, match="rows but y has"):
        DaskStream.from_dask(da.from_array(X, chunks=(100, D)), y[:-1])
    with pytest.raises(ParameterError, match="early_stopping"):
        LinearRegression(early_stopping=True).fit(da.from_array(X, chunks=(100, D)), y)


def _write_parquet(folder, X, y, files=3, group=250):
    import pyarrow as pa
    import pyarrow.parquet as pq
    os.makedirs(folder, exist_ok=True)
    for k, (Xk, yk) in enumerate(zip(np.array_split(X, files), np.array_split(y, files))):
        table = pa.table({**{f"x{j}": Xk[:, j] for j in range(X.shape[1])}, "y": yk})
        pq.write_table(table, os.path.join(folder, f"part-{k}.parquet"), row_group_size=group)


def test_files_are_read_and_validated_by_the_workers(dask_client, tmp_path):
    X, y = _data(11, n=1500)
    _write_parquet(tmp_path / "pq", X, y)
    s = DaskStream.from_files(str(tmp_path / "pq" / "*.parquet"), "y", block_bytes=1)
    assert s.blocks.n_blocks == 6 and s.n_samples == 1500
    np.testing.assert_array_equal(s.read_chunk(2)[0], X[500:750])
    csv = tmp_path / "csv"
    csv.mkdir()
    for k, part in enumerate(np.array_split(np.column_stack([X, y]), 2)):
        np.savetxt(csv / f"p{k}.csv", part, delimiter=",", header="a,b,c,d,e,y", comments="")
    c = DaskStream.from_files(str(csv), "y")
    assert c.blocks.n_blocks == 2 and c.feature_names == list("abcde")
    np.testing.assert_allclose(c.read_chunk(1)[1], y[750:])
    text = (csv / "p1.csv").read_text().splitlines()
    text[5] = "1,2,x,4,5,6"
    (csv / "p1.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(DataError, match=r"p1\.csv, row 5, column 'c': not a number"):
        DaskStream.from_files(str(csv / "*.csv"), "y")
    with pytest.raises(DataError, match="no files match"):
        DaskStream.from_files(str(tmp_path / "none-*.parquet"), "y")


# --- the command line ---

def test_cli_fit_on_a_glob_equals_in_memory(dask_client, tmp_path, capsys, monkeypatch):
    X, y = _data(12, n=1500)
    _write_parquet(tmp_path / "data", X, y)
    monkeypatch.chdir(tmp_path)
    code = cli.main(["fit", "data/*.parquet", "--target", "y", "--dask", "--json",
                     "--quiet"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["dask"]["blocks"] == 3 and out["n_train"] + out["n_test"] == 1500
    test = RowSplit(0.25, 0).test_mask(0, 1500)
    ref = LinearRegression(seed=0).fit(X[~test], y[~test])
    assert _rel([ref.coef_, [ref.intercept_]], [out["coef"], [out["intercept"]]]) < 1e-12
    assert out["test_score"] == pytest.approx(ref.score(X[test], y[test]), rel=1e-12)
    assert out["closed_form"]["r2_gap"] < 1e-9


def test_cli_unreachable_scheduler_is_one_line(tmp_path, capsys, monkeypatch):
    import socket
    X, y = _data(13, n=100)
    _write_parquet(tmp_path / "data", X, y, files=1)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(dask_cluster, "CONNECT_TIMEOUT", 1.0)
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code = cli.main(["fit", "data/*.parquet", "--target", "y", "--scheduler",
                     f"tcp://127.0.0.1:{port}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert err[0].startswith(f"gdlab: error: cannot reach the Dask scheduler at "
                             f"tcp://127.0.0.1:{port}")


class _Bar:
    """A stand-in for tqdm that records what the training loop shows."""

    made: list = []

    def __init__(self, *args, **kw):
        self.kw, self.posts, self.updates = kw, [], 0
        _Bar.made.append(self)

    def set_postfix(self, post, refresh=True):
        self.posts.append(dict(post))

    def update(self, n=1):
        self.updates += n

    def close(self):
        pass


def test_cli_cluster_failure_mid_run_exits_1(capsys, monkeypatch):
    """A cluster that fails during the fit (a worker kept dying): one line, exit code 1."""
    from gdlab.data.blockset import ClusterError
    from gdlab.models import fitting

    def failing(*args, **kw):
        raise ClusterError("the Dask worker tcp://10.0.0.7:40001 died while running a "
                           "gdlab task")

    monkeypatch.setattr(fitting, "fit_data", failing)
    code = cli.main(["fit", "data/*.parquet", "--target", "y", "--dask", "2"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and err == ["gdlab: error: the Dask worker tcp://10.0.0.7:40001 died "
                                 "while running a gdlab task"]


def test_progress_bar_and_epoch_log(dask_client, monkeypatch):
    """The same bar (one tick per epoch, loss and samples/s) and epoch log as in memory."""
    import tqdm.auto
    monkeypatch.setattr(tqdm.auto, "tqdm", _Bar)
    X, y = _data(14, n=600)
    kw = dict(batch_size=50, epochs=3, tol=None, verbose=True)
    ref = LinearRegression(**kw).fit_stream(ArrayStream(X, y, batch_size=50, chunk_rows=150))
    got = LinearRegression(**kw).fit(da.from_array(X, chunks=(150, D)),
                                     da.from_array(y, chunks=150))
    (a, b) = _Bar.made[-2:]
    assert a.kw == b.kw and a.kw["unit"] == "epoch" and a.kw["total"] == 3
    assert a.updates == b.updates == 3
    assert [p["loss"] for p in a.posts] == [p["loss"] for p in b.posts]
    assert all("samples/s" in p for p in b.posts)
    assert got.history_["loss"] == pytest.approx(ref.history_["loss"], rel=1e-12)
    assert len(got.history_["time"]) == 3
