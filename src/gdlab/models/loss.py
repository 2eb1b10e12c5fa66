"""The base class of the data models' losses, and what every loss shares.

A model loss (:class:`ModelLoss`) maps ONE flat 1-D parameter vector ``params`` and a
batch ``(X, y)`` to the mean loss over the batch (plus an optional L2 penalty) and its
gradient, written into one flat array of the same length and dtype.  The shared descent
loop only ever sees flat vectors (:class:`gdlab.train.ModelObjective` adapts a model loss
to the loop's objective); the models hand out named *views* into them
(:meth:`ModelLoss.views`), so an optimizer step is a few vectorized operations on
contiguous memory.  The losses themselves live in :mod:`gdlab.models.linear` (linear,
logistic and softmax regression) and :mod:`gdlab.models.mlp` (the multi-layer perceptron).

Besides the base class (flat-parameter views, packing, the L2 penalty) this module holds
the helpers every loss uses: the checks and conversions of ``X`` and of real or class
targets, and the softmax cross-entropy of a block of logits (softmax regression and the
MLP's classification output).

Conventions shared by every loss
--------------------------------
* ``n`` is the number of rows of the batch ``X`` (shape ``(n, n_features)``).
* Losses are **means over the batch**; the L2 penalty ``(l2/2)·‖w‖²`` is added
  once per evaluation (it does not depend on the batch size) and applies to the
  weights only, never to intercepts/biases.  In the flat layout all penalized
  weights come first, so ``params[obj.penalized]`` (a slice) is exactly the
  penalized part, which is handy for decoupled weight decay.
* dtype is kept: float32 ``params`` give float32 arithmetic and a float32
  gradient; float64 stays float64.  ``X`` (and a real-valued ``y``) of another
  dtype is converted to the dtype of ``params`` on every call, so pre-convert
  the data once if speed matters.
* Underflow to 0 (``exp(-1000)``) is intended and silenced inside the
  losses; overflow cannot happen in the loss/gradient formulas used.
* Bad arguments raise :class:`~gdlab.errors.ParameterError`, bad data
  (shapes, labels) raise :class:`~gdlab.errors.DataError`.  Finiteness of
  ``X`` is *not* checked per call (it would cost a pass over every batch);
  validate data when loading it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from gdlab import checks
from gdlab.errors import DataError, ParameterError

__all__ = ["ModelLoss"]


# ---------------------------------------------------------------------------
# Input conversion
# ---------------------------------------------------------------------------

def _as_X(X, n_features: int, dtype: np.dtype) -> np.ndarray:
    X = np.asarray(X)
    if X.dtype.kind not in "fiub":
        raise DataError(f"X must hold numbers, got dtype {X.dtype}")
    if X.ndim != 2:
        hint = "; use X.reshape(-1, 1) for a single feature" if X.ndim == 1 else ""
        raise DataError(f"X must be a 2-D array (n_samples, n_features), got shape {X.shape}{hint}")
    if X.shape[1] != n_features:
        raise DataError(f"X has {X.shape[1]} columns but the model expects {n_features} features")
    if X.shape[0] == 0:
        raise DataError("X has no rows: the mean loss of an empty batch is undefined")
    if X.dtype != dtype:
        X = X.astype(dtype)
    return X


def _as_real_targets(y, n: int, n_out: int, dtype: np.dtype) -> np.ndarray:
    """Targets of a regression as an (n, n_out) array of ``dtype``."""
    y = np.asarray(y)
    if y.dtype.kind not in "fiub":
        raise DataError(f"y must hold numbers, got dtype {y.dtype}")
    if y.ndim == 1 and n_out == 1:
        y = y.reshape(-1, 1)
    if y.ndim != 2 or y.shape != (n, n_out):
        want = f"({n},) or ({n}, 1)" if n_out == 1 else f"({n}, {n_out})"
        raise DataError(f"y must have shape {want} to match X, got {y.shape}")
    if y.dtype != dtype:
        y = y.astype(dtype)
    return y


def _as_class_targets(y, n: int, n_classes: int, dtype: np.dtype):
    """Class targets: ("labels", intp array (n,)) or ("dist", (n, K) array of dtype).

    Integer labels 0..K−1 (floats with integral values are accepted), or an
    (n, K) array of one-hot / probability rows (non-negative, summing to 1).
    """
    y = np.asarray(y)
    if y.dtype.kind not in "fiub":
        raise DataError(f"class labels must be integers 0..{n_classes - 1}, got dtype {y.dtype}")
    if y.ndim == 2 and y.shape == (n, 1):
        y = y[:, 0]                       # a column of labels
    if y.ndim == 2 and y.shape[1] == n_classes and y.shape[0] == n:
        Y = y.astype(dtype, copy=False)
        if not np.all(np.isfinite(Y)) or np.any(Y < 0) or not np.allclose(
                Y.sum(axis=1), 1, rtol=0, atol=1e-4 if dtype == np.float32 else 1e-8):
            raise DataError("one-hot / probability targets must be non-negative rows summing to 1")
        return "dist", Y
    if y.ndim != 1 or y.shape[0] != n:
        raise DataError(f"y must be {n} integer labels (shape ({n},)) or one-hot rows "
                        f"(shape ({n}, {n_classes})), got shape {y.shape}")
    if y.dtype.kind != "i" and y.dtype.kind != "u":
        if y.dtype.kind == "f":
            if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
                raise DataError("class labels must be whole numbers 0.."
                                f"{n_classes - 1}; got non-integral values")
        y = y.astype(np.intp)
    bad = (y < 0) | (y >= n_classes)
    if np.any(bad):
        i = int(np.argmax(bad))
        raise DataError(f"class label {y[i]} at position {i} is outside 0..{n_classes - 1}")
    return "labels", y.astype(np.intp, copy=False)


# ---------------------------------------------------------------------------
# Base class
# ---------------------------------------------------------------------------
class ModelLoss:
    """Base class: a loss over one flat parameter vector.

    Subclasses define ``_layout`` (a list of ``(name, shape)``; memory order is
    the list order, penalized weights first) and ``_value_and_grad``.

    Attributes
    ----------
    n_params : int
        Length of the flat parameter vector.
    n_features : int
        Number of input columns expected in ``X``.
    l2 : float
        Strength of the penalty ``(l2/2)·‖w‖²`` on the weights.
    penalized : slice
        The part of the flat vector holding the penalized weights.
    param_shapes : dict[str, tuple]
        Shapes of the named views, in the order of :meth:`views`.
    """

    n_params: int
    n_features: int
    l2: float = 0.0
    penalized: slice = slice(0, 0)

    def _set_layout(self, layout: Sequence[tuple[str, tuple[int, ...]]],
                    view_order: Sequence[str] | None = None) -> None:
        offsets: dict[str, tuple[int, tuple[int, ...]]] = {}
        pos = 0
        for name, shape in layout:
            size = int(np.prod(shape, dtype=np.int64))
            offsets[name] = (pos, tuple(shape))
            pos += size
        order = list(view_order) if view_order is not None else [name for name, _ in layout]
        self._offsets = {name: offsets[name] for name in order}
        self.n_params = pos
        self.param_shapes = {name: shape for name, (_, shape) in self._offsets.items()}

    # -- flat vector helpers ------------------------------------------------
    def _check_params(self, params, contiguous: bool = True) -> np.ndarray:
        p = np.asarray(params)
        if p.dtype.kind != "f":
            raise ParameterError(f"params must be a floating array (float32 or float64), "
                                 f"got dtype {p.dtype}")
        if p.ndim != 1 or p.shape[0] != self.n_params:
            raise ParameterError(f"params must be a flat 1-D array of length {self.n_params}, "
                                 f"got shape {p.shape}")
        if contiguous and not p.flags.c_contiguous:
            p = np.ascontiguousarray(p)
        return p

    def views(self, params: np.ndarray) -> dict[str, np.ndarray]:
        """Named views (not copies) into the flat array ``params``.

        Writing into a view changes ``params`` and vice versa.  ``params``
        must be a C-contiguous 1-D floating array of length ``n_params``.
        """
        p = np.asarray(params)
        if p is not params and not isinstance(params, np.ndarray):
            raise ParameterError("views() needs the flat numpy array itself, not a "
                                 f"{type(params).__name__}")
        p = self._check_params(p, contiguous=False)
        if not p.flags.c_contiguous:
            raise ParameterError("views() needs a C-contiguous flat array; "
                                 "use np.ascontiguousarray(params)")
        return {name: p[off:off + int(np.prod(shape, dtype=np.int64))].reshape(shape)
                for name, (off, shape) in self._offsets.items()}

    def pack(self, arrays: Mapping[str, np.ndarray], dtype=np.float64) -> np.ndarray:
        """Build a flat parameter vector from named arrays (the inverse of :meth:`views`)."""
        dt = checks.float_dtype("dtype", dtype)
        missing = set(self._offsets) - set(arrays)
        extra = set(arrays) - set(self._offsets)
        if missing or extra:
            raise ParameterError(f"pack() needs exactly the arrays {list(self._offsets)}; "
                                 f"missing {sorted(missing)}, unexpected {sorted(extra)}")
        flat = np.empty(self.n_params, dtype=dt)
        v = self.views(flat)
        for name, arr in arrays.items():
            arr = np.asarray(arr)
            if arr.size != v[name].size:
                raise ParameterError(f"{name} must have shape {v[name].shape}, got {arr.shape}")
            v[name][...] = arr.reshape(v[name].shape)
        return flat

    def _grad_buffer(self, out, dtype) -> np.ndarray:
        if out is None:
            return np.empty(self.n_params, dtype=dtype)
        if not isinstance(out, np.ndarray) or out.ndim != 1 or out.shape[0] != self.n_params \
                or out.dtype != dtype or not out.flags.c_contiguous \
                or not out.flags.writeable:
            raise ParameterError(f"out must be a writeable C-contiguous 1-D {dtype} array of "
                                 f"length {self.n_params}")
        return out

    # -- public API ----------------------------------------------------------
    def init_params(self, rng=None, dtype=np.float64) -> np.ndarray:
        """Initial flat parameter vector of length ``n_params`` (zeros unless overridden)."""
        checks.rng("rng", rng)
        return np.zeros(self.n_params, dtype=checks.float_dtype("dtype", dtype))

    def value_and_grad(self, params: np.ndarray, X, y, out: np.ndarray | None = None
                       ) -> tuple[float, np.ndarray]:
        """Mean loss over the batch (+ penalty) and its gradient.

        Parameters
        ----------
        params : 1-D float array of length ``n_params``
        X : array (n, n_features)
        y : targets (see the class docstring)
        out : optional preallocated gradient buffer (1-D, ``n_params``, same
            dtype as ``params``); avoids one allocation per call.

        Returns
        -------
        (loss, grad) : (float, 1-D array of the dtype of ``params``)
        """
        p = self._check_params(params)
        g = self._grad_buffer(out, p.dtype)
        if np.may_share_memory(g, p):
            raise ParameterError("out must not share memory with params")
        X = _as_X(X, self.n_features, p.dtype)
        with np.errstate(under="ignore"):
            loss = self._value_and_grad(p, X, y, g)
        return float(loss), g

    def value(self, params: np.ndarray, X, y) -> float:
        """Mean loss over the batch (+ penalty), without the gradient."""
        p = self._check_params(params)
        X = _as_X(X, self.n_features, p.dtype)
        with np.errstate(under="ignore"):
            return float(self._value(p, X, y))

    def gradient(self, params: np.ndarray, X, y, out: np.ndarray | None = None) -> np.ndarray:
        """Only the gradient of :meth:`value_and_grad`."""
        return self.value_and_grad(params, X, y, out=out)[1]

    def online_kind(self) -> int | None:
        """The code of the compiled online-SGD kernel (:data:`gdlab.kernels.KINDS`) that
        computes this loss, or ``None`` when none does (see :mod:`gdlab.optim.online`)."""
        return None

    def predict_raw(self, params: np.ndarray, X) -> np.ndarray:
        """The model output before any decision (see each subclass)."""
        p = self._check_params(params)
        X = _as_X(X, self.n_features, p.dtype)
        with np.errstate(under="ignore"):
            return self._predict_raw(p, X)

    def _penalty(self, p: np.ndarray):
        """(l2/2)·‖w‖² over the penalized slice (a scalar of p's dtype)."""
        w = p[self.penalized]
        return (self.l2 / 2) * np.dot(w, w)

    def _add_penalty_grad(self, p: np.ndarray, g: np.ndarray) -> None:
        if self.l2:
            gw = g[self.penalized]
            gw += self.l2 * p[self.penalized]

    def _penalized(self, p, g, L):
        """Add the L2 penalty to the loss ``L`` and its gradient to ``g``; returns the loss."""
        if self.l2:
            L = L + self._penalty(p)
            self._add_penalty_grad(p, g)
        return L

    # subclasses implement these
    def _value_and_grad(self, p, X, y, g):  # pragma: no cover - abstract
        raise NotImplementedError

    def _value(self, p, X, y):
        return self._value_and_grad(p, X, y, np.empty_like(p))

    def _predict_raw(self, p, X):  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_params={self.n_params})"


