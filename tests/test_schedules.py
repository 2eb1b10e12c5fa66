"""The schedule protocol beyond ``lr(t, base_lr)``: PyTorch's schedulers by name, the loss a
``ReduceLROnPlateau`` observes, its state in training checkpoints (a resumed run equals an
uninterrupted one), and the refusals. Trajectories against PyTorch itself are in
``test_optim_torch.py``."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import gdlab
from gdlab.data import ArrayStream
from gdlab.errors import ParameterError
from gdlab.models import LinearLoss
from gdlab.optim import SCHEDULES, ReduceLROnPlateau, Schedule, make_schedule
from gdlab.optim.rules import SGD
from gdlab.train import load_checkpoint, train

#: one configuration of each schedule name, as a user would write it
EXAMPLES = {
    "constant": {}, "step": {"step_size": 3}, "exponential": {"gamma": 0.9},
    "inverse_time": {"decay": 0.1}, "cosine": {"T_max": 5}, "warmup": {"total_iters": 4},
    "StepLR": {"step_size": 3, "gamma": 0.5}, "MultiStepLR": {"milestones": [2, 5, 5]},
    "ConstantLR": {}, "LinearLR": {}, "ExponentialLR": {"gamma": 0.9},
    "PolynomialLR": {"total_iters": 6, "power": 2.0}, "CosineAnnealingLR": {"T_max": 5},
    "CosineAnnealingWarmRestarts": {"T_0": 3, "T_mult": 2},
    "CyclicLR": {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 3, "mode": "triangular2"},
    "OneCycleLR": {"max_lr": 0.1, "total_steps": 20}, "ReduceLROnPlateau": {"patience": 2},
    "SequentialLR": {"schedulers": [{"name": "LinearLR"},
                                    {"name": "ExponentialLR", "gamma": 0.9}],
                     "milestones": [4]},
    "ChainedScheduler": {"schedulers": [{"name": "ConstantLR", "factor": 0.5},
                                        {"name": "StepLR", "step_size": 2}]},
}


def test_every_name_builds_and_its_config_rebuilds_it():
    assert set(EXAMPLES) == set(SCHEDULES)
    for name, kw in EXAMPLES.items():
        for sched in (make_schedule(name, **kw), make_schedule({"name": name.upper(), **kw})):
            cfg = sched.config()
            assert json.loads(json.dumps(cfg)) == cfg  # plain JSON for checkpoints
            again = make_schedule(cfg)
            assert type(again) is type(sched) and again.config() == cfg
            rates = [sched.lr(t, 0.2) for t in range(20)]
            assert rates == [again.lr(t, 0.2) for t in range(20)]
            assert all(math.isfinite(r) and r >= 0 for r in rates), name


def test_rates_are_a_function_of_the_step_wherever_they_are_asked_from():
    """The simulation runs forward, restarts when asked for an earlier step or another base
    rate, and a copy does not share it."""
    import copy
    sched = make_schedule(EXAMPLES["SequentialLR"] | {"name": "SequentialLR"})
    forward = [sched.lr(t, 0.3) for t in range(12)]
    assert [sched.lr(t, 0.3) for t in (7, 2, 11, 0)] == [forward[t] for t in (7, 2, 11, 0)]
    assert sched.lr(3, 0.6) == make_schedule(sched.config()).lr(3, 0.6)
    clone = copy.deepcopy(sched)
    assert [clone.lr(t, 0.3) for t in range(12)] == forward


def test_one_cycle_sets_the_momentum_and_stops_at_total_steps():
    sched = make_schedule("OneCycleLR", max_lr=0.1, total_steps=10)
    assert sched.momentum(0) == 0.95 and not sched.rate_only
    assert min(sched.momentum(t) for t in range(11)) == pytest.approx(0.85)
    assert make_schedule("OneCycleLR", max_lr=0.1, total_steps=10,
                         cycle_momentum=False).momentum(3) is None
    assert make_schedule("StepLR", step_size=2).momentum(3) is None
    with pytest.raises(ParameterError, match="made for 10 steps.*step 11"):
        sched.lr(11, 1.0)
    with pytest.raises(ParameterError, match="total_steps, or epochs and steps_per_epoch"):
        make_schedule("OneCycleLR", max_lr=0.1)


def test_refusals_say_what_to_give():
    with pytest.raises(ParameterError, match="did you mean 'OneCycleLR'"):
        make_schedule("onecycle")
    with pytest.raises(ParameterError, match="StepLR.*takes step_size, gamma"):
        make_schedule("StepLR", gama=0.5)
    with pytest.raises(ParameterError, match="ReduceLROnPlateau needs the loss"):
        make_schedule("SequentialLR", schedulers=[{"name": "ReduceLROnPlateau"},
                                                  {"name": "StepLR", "step_size": 2}],
                      milestones=[3])
    with pytest.raises(ParameterError, match="not gdlab's short names"):
        make_schedule("ChainedScheduler", schedulers=["cosine"])
    with pytest.raises(ParameterError, match="one milestone fewer"):
        make_schedule("SequentialLR", schedulers=[{"name": "LinearLR"}], milestones=[3])
    with pytest.raises(ParameterError, match="mode must be one of"):
        make_schedule("CyclicLR", base_lr=0.1, max_lr=1, mode="sawtooth")
    with pytest.raises(ParameterError, match="keeps no state"):
        make_schedule("StepLR", step_size=2).restore({"lr": 1.0})


def test_plateau_sees_the_loss_of_a_step_from_the_next_step_on():
    sched = ReduceLROnPlateau(factor=0.5, patience=1)
    assert sched.lr(0, 1.0) == 1.0
    for t, f in enumerate([3.0, 3.0, 3.0]):
        assert sched.lr(t, 1.0) == 1.0   # the third equal loss is the second bad one
        sched.observe(t, np.array([f]))
    assert sched.state()["num_bad_epochs"] == 1  # the loss of step 2 is not in effect yet
    assert sched.lr(3, 1.0) == 0.5
    # many starts share one rate: the metric is the mean of the finite values
    many = ReduceLROnPlateau(patience=0, mode="max")
    many.lr(0, 1.0)
    many.observe(0, np.array([1.0, 3.0, np.inf, np.nan]))
    many.lr(1, 1.0)
    assert many.best == 2.0


def test_plateau_in_minimize_reduces_the_rate():
    sched = make_schedule({"name": "ReduceLROnPlateau", "factor": 0.5, "patience": 2,
                           "threshold": 0.3})
    runs = [gdlab.minimize("x^2 + 10*y^2", x0=[3, 1], optimizer="sgd", lr=0.099,
                           max_iter=300, eps=None, schedule=sched) for _ in range(2)]
    lrs = np.asarray(runs[0].history.lr)
    assert lrs[0] == 0.099 and lrs[-1] == 0.099 / 2
    assert np.all(np.diff(lrs) <= 0)
    # the same object in a second run starts afresh
    np.testing.assert_array_equal(runs[1].history.lr, lrs)


# --- ReduceLROnPlateau's state in training checkpoints ----------------------------------------

def _problem():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 + 0.8 * rng.normal(size=120)
    return LinearLoss(3), X, y


def _run(ckpt=None, resume=None, halt_at=None, schedule=None):
    obj, X, y = _problem()
    cbs = (lambda info: "halt" if info.step == halt_at else None,) if halt_at else ()
    sched = schedule or ReduceLROnPlateau(factor=0.5, patience=4, threshold=0.02, cooldown=2)
    return train(obj, obj.init_params(), ArrayStream(X, y, batch_size=10, seed=1),
                 SGD(lr=0.08, momentum=0.5), schedule=sched, epochs=12, tol=None,
                 checkpoint=ckpt, checkpoint_every=5 if ckpt else 0, resume=resume,
                 callbacks=cbs)


@pytest.mark.parametrize("halts", [(23,), (61,), (12, 47, 90)])
def test_plateau_state_survives_checkpoints(tmp_path, halts):
    ref = _run()
    assert len(set(ref.history["lr"])) >= 3   # the rate was cut more than once
    ckpt = str(tmp_path / "plateau.gdlab")
    resume = None
    for h in halts:  # every run builds its own schedule, as a new process would
        part = _run(ckpt=ckpt, resume=resume, halt_at=h)
        assert part.reason == "stopped early: halt"
        resume = ckpt
    meta, arrays = load_checkpoint(ckpt)
    assert meta["schedule_keys"] == ["lr", "best", "num_bad_epochs", "cooldown_counter",
                                     "last_epoch"]
    assert arrays["schedule_state"].shape == (5,)
    res = _run(ckpt=ckpt, resume=ckpt)
    np.testing.assert_array_equal(res.params, ref.params)
    assert res.history["lr"] == ref.history["lr"] and res.n_steps == ref.n_steps


def test_pure_schedules_write_no_schedule_state(tmp_path):
    ckpt = str(tmp_path / "step.gdlab")
    _run(ckpt=ckpt, halt_at=30, schedule=make_schedule("StepLR", step_size=7))
    meta, arrays = load_checkpoint(ckpt)
    assert meta["schedule_keys"] == [] and "schedule_state" not in arrays


def test_schedule_base_defaults():
    class Half(Schedule):
        def lr(self, t, base_lr):
            return base_lr / 2

    h = Half()
    assert h.rate_only and h.momentum(3) is None and h.state() == {}
    assert h.observe(0, np.zeros(1)) is None
