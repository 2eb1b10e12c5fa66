"""The multi-layer perceptron's loss: a fully connected network trained by backpropagation.

:class:`MLPLoss` is softmax cross-entropy (classification) or half the squared error
(regression) of a network with hidden layers of one activation
(:data:`~gdlab.models.activations.ACTIVATIONS`), on the flat parameters of
:class:`~gdlab.models.loss.ModelLoss` (all weights first, then all biases).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence

import numpy as np

from gdlab import checks, kernels
from gdlab.errors import DataError, ParameterError

from .activations import _ACTIVATION_ALIASES, ACTIVATIONS
from .loss import (
    ModelLoss,
    _as_class_targets,
    _as_real_targets,
    _as_X,
    _softmax_xent_inplace,
    _softmax_xent_value,
)

__all__ = ["MLPLoss"]

_TASKS = ("classification", "regression")


class MLPLoss(ModelLoss):
    r"""Fully connected network trained by backpropagation (chain rule, layer by layer).

    ``layer_sizes = [n_in, h₁, …, h_{L−1}, n_out]`` gives L weight layers
    W_l (shape (size_{l−1}, size_l), so z = a @ W + b, as scikit-learn's
    ``coefs_``) and biases b_l.  Forward pass, with a₀ = X::

        z_l = a_{l−1} W_l + b_l,   a_l = f(z_l)  (l < L, f = the activation)
        z_L = a_{L−1} W_L + b_L

    Output and loss (means over the n rows of the batch):

    * ``task="classification"``: P = softmax(z_L), n_out = number of classes
      (a binary problem uses 2 outputs), integer labels 0..n_out−1 (or one-hot
      rows)::  L = (1/n)·Σᵢ −log P_{i,yᵢ}
    * ``task="regression"``: ŷ = z_L (identity), y of shape (n,) or (n, n_out)::
      L = (1/(2n))·Σᵢ ‖ŷᵢ − yᵢ‖²  — half the squared error, summed over the
      outputs and averaged over the samples.  For one output this is exactly
      scikit-learn's MLPRegressor ``squared_error`` (½·mean((ŷ−y)²)); for
      several outputs sklearn's reported loss is additionally divided by n_out
      while its gradient matches this definition.

    Penalty: ``(l2/2)·Σ_l ‖W_l‖²_F`` on the weights only (not the biases),
    added once per batch, independent of the batch size.  scikit-learn's MLP
    adds ``alpha/(2·n_batch)·Σ‖W‖²`` instead, so for full-batch training
    ``alpha = l2·n`` gives the same loss.

    Backward pass (δ_l = ∂L/∂z_l)::

        δ_L = (P − Y)/n  (classification)   or   (ŷ − y)/n  (regression)
        ∇W_l = a_{l−1}ᵀ δ_l + l2·W_l,      ∇b_l = Σᵢ δ_l,i
        δ_{l−1} = (δ_l W_lᵀ) ⊙ f'(z_{l−1})

    with f' taken from the stored activations: relu' = [a > 0],
    sigmoid' = a(1 − a), tanh' = 1 − a².

    Initialization (``init_params``), biases 0, weights uniform on [−r, r]:

    * layers into a relu (He/Kaiming uniform): r = sqrt(6 / fan_in)
    * layers into sigmoid, tanh, identity, and the output layer (Glorot/Xavier uniform):
      r = sqrt(6 / (fan_in + fan_out))

    Memory layout: all weights W1, W2, …, W_L first (each C-contiguous,
    row-major (in, out)), then all biases b1, …, b_L, so ``params[obj.penalized]``
    is exactly the penalized weights.  :meth:`views` returns them in the order
    W1, b1, W2, b2, ….

    The gradient pass keeps per-thread work buffers for the last few batch
    sizes (activations and deltas), so repeated calls with the same batch
    size allocate almost nothing besides the returned gradient (pass ``out``
    to avoid that too).
    """

    _MAX_WORKSPACES = 4

    def __init__(self, layer_sizes: Sequence[int], activation: str = "relu",
                 task: str = "classification", l2: float = 0.0):
        if isinstance(layer_sizes, (str, bytes)) or not isinstance(layer_sizes, Sequence):
            raise ParameterError("layer_sizes must be a list of integers such as "
                                 f"[n_in, 64, n_out], got {layer_sizes!r}")
        if len(layer_sizes) < 2:
            raise ParameterError("layer_sizes needs at least the input and output sizes, "
                                 f"got {list(layer_sizes)}")
        sizes = [checks.count(f"layer_sizes[{i}]", s, minimum=1)
                 for i, s in enumerate(layer_sizes)]
        act = checks.choice("activation", activation, ACTIVATIONS, aliases=_ACTIVATION_ALIASES)
        task = checks.choice("task", task, _TASKS)
        if task == "classification" and sizes[-1] < 2:
            raise ParameterError("classification needs at least 2 outputs (one per class); "
                                 "use 2 outputs for a binary problem")
        self.layer_sizes = sizes
        self.activation = act
        self.task = task
        self.l2 = checks.number("l2", l2, low=0)
        self.n_features = sizes[0]
        self.n_outputs = sizes[-1]
        self.n_layers = len(sizes) - 1
        self._act = ACTIVATIONS[act]
        layers = range(self.n_layers)
        layout: list[tuple[str, tuple[int, ...]]] = [
            (f"W{layer + 1}", (sizes[layer], sizes[layer + 1])) for layer in layers]
        layout += [(f"b{layer + 1}", (sizes[layer + 1],)) for layer in layers]
        order = [name for layer in layers for name in (f"W{layer + 1}", f"b{layer + 1}")]
        self._set_layout(layout, order)
        n_w = sum(sizes[layer] * sizes[layer + 1] for layer in layers)
        self.penalized = slice(0, n_w)
        # (offset, shape) of each weight and bias, for fast slicing
        self._w_slices = [self._offsets[f"W{layer + 1}"] for layer in layers]
        self._b_slices = [self._offsets[f"b{layer + 1}"] for layer in layers]
        self._local = threading.local()

    def __repr__(self) -> str:
        return (f"MLPLoss(layer_sizes={self.layer_sizes}, activation={self.activation!r}, "
                f"task={self.task!r}, l2={self.l2})")

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_local", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._local = threading.local()

    # -- parameters ----------------------------------------------------------
    def _layers(self, p):
        """[(W_l, b_l)] as views into p."""
        out = []
        for (wo, ws), (bo, bs) in zip(self._w_slices, self._b_slices):
            out.append((p[wo:wo + ws[0] * ws[1]].reshape(ws), p[bo:bo + bs[0]]))
        return out

    def layers(self, params) -> list[tuple[np.ndarray, np.ndarray]]:
        """[(W1, b1), (W2, b2), …] as views into ``params``."""
        v = self.views(params)
        return [(v[f"W{layer + 1}"], v[f"b{layer + 1}"]) for layer in range(self.n_layers)]

    def init_bounds(self) -> list[float]:
        """The uniform init bound r of each weight matrix (see the class docstring)."""
        bounds = []
        for layer in range(self.n_layers):
            fan_in, fan_out = self.layer_sizes[layer], self.layer_sizes[layer + 1]
            # He for layers that feed a ReLU; the output layer feeds softmax or nothing, so
            # Glorot keeps the first logits small (initial loss near log(K))
            if self.activation == "relu" and layer < self.n_layers - 1:
                bounds.append(math.sqrt(6.0 / fan_in))
            else:
                bounds.append(math.sqrt(6.0 / (fan_in + fan_out)))
        return bounds

    def init_params(self, rng=None, dtype=np.float64) -> np.ndarray:
        """He-uniform (layers into a relu) or Glorot-uniform (others, and the output layer)
        weights, zero biases."""
        rng = checks.rng("rng", rng)
        dt = checks.float_dtype("dtype", dtype)
        p = np.zeros(self.n_params, dtype=dt)
        for (W, _), r in zip(self._layers(p), self.init_bounds()):
            W[...] = rng.uniform(-r, r, size=W.shape)
        return p

    # -- workspace -------------------------------------------------------------
    def _workspace(self, n, dtype):
        cache = getattr(self._local, "cache", None)
        if cache is None:
            cache = self._local.cache = {}
        key = (n, dtype.str)
        ws = cache.get(key)
        if ws is None:
            if len(cache) >= self._MAX_WORKSPACES:
                cache.clear()
            acts = [np.empty((n, s), dtype=dtype) for s in self.layer_sizes[1:]]
            deltas = [np.empty((n, s), dtype=dtype) for s in self.layer_sizes[1:-1]]
            ones = np.ones(n, dtype=dtype)  # bias gradients: ones @ delta (see below)
            gb = np.empty(self.n_outputs, dtype=dtype)  # the compiled loss's bias gradient
            ws = cache[key] = (acts, deltas, ones, gb)
        return ws

    # -- forward / backward -----------------------------------------------------
    def _forward_into(self, layers, X, acts, kern=None, last_bias=True):
        """Fill acts[l] with a_{l+1}; the last entry holds the raw output z_L (without b_L
        when not ``last_bias``: the compiled loss adds it). With the compiled passes
        ``kern``, a ReLU layer's bias and activation are one pass."""
        a = X
        last = self.n_layers - 1
        act = self._act.inplace
        relu = kern is not None and self.activation == "relu"
        for layer, (W, b) in enumerate(layers):
            z = np.matmul(a, W, out=acts[layer])
            if layer < last:
                if relu:
                    kern.bias_relu(z, b)
                else:
                    z += b
                    act(z)
            elif last_bias:
                z += b
            a = z
        return acts

    def _targets(self, y, n, dtype):
        if self.task == "classification":
            return _as_class_targets(y, n, self.n_outputs, dtype)
        return "real", _as_real_targets(y, n, self.n_outputs, dtype)

    def _labels(self, y, n):
        """Class labels for the compiled loss (intp, or the float labels as they are), or
        ``None`` for other targets (one-hot rows, regression). The kernel checks that each
        is one of 0..K−1 and reports the first that is not."""
        if self.task != "classification" or not isinstance(y, np.ndarray) or y.ndim != 1 \
                or y.shape[0] != n or y.dtype.kind not in "iuf":
            return None
        if y.dtype.kind == "f":
            return y if y.dtype in (np.float32, np.float64) else None
        return y if y.dtype == np.intp else y.astype(np.intp)

    def _compiled_loss(self, kern, out, b, labels, y, gb):
        """The compiled softmax cross-entropy on logits ``out`` + ``b`` (δ in place, ``gb``
        its bias gradient); a label out of range raises the loss's own error."""
        L, bad = kern.softmax_xent(out, b, labels, gb)
        if bad >= 0:
            _as_class_targets(y, out.shape[0], self.n_outputs, out.dtype)  # raises
            raise DataError(f"class label {labels[bad]} at position {bad} is not one of "
                            f"0..{self.n_outputs - 1}")
        return L

    def _value_and_grad(self, p, X, y, g):
        kern = kernels.mlp_kernels()
        if kern is not None:
            return self._value_and_grad_compiled(kern, p, X, y, g)
        n = X.shape[0]
        layers = self._layers(p)
        glayers = self._layers(g)
        acts, dbufs, ones, _ = self._workspace(n, p.dtype)
        self._forward_into(layers, X, acts)
        out = acts[-1]
        L = self._output_delta(out, y, n, p.dtype)
        delta = out
        backward = self._act.backward
        for layer in range(self.n_layers - 1, -1, -1):
            gW, gb = glayers[layer]
            a_prev = X if layer == 0 else acts[layer - 1]
            np.matmul(a_prev.T, delta, out=gW)
            # Σᵢ δ_l,i as a BLAS product: ~3x as fast as np.sum(delta, axis=0) on a batch
            np.matmul(ones, delta, out=gb)
            if layer > 0:
                W = layers[layer][0]
                d_prev = np.matmul(delta, W.T, out=dbufs[layer - 1])
                backward(d_prev, a_prev)      # ⊙ f'(z_{l−1}); destroys a_prev
                delta = d_prev
        return self._penalized(p, g, L)

    def _output_delta(self, out, y, n, dtype):
        """The batch's mean loss from the network's output ``out``, which becomes δ_L (the
        loss's gradient with respect to the output's pre-activation) in place: half the
        mean squared error for real targets, softmax cross-entropy for classes."""
        kind, Y = self._targets(y, n, dtype)
        if kind == "real":
            out -= Y
            flat = out.reshape(-1)
            L = np.dot(flat, flat) / (2 * n)
            out *= 1 / n
            return L
        return _softmax_xent_inplace(out, kind, Y, n)

    def _value_and_grad_compiled(self, kern, p, X, y, g):  # noqa: C901 - one pass, spelled out
        """:meth:`_value_and_grad` with the compiled elementwise passes of
        :func:`gdlab.kernels.mlp_kernels` around the same BLAS products: bias + ReLU in one
        pass; the softmax, the loss, δ_L and ∇b_L in one pass over the logits; δ ⊙ [a > 0]
        and that layer's ∇b in one pass; the L2 penalty and its gradient in one pass over
        each weight matrix, right after its gradient product (while it is in cache)."""
        n = X.shape[0]
        labels = self._labels(y, n)
        layers = self._layers(p)
        glayers = self._layers(g)
        acts, dbufs, ones, _ = self._workspace(n, p.dtype)
        self._forward_into(layers, X, acts, kern, last_bias=labels is None)
        out = acts[-1]
        if labels is not None:
            L = self._compiled_loss(kern, out, layers[-1][1], labels, y, glayers[-1][1])
        else:
            L = self._output_delta(out, y, n, p.dtype)
            np.matmul(ones, out, out=glayers[-1][1])
        delta = out
        relu = self.activation == "relu"
        backward = self._act.backward
        l2 = p.dtype.type(self.l2)
        pen = 0.0
        for layer in range(self.n_layers - 1, -1, -1):
            gW = glayers[layer][0]
            a_prev = X if layer == 0 else acts[layer - 1]
            np.matmul(a_prev.T, delta, out=gW)
            if self.l2:
                off, shape = self._w_slices[layer]
                size = shape[0] * shape[1]
                pen += kern.penalty(p[off:off + size], g[off:off + size], l2)
            if layer > 0:
                W = layers[layer][0]
                d_prev = np.matmul(delta, W.T, out=dbufs[layer - 1])
                gb_prev = glayers[layer - 1][1]
                if relu:
                    kern.relu_backward(d_prev, a_prev, gb_prev)
                else:
                    backward(d_prev, a_prev)
                    np.matmul(ones, d_prev, out=gb_prev)
                delta = d_prev
        # the loss in the parameters' dtype, as the NumPy path gives it (float32 stays float32)
        return p.dtype.type(L + 0.5 * self.l2 * pen if self.l2 else L)

    def _value(self, p, X, y):
        n = X.shape[0]
        kern = kernels.mlp_kernels()
        labels = None if kern is None else self._labels(y, n)
        acts, _, _, gb = self._workspace(n, p.dtype)
        layers = self._layers(p)
        out = self._forward_into(layers, X, acts, kern, last_bias=labels is None)[-1]
        if labels is not None:
            L = self._compiled_loss(kern, out, layers[-1][1], labels, y, gb)
        else:
            kind, Y = self._targets(y, n, p.dtype)
            if kind == "real":
                out -= Y
                flat = out.reshape(-1)
                L = np.dot(flat, flat) / (2 * n)
            else:
                L = _softmax_xent_value(out, kind, Y, n)
        if self.l2:
            if kern is None:
                L = L + self._penalty(p)
            else:  # Σw² in float64, as the compiled gradient pass sums it
                w = p[self.penalized]
                L = L + 0.5 * self.l2 * float(np.einsum("i,i->", w, w, dtype=np.float64))
        return p.dtype.type(L)

    def _raw_output(self, p, X):
        n = X.shape[0]
        acts = [np.empty((n, s), dtype=p.dtype) for s in self.layer_sizes[1:]]
        return self._forward_into(self._layers(p), X, acts, kernels.mlp_kernels())[-1]

    def _predict_raw(self, p, X):
        out = self._raw_output(p, X)
        if self.task == "classification":
            out -= out.max(axis=1, keepdims=True)
            np.exp(out, out=out)
            out /= out.sum(axis=1, keepdims=True)
        return out

    def forward(self, params, X) -> np.ndarray:
        """Network output: class probabilities (n, n_out) for classification,
        predictions (n, n_out) for regression."""
        return self.predict_raw(params, X)

    def predict_raw(self, params, X) -> np.ndarray:
        """Same as :meth:`forward`."""
        return super().predict_raw(params, X)

    def decision_function(self, params, X) -> np.ndarray:
        """Output-layer pre-activations z_L (logits for classification), shape (n, n_out)."""
        p = self._check_params(params)
        X = _as_X(X, self.n_features, p.dtype)
        with np.errstate(under="ignore"):
            return self._raw_output(p, X)

    def predict(self, params, X) -> np.ndarray:
        """Class labels (argmax, intp) for classification; predictions for regression
        (shape (n,) when there is one output)."""
        out = self.decision_function(params, X)
        if self.task == "classification":
            return np.argmax(out, axis=1)
        return out[:, 0] if self.n_outputs == 1 else out