# ---------------------------------------------------------------------------
# Softmax cross-entropy (softmax regression and the MLP classifier)
# ---------------------------------------------------------------------------

def _row_max(Z, rows):
    """The maximum of each row of Z (n, K) as a column (n, 1); ``rows`` is ``arange(n)``.

    Picked through ``argmax``: the same values (NaN included) as ``Z.max(axis=1)``, which
    is several times slower on short rows such as a few classes.
    """
    return Z[rows, Z.argmax(axis=1)][:, None]


def _softmax_xent_inplace(Z, kind, Y, n):
    """Turn logits Z (n, K) IN PLACE into δ = (P − Y)/n and return the mean cross-entropy.

    ``kind`` is "labels" (Y = intp labels) or "dist" (Y = (n, K) rows).
    """
    rows = np.arange(n)
    Z -= _row_max(Z, rows)
    if kind == "labels":
        zy_sum = Z[rows, Y].sum()
    else:
        zy_sum = np.vdot(Y, Z)
    np.exp(Z, out=Z)
    s = Z.sum(axis=1)
    # Σᵢ logsumexp(zᵢ) − zᵢ,yᵢ  (shifted logits; Σ_k Y_ik = 1 for distributions)
    L = (np.log(s).sum() - zy_sum) / n
    Z /= s[:, None]
    if kind == "labels":
        Z[rows, Y] -= 1
    else:
        Z -= Y
    Z *= 1 / n
    return L


def _softmax_xent_value(Z, kind, Y, n):
    """Mean cross-entropy of logits Z (n, K); Z is overwritten."""
    rows = np.arange(n)
    Z -= _row_max(Z, rows)
    if kind == "labels":
        zy_sum = Z[rows, Y].sum()
    else:
        zy_sum = np.vdot(Y, Z)
    np.exp(Z, out=Z)
    return (np.log(Z.sum(axis=1)).sum() - zy_sum) / n
