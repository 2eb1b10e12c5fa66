"""Training through the shared loop: exact resume after SIGKILL, early-stopping state across
resumes, streaming files equal to in-memory arrays, stop rules and their messages."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from gdlab import persist
from gdlab.data import ArrayStream, CSVStream
from gdlab.errors import ModelFileError, ParameterError
from gdlab.models import LinearLoss
from gdlab.optim.linesearch import Armijo
from gdlab.optim.rules import SGD, Adam
from gdlab.optim.schedules import Cosine, InverseTime
from gdlab.train import load_checkpoint, train


def _replay_patience(watched, tol, patience):
    """Replay train's patience rule: (epoch index where it stops or None, counter)."""
    ref, n = np.inf, 0
    for i, w in enumerate(watched):
        improved = w < ref - tol * max(1.0, abs(ref)) if np.isfinite(ref) else True
        ref, n = (w, 0) if improved else (ref, n + 1)
        if n >= patience:
            return i, n
    return None, n


def _same_history(a: dict, b: dict) -> None:
    """Histories equal bit for bit, except the wall-clock times."""
    assert set(a) == set(b)
    for k in a:
        if k == "time":
            assert len(a[k]) == len(b[k])
            continue
        np.testing.assert_array_equal(np.asarray(a[k], dtype=float),
                                      np.asarray(b[k], dtype=float), err_msg=k)


# --------------------------------------------------------------------------------------------
# 1. SIGKILL at random moments, resume from the checkpoint, same final weights
# --------------------------------------------------------------------------------------------

CHILD = textwrap.dedent("""
    import json, os, sys, time
    import numpy as np
    from gdlab.data import ArrayStream
    from gdlab.models import MLPLoss
    from gdlab.optim.rules import Adam
    from gdlab.optim.schedules import Cosine
    from gdlab.train import train

    ckpt, out, marker, pause = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 6))
    y = np.tanh(X @ rng.normal(size=6)) + 0.1 * rng.normal(size=400)
    Xv = rng.normal(size=(80, 6))
    yv = np.tanh(Xv @ rng.normal(size=6))
    obj = MLPLoss([6, 16, 1], activation="tanh", task="regression", l2=1e-4)
    p0 = obj.init_params(np.random.default_rng(1))
    stream = ArrayStream(X, y, batch_size=32, seed=5)          # 13 batches per epoch

    def slow(info):
        if not os.path.exists(marker):
            open(marker, "w").close()
        if pause:
            time.sleep(pause)

    res = train(obj, p0, stream, Adam(lr=0.02), schedule=Cosine(T_max=150, eta_min=1e-4),
                epochs=24, tol=1e-4, patience=30, validation=(Xv, yv), restore_best=True,
                checkpoint=ckpt, checkpoint_every=7,
                resume=ckpt if os.path.exists(ckpt) else None, callbacks=(slow,))
    np.save(out + ".npy", res.params)
    with open(out + ".json", "w") as fh:
        json.dump({"history": res.history, "n_steps": res.n_steps, "status": res.status,
                   "reason": res.reason, "best_epoch": res.best_epoch,
                   "n_epochs": res.n_epochs}, fh)
""")


def _child_result(out: Path) -> tuple[np.ndarray, dict]:
    return np.load(str(out) + ".npy"), json.loads(Path(str(out) + ".json").read_text())


def _ckpt_step(path: Path) -> int | None:
    if not path.exists():
        return None
    meta, _ = load_checkpoint(str(path))     # must always load: writes are atomic
    return int(meta["step"])


