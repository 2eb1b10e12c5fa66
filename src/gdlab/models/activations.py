"""Activation functions of the data models, with their derivatives.

The elementwise functions are stable for any real input (no overflow warnings), keep a
floating dtype (float32 in gives float32 out; integers give float64) and work on arrays of
any shape. :data:`ACTIVATIONS` maps each hidden-layer activation of the MLP to an
:class:`Activation`: the function and its derivative, and the in-place forms that
:class:`~gdlab.models.mlp.MLPLoss` uses in its forward and backward passes.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.special import expit as _expit
from scipy.special import log_expit as _log_expit

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "identity",
    "identity_derivative",
    "log_sigmoid",
    "log_softmax",
    "relu",
    "relu_derivative",
    "sigmoid",
    "sigmoid_derivative",
    "softmax",
    "softplus",
    "tanh",
    "tanh_derivative",
]


# ---------------------------------------------------------------------------
# Elementwise functions (stable, dtype preserving, no overflow warnings)
# ---------------------------------------------------------------------------

def _float_array(z) -> np.ndarray:
    z = np.asarray(z)
    if z.dtype.kind != "f":
        z = z.astype(np.float64)
    return z


def sigmoid(z):
    """Logistic function σ(z) = 1 / (1 + e^(−z)), stable for any real z.

    Never overflows (σ(−1000) = 0, σ(1000) = 1 without warnings); float32 in
    gives float32 out, integers give float64.
    """
    return _expit(_float_array(z))


def sigmoid_derivative(z):
    """σ'(z) = σ(z)·(1 − σ(z))."""
    s = sigmoid(z)
    return s * (1 - s)


def log_sigmoid(z):
    """log σ(z) = −log(1 + e^(−z)), stable (log_sigmoid(−1000) = −1000)."""
    return _log_expit(_float_array(z))


def softplus(z):
    """softplus(z) = log(1 + e^z) = −log σ(−z), stable for any real z."""
    return -_log_expit(-_float_array(z))


def relu(z):
    """ReLU(z) = max(z, 0)."""
    z = _float_array(z)
    return np.maximum(z, 0)


def relu_derivative(z):
    """ReLU'(z) = 1 if z > 0 else 0 (the value 0 is used at the kink z = 0)."""
    z = _float_array(z)
    return (z > 0).astype(z.dtype)


def tanh(z):
    """Hyperbolic tangent."""
    return np.tanh(_float_array(z))


def tanh_derivative(z):
    """tanh'(z) = 1 − tanh²(z)."""
    t = np.tanh(_float_array(z))
    return 1 - t * t


def identity(z):
    """Identity activation, f(z) = z (returns a float array, possibly the input)."""
    return _float_array(z)


def identity_derivative(z):
    """f'(z) = 1."""
    return np.ones_like(_float_array(z))


def softmax(z, axis: int = -1):
    """Softmax along ``axis``: exp(z − max z) / Σ exp(z − max z).

    Subtracting the maximum makes it exact for huge logits (±1000) with no
    overflow; underflow of tiny probabilities to 0 is silent.
    """
    z = _float_array(z)
    with np.errstate(under="ignore"):
        e = z - z.max(axis=axis, keepdims=True)
        np.exp(e, out=e)
        e /= e.sum(axis=axis, keepdims=True)
    return e


def log_softmax(z, axis: int = -1):
    """log softmax(z) = z − logsumexp(z), computed stably (log-sum-exp trick)."""
    z = _float_array(z)
    with np.errstate(under="ignore"):
        shifted = z - z.max(axis=axis, keepdims=True)
        lse = np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    shifted -= lse
    return shifted


# In-place forms used by the MLP.  The derivative is expressed through the
# activation's OUTPUT a = f(z) (which is what the forward pass keeps), and it
# multiplies ``delta`` in place, destroying ``a`` (no temporaries):
#   relu:    f'(z) = sign(a)            (a >= 0)
#   sigmoid: f'(z) = a·(1 − a)
#   tanh:    f'(z) = 1 − a²
def _relu_inplace(z):
    # the maximum against a row of zeros: numpy's maximum with a scalar operand is not
    # vectorized and takes ~3x as long on float32
    np.maximum(z, np.zeros(z.shape[-1:], z.dtype), out=z)


def _sigmoid_inplace(z):
    _expit(z, out=z)


def _tanh_inplace(z):
    np.tanh(z, out=z)


def _identity_inplace(z):
    pass


def _relu_backward(delta, a):
    # relu'(z) = [a > 0]; a boolean mask multiplies ~20x faster than np.sign on float32
    np.multiply(delta, a > 0, out=delta)


def _sigmoid_backward(delta, a):
    delta *= a
    np.subtract(1, a, out=a)
    delta *= a


def _tanh_backward(delta, a):
    np.square(a, out=a)
    np.subtract(1, a, out=a)
    delta *= a


def _identity_backward(delta, a):
    pass


class Activation(NamedTuple):
    """An activation function with its derivative (both functions of z).

    ``inplace(z)`` overwrites z with f(z); ``backward(delta, a)`` multiplies
    delta in place by f'(z) given the output a = f(z) (and destroys a).
    """

    name: str
    function: object
    derivative: object
    inplace: object
    backward: object


ACTIVATIONS: dict[str, Activation] = {
    "relu": Activation("relu", relu, relu_derivative, _relu_inplace, _relu_backward),
    "sigmoid": Activation("sigmoid", sigmoid, sigmoid_derivative, _sigmoid_inplace,
                          _sigmoid_backward),
    "tanh": Activation("tanh", tanh, tanh_derivative, _tanh_inplace, _tanh_backward),
    "identity": Activation("identity", identity, identity_derivative, _identity_inplace,
                           _identity_backward),
}
_ACTIVATION_ALIASES = {"logistic": "sigmoid"}  # scikit-learn's name
