"""Adam and AdamW as one compiled pass per step (the optional extra ``fast``: numba).

:class:`~gdlab.optim.rules.Adam` mirrors ``torch.optim.Adam`` operation for operation: about
thirteen NumPy passes over the parameters per step (the lerp of the first moment, the
second moment, the bias corrections, the square root, the division, the update), each
reading and writing whole arrays. On a model of a few hundred thousand parameters those
passes, not the arithmetic, are the cost. :class:`FusedAdam` computes the same operations
element by element in one pass of :func:`gdlab.kernels.adam_kernel` (read p, g, m, v once,
write p, m, v once), with every scalar rounded to the parameters' dtype as NumPy rounds a
Python float against a float32 array and without fast-math, so the parameters and the state
are the NumPy rule's **to the bit** (``tests/test_fused.py``); it supports every option of
Adam (``weight_decay``, decoupled as AdamW, ``amsgrad``, ``maximize``, a scheduled beta1).

It is the same rule otherwise (a subclass: name, hyper-parameters, ``config()``, state and
checkpoints are Adam's), and it takes the NumPy step whenever the kernel does not apply:
numba not installed, arrays that are not C-contiguous or not of one float dtype, or a NumPy
scalar rate against float32 parameters (which NumPy would compute in float64).

:func:`make_fused` is how training chooses it, as :func:`gdlab.optim.online.make_sweep`
chooses the compiled online sweep: :func:`gdlab.train.train` trains with the fused copy of
an ``Adam``/``AdamW`` rule when numba is installed (not with ``compiled=False``). The loop
sees an ordinary rule (the stepper protocol of :mod:`gdlab.optim.stepper` is unchanged).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import kernels
from ..errors import ParameterError
from .rules import Adam, AdamW
from .stepper import State

__all__ = ["FusedAdam", "FusedAdamW", "make_fused"]



class FusedAdam(Adam):
    """:class:`~gdlab.optim.rules.Adam` with its step in one compiled pass (see the module
    docstring); the NumPy step where the kernel does not apply."""

    def step(self, params, grad, state, lr, momentum=None):
        kernel = kernels.adam_kernel()
        flat = _flat_arrays(self, params, grad, state, lr, momentum)
        if kernel is None or flat is None:
            return super().step(params, grad, state, lr, momentum=momentum)
        p, g, m, v, vmax = flat
        beta1, beta2 = self.betas
        if momentum is not None:
            beta1 = momentum
        state["step"] += 1
        t = state["step"]
        wd = self.weight_decay
        decoupled = self.decoupled and wd != 0
        w = 1 - beta1  # torch's lerp weight, split at 0.5 as base.lerp does
        T = params.dtype.type  # the scalars as NumPy casts a Python float: to the dtype
        kernel(p, g, m, v, vmax, 0, p.shape[0], T(-1.0 if self.maximize else 1.0),
               wd != 0 and not self.decoupled, T(wd), T(1 - lr * wd if decoupled else 1.0),
               abs(w) < 0.5, T(w), T(1 - w), T(beta2), T(1 - beta2),
               T((1 - beta2 ** t) ** 0.5), T(self.eps), T(-(lr / (1 - beta1 ** t))),
               self.amsgrad)
        return None


class FusedAdamW(FusedAdam, AdamW):
    """:class:`~gdlab.optim.rules.AdamW` (decoupled weight decay) with the fused step."""


def _flat_arrays(rule: Adam, params: Any, grad: Any, state: State, lr: Any,
                 momentum: Any) -> list[np.ndarray] | None:
    """``[p, g, m, v, vmax]`` as flat views (``vmax`` is ``v`` without amsgrad), or ``None``
    when the kernel does not apply (see the module docstring)."""
    keys = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq") if rule.amsgrad else (
        "exp_avg", "exp_avg_sq")
    arrays = [params, grad, *(state.get(k) for k in keys)]
    dt = getattr(params, "dtype", None)
    if dt not in kernels.FLOAT_DTYPES:
        return None
    for a in arrays:
        if not isinstance(a, np.ndarray) or a.dtype != dt or a.shape != params.shape \
                or not a.flags.c_contiguous:
            return None
    # NumPy computes float32 ⊗ (a NumPy float64 scalar) in float64: not the kernel's rounding
    if dt == np.float32 and any(isinstance(s, np.generic) for s in (lr, momentum)):
        return None
    flat = [a.reshape(-1) for a in arrays]
    if not rule.amsgrad:
        flat.append(flat[3])
    return flat


def make_fused(rule: Any, *, required: bool = False) -> FusedAdam | None:
    """The fused copy of ``rule`` (same settings, same state) when ``rule`` is exactly an
    :class:`~gdlab.optim.rules.Adam` or :class:`~gdlab.optim.rules.AdamW` and numba is
    installed, else ``None`` (``required``: raise instead, naming why)."""
    cls = {Adam: FusedAdam, AdamW: FusedAdamW}.get(type(rule))
    why = None
    if cls is None:
        why = f"the fused step is for adam and adamw, not {getattr(rule, 'name', rule)!r}"
    elif not kernels.numba_available():
        why = "the fused Adam step needs numba: pip install 'gdlab[fast]'"
    if why is not None:
        if required:
            raise ParameterError(why)
        return None
    assert cls is not None  # (else why says so)
    fused = cls.__new__(cls)
    fused.__dict__.update(rule.__getstate__())
    return fused