def test_sigkill_resume_matches_uninterrupted_run(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}

    def start(ckpt, out, marker, pause):
        return subprocess.Popen([sys.executable, str(script), str(ckpt), str(out), str(marker),
                                 str(pause)], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)

    # the uninterrupted reference (its own checkpoint file, no pause)
    ref = start(tmp_path / "ref.gdlab", tmp_path / "ref", tmp_path / "ref.marker", 0)
    _, err = ref.communicate(timeout=60)
    assert ref.returncode == 0, err.decode()
    ref_params, ref_info = _child_result(tmp_path / "ref")
    assert ref_info["n_steps"] > 200

    ckpt, out, marker = tmp_path / "ckpt.gdlab", tmp_path / "run", tmp_path / "marker"
    rnd = random.Random(20240611)
    last_step = 0
    kills = 0
    steps_seen = []
    for _attempt in range(6):
        marker.unlink(missing_ok=True)
        proc = start(ckpt, out, marker, 0.004)
        # kill only once this run has made progress past the previous checkpoint, then
        # after a random extra delay: every kill lands mid-training (or the run ended)
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            if marker.exists() and (_ckpt_step(ckpt) or 0) > last_step:
                break
            time.sleep(0.005)
        time.sleep(rnd.uniform(0.0, 0.12))
        if proc.poll() is not None:          # finished before the kill: fine
            break
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        kills += 1
        step = _ckpt_step(ckpt)
        assert step is not None and step >= last_step > -1
        steps_seen.append(step)
        last_step = step
    else:
        proc = start(ckpt, out, marker, 0.0)  # the last resume runs to the end
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()

    assert kills >= 1 and all(0 < s < ref_info["n_steps"] for s in steps_seen), steps_seen
    params, info = _child_result(out)
    np.testing.assert_array_equal(params, ref_params)          # bit for bit
    for k in ("n_steps", "status", "reason", "best_epoch", "n_epochs"):
        assert info[k] == ref_info[k], k
    _same_history(info["history"], ref_info["history"])


# --------------------------------------------------------------------------------------------
# 2. early stopping state and history survive resumes (in-process interruptions)
# --------------------------------------------------------------------------------------------

def _es_problem():
    rng = np.random.default_rng(7)
    w = np.array([1.5, -2.0, 0.5, 0.0])
    X = rng.normal(size=(240, 4))
    y = X @ w + 0.3 + 0.5 * rng.normal(size=240)
    Xv = rng.normal(size=(60, 4))
    yv = Xv @ w + 0.3 + 0.5 * rng.normal(size=60)
    return LinearLoss(4), X, y, (Xv, yv)


def _es_run(ckpt=None, resume=None, halt_at=None, validation=True, restore_best=True):
    obj, X, y, val = _es_problem()
    cbs = (lambda info: "halt" if info.step == halt_at else None,) if halt_at else ()
    return train(obj, obj.init_params(), ArrayStream(X, y, batch_size=16, seed=2),
                 SGD(lr=0.05, momentum=0.9), schedule=InverseTime(0.01), epochs=60,
                 tol=1e-3, patience=4, validation=val if validation else None,
                 restore_best=restore_best, checkpoint=ckpt,
                 checkpoint_every=6 if ckpt else 0, resume=resume, callbacks=cbs)


@pytest.mark.parametrize("halts", [(50,), (61,), (100,), (119,), (13, 61, 100)])
def test_resume_keeps_early_stopping_state_and_history(tmp_path, halts):
    ref = _es_run()
    # the reference stops early, after epochs without improvement, with the best weights
    assert ref.status == "stopped" and "did not improve" in ref.reason
    vloss = ref.history["val_loss"]
    assert ref.best_epoch == int(np.argmin(vloss)) < ref.n_epochs - 1
    assert _replay_patience(vloss, 1e-3, 4)[0] == ref.n_epochs - 1
    ckpt = str(tmp_path / "es.gdlab")
    resume = None
    for h in halts:
        part = _es_run(ckpt=ckpt, resume=resume, halt_at=h)
        assert part.status == "stopped" and part.reason == "stopped early: halt"
        resume = ckpt
    meta, _ = load_checkpoint(ckpt)
    assert meta["step"] == halts[-1] // 6 * 6
    res = _es_run(ckpt=ckpt, resume=ckpt)
    np.testing.assert_array_equal(res.params, ref.params)
    assert (res.status, res.reason, res.best_epoch, res.n_epochs, res.n_steps) == \
        (ref.status, ref.reason, ref.best_epoch, ref.n_epochs, ref.n_steps)
    _same_history(res.history, ref.history)


