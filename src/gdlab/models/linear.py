"""Linear models' losses: linear regression, logistic regression and softmax regression.

One linear layer z = Xβ + b with a squared-error (:class:`LinearLoss`), binary
cross-entropy (:class:`LogisticLoss`) or softmax cross-entropy (:class:`SoftmaxLoss`) loss,
on the flat parameters of :class:`~gdlab.models.loss.ModelLoss` (``coef`` first, then
``intercept``).  Large linear-regression batches take a fused full-batch pass: fixed parts
of the rows run on a small shared thread pool (the compiled
:func:`gdlab.kernels.linear_pass` for one target, else row blocks read once with
single-threaded BLAS).
"""

from __future__ import annotations

import math
import threading

import numpy as np
from scipy.special import expit as _expit
from scipy.special import log_expit as _log_expit

from gdlab import checks, kernels
from gdlab.errors import DataError, ParameterError

from .activations import softmax
from .loss import (
    ModelLoss,
    _as_class_targets,
    _as_real_targets,
    _as_X,
    _softmax_xent_inplace,
    _softmax_xent_value,
)

__all__ = ["LinearLoss", "LogisticLoss", "SoftmaxLoss"]

#: batches of at least this many values take the fused, threaded full-batch pass
_FUSED_MIN = 1 << 22
_FUSED_BLOCK_BYTES = 1 << 21
_FUSED_PARTS = 4
_POOL = None
_POOL_LOCK = threading.Lock()


