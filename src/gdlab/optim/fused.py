"""Update rules with the step in one compiled pass (the optional extra ``fast``: numba).

:class:`~gdlab.optim.rules.Adam` mirrors ``torch.optim.Adam`` operation for operation: about
thirteen NumPy passes over the parameters per step (the lerp of the first moment, the
second moment, the bias corrections, the square root, the division, the update), each
reading and writing whole arrays; SGD with momentum makes five, RMSprop eight, Adagrad
six. On a model of a few hundred thousand parameters those passes, not the arithmetic,
are the cost; on the playground's few rows of two values, NumPy's cost per call is. The
fused rules compute the same operations element by element in one compiled pass
(:func:`gdlab.kernels.adam_kernel`, :func:`gdlab.kernels.step_kernels`: read the
parameters, the gradient and the state once, write them once), with every scalar rounded
to the parameters' dtype as NumPy rounds a Python float against a float32 array and
without fast-math, so the parameters and the state are the NumPy rule's **to the bit**
(``tests/test_fused.py``), with every option (weight decay, ``maximize``, Adam's
``amsgrad`` and decoupled decay as AdamW, SGD's dampening and Nesterov momentum, RMSprop's
centered form and momentum, Adagrad's ``lr_decay``, a scheduled momentum or beta1).

Each is the same rule otherwise (a subclass: name, hyper-parameters, ``config()``, state
and checkpoints are the rule's), and it takes the NumPy step whenever the kernel does not
apply: numba not installed, arrays that are not C-contiguous or not all of one float dtype
and shape, a NumPy scalar rate against float32 parameters (which NumPy would compute in
float64), or a momentum buffer a schedule switches on (NumPy's step creates it).

:func:`make_fused` is how training and the playground choose them, as
:func:`gdlab.optim.online.make_sweep` chooses the compiled online sweep:
:func:`gdlab.train.train` trains with the fused copy of a rule when numba is installed
(not with ``compiled=False``), and :mod:`gdlab.serve.explore` races with them. The loop
sees an ordinary rule (the stepper protocol of :mod:`gdlab.optim.stepper` is unchanged).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import kernels
from ..errors import ParameterError
from .base import Rule
from .rules import SGD, Adagrad, Adam, AdamW, RMSprop
from .stepper import State

__all__ = ["Fused", "FusedAdagrad", "FusedAdam", "FusedAdamW", "FusedRMSprop", "FusedSGD",
           "make_fused", "prepare"]


class Fused:
    """The step of every fused rule: the kernel when it applies, else the NumPy rule's step
    (the next class in the method order). A fused rule says which state arrays its kernel
    takes (``arrays``) and computes the kernel's scalars for one step (``scalars``); the
    playground's :class:`gdlab.serve.mixed.Mixed` uses the same two to step all its fused
    groups in one call of :func:`gdlab.kernels.mixed_kernel`, where ``code`` names the
    rule."""

    code = -1
    #: its kernel's name in :func:`gdlab.kernels.step_kernels` (Adam's is ``adam_kernel``)
    step_kernel = ""

    def kernel(self) -> Any:
        k = kernels.step_kernels()
        return None if k is None else getattr(k, self.step_kernel)

    def arrays(self, state: State, momentum: Any) -> tuple[Any, ...] | None:
        """The state arrays the kernel takes, in its order (``None`` for one it does not
        use: any array of the parameters' shape will do), or ``None`` when the kernel
        cannot take this step (a momentum buffer that NumPy's step creates)."""
        raise NotImplementedError

    def scalars(self, state: State, lr: Any, momentum: Any, T: Callable[[Any], Any]
                ) -> tuple[Any, ...]:
        """The kernel's scalars for this step, cast by ``T``; counts the step in ``state``."""
        raise NotImplementedError

    def step(self, params, grad, state, lr, momentum=None):
        kernel = self.kernel()
        arrays = None if kernel is None else self.arrays(state, momentum)
        T = None
        if arrays is not None:
            arrays = tuple(params if a is None else a for a in arrays)
            T = _cast(params, (grad, *arrays), lr, momentum)
        if T is None:
            if momentum is None:  # (Adagrad's step takes no momentum)
                return super().step(params, grad, state, lr)
            return super().step(params, grad, state, lr, momentum=momentum)
        assert arrays is not None
        self._call(kernel, params, grad, arrays, self.scalars(state, lr, momentum, T))
        return None

    def _call(self, kernel: Any, params: Any, grad: Any, arrays: tuple[Any, ...],
              scalars: tuple[Any, ...]) -> None:
        kernel(params, grad, *arrays, *scalars)


class FusedAdam(Fused, Adam):
    """:class:`~gdlab.optim.rules.Adam` with its step in one compiled pass (see the module
    docstring); the NumPy step where the kernel does not apply."""

    code = 1

    def kernel(self) -> Any:
        return kernels.adam_kernel()

    def arrays(self, state, momentum):
        v = state["exp_avg_sq"]
        vmax = state.get("max_exp_avg_sq") if self.amsgrad else v
        return None if vmax is None else (state["exp_avg"], v, vmax)

    def scalars(self, state, lr, momentum, T):
        beta1, beta2 = self.betas
        if momentum is not None:
            beta1 = momentum
        state["step"] += 1
        t = state["step"]
        wd = self.weight_decay
        decoupled = self.decoupled and wd != 0
        w = 1 - beta1  # torch's lerp weight, split at 0.5 as base.lerp does
        return (T(-1.0 if self.maximize else 1.0), wd != 0 and not self.decoupled, T(wd),
                T(1 - lr * wd if decoupled else 1.0), abs(w) < 0.5, T(w), T(1 - w), T(beta2),
                T(1 - beta2), T((1 - beta2 ** t) ** 0.5), T(self.eps),
                T(-(lr / (1 - beta1 ** t))), self.amsgrad)

    def _call(self, kernel, params, grad, arrays, scalars):
        kernel(params, grad, *arrays, 0, params.size, *scalars)  # the whole range


class FusedAdamW(FusedAdam, AdamW):
    """:class:`~gdlab.optim.rules.AdamW` (decoupled weight decay) with the fused step."""


class FusedSGD(Fused, SGD):
    """:class:`~gdlab.optim.rules.SGD` (plain, momentum, Nesterov) with the fused step."""

    code = 0
    step_kernel = "sgd"

    def arrays(self, state, momentum):
        if (self.momentum if momentum is None else momentum) == 0:
            return (None,)
        buf = state.get("momentum_buffer")
        return None if buf is None else (buf,)

    def scalars(self, state, lr, momentum, T):
        mu = self.momentum if momentum is None else momentum
        mode = 0 if mu == 0 else 1 if state["step"] == 0 else 2  # none, b ← g, b ← μb + ...
        state["step"] += 1
        wd = self.weight_decay
        return (self.maximize, wd != 0, T(wd), mode, T(mu), T(1 - self.dampening),
                self.nesterov, T(lr))


class FusedRMSprop(Fused, RMSprop):
    """:class:`~gdlab.optim.rules.RMSprop` (centered, momentum) with the fused step."""

    code = 2
    step_kernel = "rmsprop"

    def arrays(self, state, momentum):
        mu = self.momentum if momentum is None else momentum
        ga = state.get("grad_avg") if self.centered else False
        buf = state.get("momentum_buffer") if mu > 0 else False
        if ga is None or buf is None:
            return None
        return (state["square_avg"], ga if self.centered else None, buf if mu > 0 else None)

    def scalars(self, state, lr, momentum, T):
        mu = self.momentum if momentum is None else momentum
        state["step"] += 1
        wd, w = self.weight_decay, 1 - self.alpha  # w: the centered average's lerp weight
        return (self.maximize, wd != 0, T(wd), T(self.alpha), T(1 - self.alpha),
                self.centered, abs(w) < 0.5, T(w), T(1 - w), T(self.eps), mu > 0, T(mu),
                T(lr), T(-lr))


class FusedAdagrad(Fused, Adagrad):
    """:class:`~gdlab.optim.rules.Adagrad` with the fused step."""

    code = 3
    step_kernel = "adagrad"

    def arrays(self, state, momentum):
        return (state["sum"],)

    def scalars(self, state, lr, momentum, T):
        state["step"] += 1
        clr = lr / (1 + (state["step"] - 1) * self.lr_decay)
        wd = self.weight_decay
        return (self.maximize, wd != 0, T(wd), T(self.eps), T(-clr))


def _cast(params: Any, arrays: tuple[Any, ...], lr: Any, momentum: Any
          ) -> Callable[[Any], Any] | None:
    """The type the kernel's scalars take (the parameters' dtype, as NumPy casts a Python
    float against the array), or ``None`` when the kernel does not apply (see the module
    docstring): ``params`` and ``arrays`` must be C-contiguous arrays of one float dtype
    and shape."""
    dt = getattr(params, "dtype", None)
    T = _SCALARS.get(dt)  # type: ignore[arg-type]
    if T is None or not params.flags.c_contiguous:
        return None
    shape = params.shape
    for a in arrays:
        if not isinstance(a, np.ndarray) or a.dtype != dt or a.shape != shape \
                or not a.flags.c_contiguous:
            return None
    # NumPy computes float32 ⊗ (a NumPy float64 scalar) in float64: not the kernel's rounding
    if T is np.float32 and (isinstance(lr, np.generic) or isinstance(momentum, np.generic)):
        return None
    return T


#: the scalars' type for each dtype the kernels take (a Python float is a float64)
_SCALARS: dict[np.dtype, Callable[[Any], Any]] = {
    np.dtype(name): float if name == "float64" else np.dtype(name).type
    for name in kernels.FLOAT_DTYPES}


_FUSED: dict[type[Rule], type[Rule]] = {Adam: FusedAdam, AdamW: FusedAdamW, SGD: FusedSGD,
                            RMSprop: FusedRMSprop, Adagrad: FusedAdagrad}


def make_fused(rule: Any, *, required: bool = False) -> Rule | None:
    """The fused copy of ``rule`` (same settings, same state) when ``rule`` is exactly an
    :class:`~gdlab.optim.rules.Adam`, ``AdamW``, ``SGD``, ``RMSprop`` or ``Adagrad`` and
    numba is installed, else ``None`` (``required``: raise instead, naming why)."""
    cls = _FUSED.get(type(rule))
    why = None
    if cls is None:
        why = (f"the fused step is for {', '.join(c.name for c in _FUSED)}, "
               f"not {getattr(rule, 'name', rule)!r}")
    elif not kernels.numba_available():
        why = "the fused steps need numba: pip install 'gdlab[fast]'"
    if why is not None:
        if required:
            raise ParameterError(why)
        return None
    assert cls is not None  # (else why says so)
    fused = cls.__new__(cls)
    fused.__dict__.update(rule.__getstate__())
    return fused


def prepare(shape: tuple[int, ...] = (1, 2), dtype: Any = np.float64) -> bool:
    """Compile the fused steps for C-contiguous arrays of ``shape``'s dimensions and
    ``dtype`` now (or load them from numba's cache on disk: about a second, against several
    the first time on a machine), so that the first run that needs them does not wait:
    one step of each rule on zeros. ``False`` without numba. The playground's server calls
    it while the browser opens (through :func:`gdlab.serve.mixed.prepare`)."""
    if not kernels.numba_available():
        return False
    for rule in (Adam(), SGD(), RMSprop(), Adagrad()):
        fused = make_fused(rule, required=True)
        assert fused is not None
        p = np.zeros(shape, dtype=dtype)
        fused.step(p, np.zeros_like(p), fused.init(p), 1e-3)
    return True