def test_checkpoint_holds_patience_counter_and_best_weights(tmp_path):
    ckpt = str(tmp_path / "es.gdlab")
    ref = _es_run()
    _es_run(ckpt=ckpt, halt_at=110)
    meta, arrays = load_checkpoint(ckpt)
    st = meta["epochs_state"]
    assert meta["step"] == 108 and st["epoch"] == 7
    assert st["best_epoch"] == ref.best_epoch
    assert st["no_improve"] == _replay_patience(ref.history["val_loss"][:7], 1e-3, 4)[1] > 0
    np.testing.assert_array_equal(arrays["best_params"], ref.params)   # restore_best result


def test_resume_without_validation_training_loss_early_stop(tmp_path):
    ref = _es_run(validation=False, restore_best=False)
    ckpt = str(tmp_path / "es.gdlab")
    _es_run(ckpt=ckpt, halt_at=77, validation=False, restore_best=False)
    res = _es_run(ckpt=ckpt, resume=ckpt, validation=False, restore_best=False)
    np.testing.assert_array_equal(res.params, ref.params)
    assert res.n_steps == ref.n_steps and res.reason == ref.reason
    _same_history(res.history, ref.history)


def test_line_search_checkpoint_with_nan_lr_resumes(tmp_path):
    # the line search has no learning rate (NaN in the history): checkpoints must still work
    obj, X, y, _ = _es_problem()

    def run(**kw):
        return train(obj, obj.init_params(), ArrayStream(X, y, batch_size=None, chunk_rows=50),
                     Armijo(), epochs=12, tol=None, **kw)

    ref = run()
    ckpt = str(tmp_path / "ls.gdlab")
    run(checkpoint=ckpt, checkpoint_every=3, callbacks=(lambda i: "halt" if i.step == 8 else None,))
    assert load_checkpoint(ckpt)[0]["step"] == 6
    res = run(checkpoint=ckpt, checkpoint_every=3, resume=ckpt)
    np.testing.assert_array_equal(res.params, ref.params)
    assert np.isnan(res.history["lr"]).all() and len(res.history["lr"]) == 12
    _same_history(res.history, ref.history)


def test_resume_refuses_mismatched_or_damaged_checkpoints(tmp_path):
    obj, X, y, _ = _es_problem()
    ckpt = str(tmp_path / "c.gdlab")
    stream = ArrayStream(X, y, batch_size=16, seed=2)
    train(obj, obj.init_params(), stream, Adam(lr=0.01), epochs=2, tol=None,
          checkpoint=ckpt, checkpoint_every=5)
    with pytest.raises(ModelFileError, match="optimizer"):
        train(obj, obj.init_params(), stream, SGD(lr=0.01), epochs=2, resume=ckpt)
    with pytest.raises(ModelFileError, match="optimizer"):   # amsgrad: another state layout
        train(obj, obj.init_params(), stream, Adam(lr=0.01, amsgrad=True), epochs=2, resume=ckpt)
    other = LinearLoss(3)
    with pytest.raises(ModelFileError, match="parameters"):
        train(other, other.init_params(), ArrayStream(X[:, :3], y, batch_size=16), Adam(),
              epochs=2, resume=ckpt)
    with pytest.raises(ModelFileError, match="batches per epoch"):
        train(obj, obj.init_params(), ArrayStream(X, y, batch_size=32), Adam(lr=0.01),
              epochs=2, resume=ckpt)
    with pytest.raises(ModelFileError, match="without restore_best"):
        train(obj, obj.init_params(), stream, Adam(lr=0.01), epochs=2, resume=ckpt,
              validation=(X, y), restore_best=True)
    raw = Path(ckpt).read_bytes()
    Path(ckpt).write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ModelFileError, match="truncated"):
        train(obj, obj.init_params(), stream, Adam(lr=0.01), epochs=2, resume=ckpt)
    with pytest.raises(ModelFileError, match="no such file"):
        train(obj, obj.init_params(), stream, Adam(lr=0.01), epochs=2,
              resume=str(tmp_path / "missing.gdlab"))
    model = str(tmp_path / "model.gdlab")
    persist.save(model, {}, {"params": obj.init_params()}, kind="model")
    with pytest.raises(ModelFileError, match="expected a 'checkpoint' file"):
        train(obj, obj.init_params(), stream, Adam(lr=0.01), epochs=2, resume=model)
    with pytest.raises(ParameterError, match="checkpoint_every"):
        train(obj, obj.init_params(), stream, Adam(), epochs=2, checkpoint=ckpt)