def _pool():
    """A small thread pool shared by the fused passes (created on first use)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            import os
            from concurrent.futures import ThreadPoolExecutor
            _POOL = ThreadPoolExecutor(max_workers=min(_FUSED_PARTS, os.cpu_count() or 1),
                                       thread_name_prefix="gdlab-fused")
        return _POOL


def _linear_grad(loss: LinearLoss | _LinearClassifierLoss, X, E, k: int, p, g, L):
    """The gradient of the linear layer z = Xβ + b of ``loss`` from ∂L/∂z = ``E`` (n × k):
    the coef block Xᵀ E and the intercept ΣE, written into ``g``; then the L2 penalty.
    Returns L with the penalty added."""
    d = loss.n_features
    np.matmul(X.T, E, out=g[:d * k].reshape(d, k))
    if loss.fit_intercept:
        np.sum(E, axis=0, out=g[d * k:])
    return loss._penalized(p, g, L)


# ---------------------------------------------------------------------------
# Linear regression
# ---------------------------------------------------------------------------

_LINEAR_LOSSES = ("mse", "rmse", "half_mse")


class LinearLoss(ModelLoss):
    r"""Linear regression ŷ = Xβ + b with a squared-error loss.

    With residuals r = y − Xβ − b (n rows; for k targets r is n×k and
    ‖r‖² is the squared Frobenius norm, i.e. the per-target losses are summed
    over targets and averaged over samples):

    * ``loss="mse"`` (the lecture's squared objective)::

          L = ‖r‖²/n,                 ∇β = −(2/n)·Xᵀr,     ∇b = −(2/n)·Σᵢ rᵢ

    * ``loss="rmse"`` (the lecture's ‖y − Xβ‖₂ with the 1/n inside the norm)::

          L = sqrt(‖r‖²/n),           ∇β = −Xᵀr / (n·L),   ∇b = −Σᵢ rᵢ / (n·L)

      Here L itself is the lecture's norm "with 1/n inside", so its formula
      −Xᵀ(y−Xβ)/(n‖y−Xβ‖₂) is right exactly when that norm means
      sqrt((1/n)Σrᵢ²).  Written with the plain Euclidean norm the same gradient
      is −Xᵀr/(√n·‖r‖₂).  At a perfect fit (L = 0) the loss is not
      differentiable; the gradient returned is 0 (a subgradient, no NaN).

    * ``loss="half_mse"`` (lecture 004, h = prediction, m = n)::

          L = (1/(2m))·Σ(h − y)²,      ∇w = (1/m)·Σ(h − y)·x,  ∇b = (1/m)·Σ(h − y)

    Penalty: ``(l2/2)·‖β‖²`` on the coefficients only (not the intercept),
    gradient ``l2·β``; it is added outside the square root for ``rmse``.

    Layout (memory order): ``coef`` then ``intercept``.  ``coef`` has shape
    ``(n_features,)`` for one target and ``(n_features, n_targets)`` otherwise
    (so that ŷ = X @ coef + intercept); ``intercept`` has shape ``(n_targets,)``
    and is absent when ``fit_intercept=False``.

    ``y`` has shape ``(n,)`` (or ``(n, 1)``) for one target, ``(n, k)`` for k.
    ``init_params`` returns zeros (the problem is convex).
    """

    def __init__(self, n_features: int, n_targets: int = 1, fit_intercept: bool = True,
                 loss: str = "mse", l2: float = 0.0):
        self.n_features = checks.count("n_features", n_features, minimum=1)
        self.n_targets = checks.count("n_targets", n_targets, minimum=1)
        self.fit_intercept = checks.flag("fit_intercept", fit_intercept)
        self.loss = checks.choice("loss", loss, _LINEAR_LOSSES)
        self.l2 = checks.number("l2", l2, low=0)
        d, k = self.n_features, self.n_targets
        coef_shape = (d,) if k == 1 else (d, k)
        layout = [("coef", coef_shape)]
        if self.fit_intercept:
            layout.append(("intercept", (k,)))
        self._set_layout(layout)
        self.penalized = slice(0, d * k)

    def __repr__(self) -> str:
        return (f"LinearLoss(n_features={self.n_features}, n_targets={self.n_targets}, "
                f"fit_intercept={self.fit_intercept}, loss={self.loss!r}, l2={self.l2})")

    def _split(self, p):
        d, k = self.n_features, self.n_targets
        B = p[:d * k].reshape(d, k)
        b = p[d * k:] if self.fit_intercept else None
        return B, b

    def _residual(self, p, X, y):
        """e = ŷ − y as a fresh (n, k) array."""
        B, b = self._split(p)
        Y = _as_real_targets(y, X.shape[0], self.n_targets, p.dtype)
        e = X @ B
        if b is not None:
            e += b
        e -= Y
        return e

    def _loss_from_sq(self, S, n):
        if self.loss == "mse":
            return S / n
        if self.loss == "half_mse":
            return S / (2 * n)
        return np.sqrt(S / n)

    def _grad_scale(self, L, n):
        """c in ∇ = c·Xᵀe: 2/n (mse), 1/n (half_mse), 1/(n·L) (rmse; 0 at a perfect fit)."""
        if self.loss == "mse":
            return 2 / n
        if self.loss == "half_mse":
            return 1 / n
        return 1 / (n * L) if L > 0 else 0

    def _value_and_grad(self, p, X, y, g):
        n, d = X.shape
        if n * d >= _FUSED_MIN:
            return self._value_and_grad_fused(p, X, y, g)
        e = self._residual(p, X, y)
        ef = e.reshape(-1)
        L = self._loss_from_sq(np.dot(ef, ef), n)
        e *= self._grad_scale(L, n)
        return _linear_grad(self, X, e, self.n_targets, p, g, L)

    def _value_and_grad_fused(self, p, X, y, g):
        """The same loss and gradient for a large batch in one pass over X. The rows are cut
        into a fixed number of parts, run on threads and summed in a fixed order (so results
        do not depend on the thread count). With one target and numba installed each part
        is the compiled :func:`gdlab.kernels.linear_pass` (every row read once, float64
        sums: about the time of one X @ β); otherwise each 2 MiB row block is read once for
        both Xβ and Xᵀe with single-threaded BLAS (OpenBLAS runs a lone Xᵀe at one core's
        speed)."""
        n, d = X.shape
        k = self.n_targets
        Y = _as_real_targets(y, n, k, p.dtype)
        B, b = self._split(p)
        rows = max(64, _FUSED_BLOCK_BYTES // (X.itemsize * d))
        cuts = np.linspace(0, n, _FUSED_PARTS + 1).astype(int)
        kernel = kernels.linear_pass() if k == 1 and X.flags.c_contiguous else None
        if kernel is not None:  # compiled: every row read once, float64 sums
            w = np.ascontiguousarray(B[:, 0])
            yk = np.ascontiguousarray(Y[:, 0])
            b0 = float(b[0]) if b is not None else 0.0

            def part_compiled(lo, hi):
                G = np.empty(d)
                S, s = kernel(X, yk, w, b0, lo, hi, G)
                return S, G.reshape(d, 1), np.array([s])

            parts = list(_pool().map(part_compiled, cuts[:-1], cuts[1:]))
            return self._fused_total(parts, p, g, n, d, k)

        def part(lo, hi):
            G = np.zeros((d, k), dtype=p.dtype)
            s = np.zeros(k, dtype=p.dtype)
            S = p.dtype.type(0)
            for a in range(lo, hi, rows):
                z = min(a + rows, hi)
                Xb = X[a:z]
                e = Xb @ B
                if b is not None:
                    e += b
                e -= Y[a:z]
                ef = e.reshape(-1)
                S += np.dot(ef, ef)
                G += Xb.T @ e
                s += e.sum(axis=0)
            return S, G, s

        from threadpoolctl import threadpool_limits
        with threadpool_limits(limits=1, user_api="blas"):
            parts = list(_pool().map(part, cuts[:-1], cuts[1:]))
        return self._fused_total(parts, p, g, n, d, k)

    def _fused_total(self, parts, p, g, n, d, k):
        """Sum the parts' (S, G, s) in their fixed order; the loss and the gradient."""
        S = sum(r[0] for r in parts[1:]) + parts[0][0]
        G = parts[0][1]
        s = parts[0][2]
        for r in parts[1:]:
            G += r[1]
            s += r[2]
        L = self._loss_from_sq(S, n)
        c = self._grad_scale(L, n)
        np.multiply(G.reshape(-1), c, out=g[:d * k])
        if self.fit_intercept:
            np.multiply(s, c, out=g[d * k:])
        return self._penalized(p, g, L)

    def _value(self, p, X, y):
        e = self._residual(p, X, y).reshape(-1)
        L = self._loss_from_sq(np.dot(e, e), X.shape[0])
        if self.l2:
            L = L + self._penalty(p)
        return L

    def _predict_raw(self, p, X):
        B, b = self._split(p)
        out = X @ B
        if b is not None:
            out += b
        return out[:, 0] if self.n_targets == 1 else out

    def online_kind(self) -> int | None:
        """The compiled online-SGD kernel's code for this loss (one target only)."""
        return kernels.KINDS[self.loss] if self.n_targets == 1 else None

    def predict_raw(self, params, X) -> np.ndarray:
        """Predictions Xβ + b: shape (n,) for one target, (n, k) otherwise."""
        return super().predict_raw(params, X)

    def predict(self, params, X) -> np.ndarray:
        """Same as :meth:`predict_raw`."""
        return self.predict_raw(params, X)

    def closed_form(self, X, y, dtype=np.float64) -> np.ndarray:
        """The exact minimizer as a flat parameter vector (reference for GD).

        Solved by ``np.linalg.lstsq`` in float64 with the intercept handled by
        centering X and y.  With ``l2 > 0`` it is the ridge solution of *this*
        loss: ``mse`` ⇔ ridge strength λ = n·l2/2, ``half_mse`` ⇔
        λ = n·l2 (i.e. minimize ‖r‖² + λ‖β‖², solved as least squares on X
        stacked over √λ·I).  For ``rmse`` the unpenalized minimizer equals the
        least-squares one; ``rmse`` with ``l2 > 0`` has no closed form and
        raises ParameterError.  Rank-deficient X gives the minimum-norm solution.
        """
        dt = checks.float_dtype("dtype", dtype)
        X = _as_X(X, self.n_features, np.dtype(np.float64))
        n, d = X.shape
        Y = _as_real_targets(y, n, self.n_targets, np.dtype(np.float64))
        if self.l2 and self.loss == "rmse":
            raise ParameterError("closed_form() has no closed-form solution for loss='rmse' "
                                 "with l2 > 0; minimize the loss numerically instead")
        if self.fit_intercept:
            x_mean = X.mean(axis=0)
            y_mean = Y.mean(axis=0)
            Xc, Yc = X - x_mean, Y - y_mean
        else:
            Xc, Yc = X, Y
        if self.l2:
            lam = n * self.l2 / 2 if self.loss == "mse" else n * self.l2
            Xc = np.vstack([Xc, math.sqrt(lam) * np.eye(d)])
            Yc = np.vstack([Yc, np.zeros((d, Y.shape[1]))])
        B = np.linalg.lstsq(Xc, Yc, rcond=None)[0]
        flat = np.empty(self.n_params, dtype=np.float64)
        flat[:d * self.n_targets] = B.reshape(-1)
        if self.fit_intercept:
            flat[d * self.n_targets:] = y_mean - x_mean @ B
        return flat.astype(dt, copy=False)


# ---------------------------------------------------------------------------
# Logistic regression
# ---------------------------------------------------------------------------

class _LinearClassifierLoss(ModelLoss):
    """Shared by the logistic and softmax losses: logits from one linear layer
    (``_logits``)."""

    fit_intercept: bool

    def _logits(self, p, X):  # pragma: no cover - abstract
        raise NotImplementedError

    def decision_function(self, params, X) -> np.ndarray:
        """Logits XW + b: shape (n,) for the logistic model, (n, n_classes) for softmax."""
        p = self._check_params(params)
        return self._logits(p, _as_X(X, self.n_features, p.dtype))


class LogisticLoss(_LinearClassifierLoss):
    r"""Binary logistic regression: mean cross-entropy on labels y ∈ {0, 1}.

    With logits z = Xw + b and p = σ(z)::

        L  = (1/n)·Σᵢ [−yᵢ·log pᵢ − (1−yᵢ)·log(1−pᵢ)] + (l2/2)·‖w‖²
           = (1/n)·Σᵢ softplus((1 − 2yᵢ)·zᵢ) + (l2/2)·‖w‖²
        ∇w = Xᵀ(σ(z) − y)/n + l2·w,       ∇b = Σᵢ(σ(zᵢ) − yᵢ)/n

    computed with log-sigmoid / expit forms, so logits of ±1000 give a finite
    loss and gradient without warnings.

    Relation to scikit-learn: ``LogisticRegression(C=C)`` minimizes
    C·Σᵢ loglossᵢ + ½‖w‖², which has the same minimizer as this loss with
    ``l2 = 1/(n·C)``.

    Layout: ``coef`` (n_features,), then ``intercept`` (1,).  ``y``: shape
    (n,) of 0/1 values (bool, int or float).  ``init_params`` returns zeros.
    """

    def __init__(self, n_features: int, fit_intercept: bool = True, l2: float = 0.0):
        self.n_features = checks.count("n_features", n_features, minimum=1)
        self.fit_intercept = checks.flag("fit_intercept", fit_intercept)
        self.l2 = checks.number("l2", l2, low=0)
        layout = [("coef", (self.n_features,))]
        if self.fit_intercept:
            layout.append(("intercept", (1,)))
        self._set_layout(layout)
        self.penalized = slice(0, self.n_features)

    def __repr__(self) -> str:
        return (f"LogisticLoss(n_features={self.n_features}, "
                f"fit_intercept={self.fit_intercept}, l2={self.l2})")

    def _labels(self, y, n, dtype):
        y = np.asarray(y)
        if y.dtype.kind not in "fiub":
            raise DataError(f"labels must be 0 or 1, got dtype {y.dtype}")
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.shape != (n,):
            raise DataError(f"y must have shape ({n},) to match X, got {y.shape}")
        bad = (y != 0) & (y != 1)
        if np.any(bad):
            i = int(np.argmax(bad))
            raise DataError(f"labels must be 0 or 1; got {y[i]!r} at position {i}")
        return y.astype(dtype, copy=False)

    def _logits(self, p, X):
        d = self.n_features
        z = X @ p[:d]
        if self.fit_intercept:
            z += p[d]
        return z

    def _value_and_grad(self, p, X, y, g):
        n = X.shape[0]
        yy = self._labels(y, n, p.dtype)
        z = self._logits(p, X)
        # per-sample loss softplus(s·z) = −log σ(−s·z), s = 1 − 2y
        t = (1 - 2 * yy) * z
        L = -_log_expit(-t).sum() / n
        r = _expit(z)            # σ(z) − y, scaled by 1/n
        r -= yy
        r *= 1 / n
        return _linear_grad(self, X, r[:, None], 1, p, g, L)

    def _value(self, p, X, y):
        n = X.shape[0]
        yy = self._labels(y, n, p.dtype)
        t = (1 - 2 * yy) * self._logits(p, X)
        L = -_log_expit(-t).sum() / n
        if self.l2:
            L = L + self._penalty(p)
        return L

    def _predict_raw(self, p, X):
        return _expit(self._logits(p, X))

    def online_kind(self) -> int | None:
        """The compiled online-SGD kernel's code for this loss."""
        return kernels.KINDS["logistic"]

    def predict_raw(self, params, X) -> np.ndarray:
        """Probabilities P(y = 1 | x) = σ(Xw + b), shape (n,)."""
        return super().predict_raw(params, X)

    def predict(self, params, X) -> np.ndarray:
        """Labels 0/1 (1 where z > 0, i.e. p > 1/2), as intp."""
        return (self.decision_function(params, X) > 0).astype(np.intp)


# ---------------------------------------------------------------------------
# Multinomial (softmax) regression
# ---------------------------------------------------------------------------

class SoftmaxLoss(_LinearClassifierLoss):
    r"""Multinomial logistic (softmax) regression with mean cross-entropy.

    With logits Z = XW + b (n×K), P = softmax(Z) row-wise and Y the one-hot
    matrix of the labels::

        L  = (1/n)·Σᵢ [logsumexp(Zᵢ) − Zᵢ,yᵢ] + (l2/2)·‖W‖²_F
        ∇W = Xᵀ(P − Y)/n + l2·W,          ∇b = Σᵢ (Pᵢ − Yᵢ)/n

    (log-sum-exp with the row maximum subtracted: stable for any logits).
    ``y``: integer labels 0..K−1, shape (n,) (floats with whole values are
    accepted), or an (n, K) array of one-hot / probability rows.

    The intercepts are unpenalized, so they are determined only up to a common
    additive constant (softmax is shift invariant); compare them centered.
    ``LogisticRegression(C=C)`` of scikit-learn (multinomial) has the same
    minimizer with ``l2 = 1/(n·C)``.

    Layout: ``coef`` (n_features, n_classes) then ``intercept`` (n_classes,).
    ``init_params`` returns zeros.
    """

    def __init__(self, n_features: int, n_classes: int, fit_intercept: bool = True,
                 l2: float = 0.0):
        self.n_features = checks.count("n_features", n_features, minimum=1)
        self.n_classes = checks.count("n_classes", n_classes, minimum=2)
        self.fit_intercept = checks.flag("fit_intercept", fit_intercept)
        self.l2 = checks.number("l2", l2, low=0)
        d, K = self.n_features, self.n_classes
        layout: list[tuple[str, tuple[int, ...]]] = [("coef", (d, K))]
        if self.fit_intercept:
            layout.append(("intercept", (K,)))
        self._set_layout(layout)
        self.penalized = slice(0, d * K)

    def __repr__(self) -> str:
        return (f"SoftmaxLoss(n_features={self.n_features}, n_classes={self.n_classes}, "
                f"fit_intercept={self.fit_intercept}, l2={self.l2})")

    def _logits(self, p, X):
        d, K = self.n_features, self.n_classes
        Z = X @ p[:d * K].reshape(d, K)
        if self.fit_intercept:
            Z += p[d * K:]
        return Z

    def _value_and_grad(self, p, X, y, g):
        n = X.shape[0]
        kind, Y = _as_class_targets(y, n, self.n_classes, p.dtype)
        Z = self._logits(p, X)
        L = _softmax_xent_inplace(Z, kind, Y, n)
        return _linear_grad(self, X, Z, self.n_classes, p, g, L)

    def _value(self, p, X, y):
        n = X.shape[0]
        kind, Y = _as_class_targets(y, n, self.n_classes, p.dtype)
        L = _softmax_xent_value(self._logits(p, X), kind, Y, n)
        if self.l2:
            L = L + self._penalty(p)
        return L

    def _predict_raw(self, p, X):
        return softmax(self._logits(p, X), axis=1)

    def predict_raw(self, params, X) -> np.ndarray:
        """Class probabilities softmax(XW + b), shape (n, n_classes)."""
        return super().predict_raw(params, X)

    def predict(self, params, X) -> np.ndarray:
        """Most probable class per row (intp)."""
        return np.argmax(self.decision_function(params, X), axis=1)

