"""The descent on real Dask worker processes: a LocalCluster of two processes (the same numbers
as in memory; a worker killed mid-fit is survived, a worker that always dies is a clear
error) and a scheduler and two workers started as separate ``dask`` processes, used by
``gdlab fit --scheduler``."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")


from gdlab import cli  # noqa: E402
from gdlab.data import ArrayStream, DaskStream, RowSplit  # noqa: E402
from gdlab.data.blockset import ClusterError  # noqa: E402
from gdlab.models import LinearLoss, LinearRegression  # noqa: E402
from gdlab.models.distributed import DistributedLoss  # noqa: E402
from gdlab.optim.quasi_newton import LBFGS  # noqa: E402
from gdlab.train import train  # noqa: E402

D = 4


def _data(seed: int, n: int):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, D)) * np.arange(1, D + 1) + 1.0
    y = X @ rng.normal(size=D) + 0.5 + 0.2 * rng.normal(size=n)
    return X, y


def _write_parquet(folder, X, y, files=4, group=200):
    import pyarrow as pa
    import pyarrow.parquet as pq
    os.makedirs(folder, exist_ok=True)
    for k, (Xk, yk) in enumerate(zip(np.array_split(X, files), np.array_split(y, files))):
        table = pa.table({**{f"x{j}": Xk[:, j] for j in range(D)}, "y": yk})
        pq.write_table(table, os.path.join(folder, f"part-{k}.parquet"), row_group_size=group)


def _rel(a, b) -> float:
    a, b = np.concatenate([np.ravel(v) for v in a]), np.concatenate([np.ravel(v) for v in b])
    return float(np.max(np.abs(a - b)) / np.max(np.abs(a)))


def test_worker_processes_give_the_in_memory_numbers(dask_processes):
    X, y = _data(0, 2000)
    Xd, yd = da.from_array(X, chunks=(500, D)), da.from_array(y, chunks=500)
    ref = LinearRegression().fit(X, y)
    got = LinearRegression().fit(Xd, yd)
    assert _rel([ref.coef_, [ref.intercept_]], [got.coef_, [got.intercept_]]) < 1e-12
    kw = dict(batch_size=50, epochs=3, tol=None)
    ref = LinearRegression(**kw).fit_stream(ArrayStream(X, y, batch_size=50, chunk_rows=500))
    got = LinearRegression(**kw).fit(Xd, yd)
    np.testing.assert_array_equal(got.params_, ref.params_)


@pytest.mark.parametrize("batch_size", [None, 100])
def test_a_worker_killed_mid_fit_is_survived(dask_processes, tmp_path, batch_size):
    """The blocks of the killed worker are read again from the files by the others (and by
    its restarted replacement): the fit ends with the weights of an undisturbed one."""
    X, y = _data(1, 3200)
    _write_parquet(tmp_path / "data", X, y)
    stream = DaskStream.from_files(str(tmp_path / "data"), "y", client=dask_processes,
                                   block_bytes=1, batch_size=batch_size)
    assert stream.blocks.n_blocks == 16
    pids = dask_processes.run(os.getpid)
    killed: list[int] = []

    def kill_one(info):
        if info.step == 3 and not killed:
            holder = dask_processes.who_has(stream.blocks.futures[:1])
            worker = next(iter(holder.values()))[0]
            os.kill(pids[worker], signal.SIGKILL)
            killed.append(pids[worker])

    loss = LinearLoss(D)
    rule = (lambda: LBFGS(line_search_fn="strong_wolfe")) if batch_size is None else \
        (lambda: LBFGS(lr=0.05))
    epochs = 30 if batch_size is None else 2
    ref = train(loss, loss.init_params(), ArrayStream(X, y, batch_size=batch_size,
                                                      chunk_rows=200), rule(),
                epochs=epochs, tol=None)
    got = train(DistributedLoss(loss), loss.init_params(), stream, rule(), epochs=epochs,
                tol=None, callbacks=(kill_one,))
    assert killed and got.n_steps == ref.n_steps
    assert _rel([ref.params], [got.params]) < 1e-12
    stream.close()


def test_a_worker_that_always_dies_is_named(dask_processes):
    def die(block):
        if distributed.get_worker() is not None:
            os._exit(1)  # the worker process dies while running this task
        return block

    X, y = _data(2, 400)
    Xd = da.from_array(X, chunks=(200, D)).map_blocks(die, dtype=X.dtype)
    with pytest.raises(ClusterError, match=r"the Dask worker tcp://[\d.]+:\d+ died while "
                                           r"running a gdlab task") as info:
        DaskStream.from_dask(Xd, y, client=dask_processes)
    assert info.value.run_failed  # the CLI's exit code 1
    dask_processes.wait_for_workers(2, timeout=60)  # the nannies bring the workers back


# --- a scheduler and two workers as separate processes ---

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def scheduler_address():
    """``python -m dask scheduler`` and two ``python -m dask worker`` processes, each in its
    own process group, stopped (by group) at the end."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                 start_new_session=True)
    procs = [subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host",
                               "127.0.0.1", "--port", str(port), "--no-dashboard"], **quiet)]
    try:
        for _ in range(2):
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "dask", "worker", address, "--nthreads", "1",
                 "--no-dashboard", "--memory-limit", "0", "--host", "127.0.0.1"], **quiet))
        with distributed.Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for p in procs[::-1]:
            _stop(p)


def _stop(proc: subprocess.Popen) -> None:
    """Stop a process we started and its children (its own process group)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=15)
    except ProcessLookupError:
        pass


def test_cli_fit_with_a_scheduler(scheduler_address, tmp_path, capsys, monkeypatch):
    X, y = _data(3, 2000)
    _write_parquet(tmp_path / "data", X, y)
    monkeypatch.chdir(tmp_path)
    t0 = time.perf_counter()
    code = cli.main(["fit", "data/*.parquet", "--target", "y", "--scheduler",
                     scheduler_address, "--json", "--quiet"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    out = json.loads(captured.out)
    assert out["dask"]["workers"] == 2 and time.perf_counter() - t0 < 60
    assert out["dask"]["cluster"] == f"the Dask cluster at {scheduler_address}"
    test = RowSplit(0.25, 0).test_mask(0, 2000)
    ref = LinearRegression(seed=0).fit(X[~test], y[~test])
    assert _rel([ref.coef_, [ref.intercept_]], [out["coef"], [out["intercept"]]]) < 1e-12
    assert out["train_score"] == pytest.approx(ref.score(X[~test], y[~test]), rel=1e-12)
    assert out["test_score"] == pytest.approx(ref.score(X[test], y[test]), rel=1e-12)