# --------------------------------------------------------------------------------------------
# 3. a CSV streamed in chunks equals the same rows in memory
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def linear_csv(tmp_path_factory):
    rng = np.random.default_rng(11)
    X = rng.normal(size=(500, 3))
    y = X @ np.array([2.0, -1.0, 0.5]) + 1.0 + 0.1 * rng.normal(size=500)
    path = tmp_path_factory.mktemp("csv") / "lin.csv"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header="a,b,c,y", comments="")
    return path, X, y


@pytest.mark.parametrize("seed", [0, 3])
def test_csv_stream_in_chunks_equals_arrays(linear_csv, seed):
    path, X, y = linear_csv
    obj = LinearLoss(3)

    def fit(stream):
        return train(obj, obj.init_params(), stream, Adam(lr=0.05),
                     schedule=Cosine(T_max=200), epochs=8, tol=None)

    csv = CSVStream(path, target="y", batch_size=32, chunk_rows=37, buffer_chunks=3, seed=seed)
    arr = ArrayStream(X, y, batch_size=32, chunk_rows=37, buffer_chunks=3, seed=seed)
    assert csv.n_chunks == 14 and csv.n_batches() == arr.n_batches() == 16
    a, b = fit(csv), fit(arr)
    assert a.n_steps == b.n_steps == 8 * 16
    np.testing.assert_allclose(a.params, b.params, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(a.params, b.params)   # same batches: in fact bit for bit
    np.testing.assert_allclose(a.params, [2.0, -1.0, 0.5, 1.0], atol=0.05)


def test_full_batch_csv_in_chunks_equals_full_batch_array(linear_csv):
    path, X, y = linear_csv
    obj = LinearLoss(3, l2=0.01)

    def fit(stream):
        return train(obj, obj.init_params(), stream, SGD(lr=0.1, momentum=0.5), epochs=60,
                     tol=None)

    csv = CSVStream(path, target="y", batch_size=None, chunk_rows=37)
    assert csv.n_chunks == 14
    a = fit(csv)
    b = fit(ArrayStream(X, y, batch_size=None))                  # one piece in memory
    c = fit(ArrayStream(X, y, batch_size=None, chunk_rows=37))   # the same pieces in memory
    assert a.n_steps == b.n_steps == 60
    np.testing.assert_allclose(a.params, b.params, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(a.params, c.params)
    np.testing.assert_allclose(a.history["loss"], b.history["loss"], rtol=1e-12)
    # a full-batch step is plain GD on the whole mean loss (+ the penalty once)
    p = obj.init_params()
    f, g = obj.value_and_grad(p, X, y)
    assert a.history["loss"][0] == pytest.approx(f, rel=1e-12)


# --------------------------------------------------------------------------------------------
# 4. stop rules: divergence, time limit, tol/patience
# --------------------------------------------------------------------------------------------

def test_divergence_reports_the_step_and_a_smaller_lr():
    obj, X, y, _ = _es_problem()
    res = train(obj, obj.init_params(), ArrayStream(X, y, batch_size=16, seed=0),
                SGD(lr=5.0), epochs=10)
    assert res.status == "diverged"
    assert res.diverged_step is not None and 0 < res.diverged_step < 10 * 15
    assert f"diverged at step {res.diverged_step} " in res.reason
    assert "smaller learning rate" in res.reason and "lr=0.5" in res.reason
    assert res.n_steps == res.diverged_step
    # the epoch number in the message counts from 1 and follows the batches per epoch
    assert f"(epoch {res.diverged_step // 15 + 1})" in res.reason


def test_time_limit_stops():
    obj, X, y, _ = _es_problem()
    t0 = time.perf_counter()
    res = train(obj, obj.init_params(), ArrayStream(X, y, batch_size=16), SGD(lr=0.01),
                epochs=10_000, tol=None, time_limit=0.3,
                callbacks=(lambda info: time.sleep(0.002),))
    assert res.status == "time_limit"
    assert "time limit of 0.3 s" in res.reason
    assert 0.3 <= time.perf_counter() - t0 < 5
    assert 0 < res.n_steps < 10_000 * 15 and res.n_epochs >= 1


def test_tol_patience_early_stop_on_training_loss():
    obj, X, y, _ = _es_problem()
    res = train(obj, obj.init_params(), ArrayStream(X, y, batch_size=16, seed=1),
                SGD(lr=0.02), epochs=500, tol=1e-3, patience=3)
    assert res.status == "stopped"
    assert "training loss did not improve by more than tol = 0.001 for 3 epochs" in res.reason
    loss = res.history["loss"]
    assert res.n_epochs < 500 and _replay_patience(loss, 1e-3, 3)[0] == res.n_epochs - 1
    assert res.best_epoch == int(np.argmin(loss))
    # without tol it runs every epoch
    res2 = train(obj, obj.init_params(), ArrayStream(X, y, batch_size=16, seed=1),
                 SGD(lr=0.02), epochs=20, tol=None)
    assert res2.status == "end_of_data" and res2.n_epochs == 20 and res2.n_steps == 300


def test_restore_best_returns_the_best_epoch_even_within_tol():
    # epochs better than the best by less than tol do not reset the patience, but the best
    # of them is the best epoch: its weights are the ones restored
    obj, X, y, val = _es_problem()

    def run(**kw):
        return train(obj, obj.init_params(), ArrayStream(X, y, batch_size=16, seed=2),
                     SGD(lr=0.01), validation=val, **kw)

    res = run(epochs=60, tol=0.05, patience=3, restore_best=True)
    vloss = res.history["val_loss"]
    best = int(np.argmin(vloss))
    ref, last_big = np.inf, 0          # the last epoch that reset the patience
    for i, v in enumerate(vloss):
        if not np.isfinite(ref) or v < ref - 0.05 * max(1.0, abs(ref)):
            ref, last_big = v, i
    assert res.status == "stopped" and res.best_epoch == best != last_big
    assert _replay_patience(vloss, 0.05, 3)[0] == res.n_epochs - 1
    upto_best = run(epochs=best + 1, tol=None)           # the same trajectory, cut after it
    np.testing.assert_array_equal(res.params, upto_best.params)


def test_eps_converged_message():
    obj, X, y, _ = _es_problem()
    res = train(obj, obj.init_params(), ArrayStream(X, y, batch_size=None), Armijo(),
                epochs=500, tol=None, eps=1e-6)
    assert res.status == "converged" and "eps = 1e-06" in res.reason


def test_epoch_lr_is_the_rate_of_the_epochs_last_step():
    obj, X, y, _ = _es_problem()
    sched = InverseTime(0.05)
    res = train(obj, obj.init_params(), ArrayStream(X, y, batch_size=16), SGD(lr=0.01),
                schedule=sched, epochs=5, tol=None)
    assert res.history["lr"] == [sched.lr(15 * (e + 1) - 1, 0.01) for e in range(5)]


def test_resume_keeps_the_divergence_reference(tmp_path):
    """The divergence test compares with the loss at the run's first step, also after a resume."""
    from gdlab.data import ArrayStream
    from gdlab.models import LinearLoss
    from gdlab.optim import sgd
    from gdlab.persist import load
    from gdlab.train import train

    rng = np.random.default_rng(0)
    X = rng.normal(size=(256, 3))
    y = X @ [1.0, 2.0, -1.0]
    obj = LinearLoss(3)
    ck = str(tmp_path / "ck.gdlab")
    p0 = np.zeros(obj.n_params)
    train(obj, p0, ArrayStream(X, y, batch_size=32, seed=1), sgd(lr=0.01), epochs=2, tol=None,
          checkpoint=ck, checkpoint_every=5)
    meta, arrays = load(ck)
    first = obj.value(p0, *next(ArrayStream(X, y, batch_size=32, seed=1).batches(0)))
    assert arrays["loop_f_start"][0] == pytest.approx(first, rel=1e-12)
    res = train(obj, p0, ArrayStream(X, y, batch_size=32, seed=1), sgd(lr=0.01), epochs=3,
                tol=None, checkpoint=ck, checkpoint_every=5, resume=ck)
    assert res.status == "end_of_data"
