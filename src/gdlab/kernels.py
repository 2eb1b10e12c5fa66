r"""Online SGD (batch of 1) in compiled code: a *sweep* over a segment of samples.

With one sample per step the work of a step is a dot product and an axpy over the
features (about 4·d flops), so Python's per-step cost (tens of microseconds) is
everything. A sweep runs many consecutive batch-of-1 steps of the descent loop in one
call of a small numba kernel, with the same formulas and the same stop tests per sample
as the loop:

for each sample (x, y) in order, at the current parameters (β, b):

* the loss ℓ and the factor c = ∂ℓ/∂z of the linear output z = x·β + b
  (``mse``: ℓ = e², c = 2e; ``half_mse``: ℓ = e²/2, c = e; ``rmse``: ℓ = |e|, c = sign e,
  with e = z − y; ``logistic``: ℓ = softplus((1 − 2y)z), c = σ(z) − y), plus the L2
  penalty (l2/2)·‖β‖²;
* the loop's stop tests: a non-finite loss or point, or a loss more than ``explode``
  times worse than the run's first loss, ends the run as *diverged* before the update;
  with ``eps``, ‖∇‖ < eps ends it as *converged*;
* PyTorch's SGD step: g = (c·x + l2·β, c) + weight_decay·θ, θ ← θ − lr_t·g; or, with
  ``avg``, PyTorch's ASGD step: θ ← θ(1 − λη_t) − η_t·g and the average
  θ̄ ← θ̄ + μ_t(θ − θ̄), with η and μ updated as ``torch.optim.ASGD`` does.

:class:`gdlab.optim.online.SGDSweep` is the stepper that drives this kernel in the
descent loop, one loop step per segment. The kernel's stop codes are 0 (go on),
1 (diverged), 2 (no gradient) and 3 (converged).

This module holds the compiled kernels only and imports nothing from gdlab but its own
``_numba_steps`` (the update rules' kernels, at module level), so every
model module may import it.

Compilation happens once per dtype on first use and is cached on disk (``cache=True``).

:func:`linear_pass` is the second kernel here: the full-batch loss and gradient of a
one-target linear model in one pass over X (see :class:`gdlab.models.LinearLoss`).
:func:`adam_kernel` is Adam's step in one pass and :func:`step_kernels` those of SGD,
RMSprop and Adagrad (:mod:`gdlab.optim.fused`), :func:`mixed_kernel` all of a race's fused
groups in one call (:mod:`gdlab.serve.mixed`),
:func:`mlp_kernels` are the MLP's elementwise passes (:class:`gdlab.models.MLPLoss`), and
:func:`standardized_rows` picks a shuffled batch's rows and standardizes them in one pass
(:meth:`gdlab.data.Standardizer.take`).
"""

from __future__ import annotations

import math

#: samples per sweep (one loop step); training cuts segments shorter at epoch ends and
#: checkpoint steps
SEGMENT = 8192

#: the element types the compiled kernels are built for (NumPy dtype names; a dtype equals
#: its name in its native byte order only)
FLOAT_DTYPES = ("float32", "float64")

#: the losses the online kernel computes, by the ``kind`` code it takes
KINDS = {"mse": 0, "half_mse": 1, "rmse": 2, "logistic": 3}

_kernel = None
_pass_kernel = None


def numba_available() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def _lazy(name: str, build):
    """The module global ``name`` (a kernel or set of kernels), built by ``build()`` on first
    use, or ``None`` without numba."""
    value = globals()[name]
    if value is None:
        if not numba_available():
            return None
        value = globals()[name] = build()
    return value


def _steps_module():
    from . import _numba_steps  # (imports numba; the update rules' kernels)

    return _numba_steps


def online_kernel():
    """The compiled online-SGD kernel (built on first use; numba required)."""
    global _kernel
    if _kernel is None:
        _kernel = _build()
    return _kernel


def _build():  # noqa: C901 - its complexity is the compiled sweep's inside (see there)
    import numba

    @numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
    def sweep(X, y, p, has_b, kind, lrs,  # noqa: C901 - compiled inner loop, one pass per sample
              l2, wd, f0, explode, eps, out, avg, lambd, alpha, t0, st, ax):
        n, d = X.shape
        const_lr = lrs.shape[0] == 1
        done = 0
        code = 0
        fsum = 0.0
        f = math.nan
        gn = math.nan
        for i in range(n):
            z = 0.0
            sp = 0.0
            for j in range(d):
                z += X[i, j] * p[j]
                sp += p[j]
            if has_b:
                z += p[d]
                sp += p[d]
            yi = y[i]
            if kind == 3:
                t = (1.0 - 2.0 * yi) * z
                f = max(t, 0.0) + math.log1p(math.exp(-abs(t)))
                if z >= 0:
                    s = 1.0 / (1.0 + math.exp(-z))
                else:
                    ez = math.exp(z)
                    s = ez / (1.0 + ez)
                c = s - yi
            else:
                e = z - yi
                if kind == 0:
                    f = e * e
                    c = 2.0 * e
                elif kind == 1:
                    f = 0.5 * e * e
                    c = e
                else:
                    f = abs(e)
                    c = 1.0 if e > 0 else (-1.0 if e < 0 else 0.0)
            if l2 != 0.0:
                ww = 0.0
                for j in range(d):
                    ww += p[j] * p[j]
                f += 0.5 * l2 * ww
            if i == 0 and math.isnan(f0):
                f0 = f
                out[3] = f
            if not (math.isfinite(f) and math.isfinite(sp)):
                code = 1
                break
            if explode > 0.0 and f - f0 > explode * (1.0 + abs(f0)):
                code = 1
                break
            if eps > 0.0:
                g2 = c * c if has_b else 0.0
                for j in range(d):
                    gj = c * X[i, j] + l2 * p[j]
                    g2 += gj * gj
                gn = math.sqrt(g2)
                if not math.isfinite(gn):
                    code = 2
                    break
                if gn < eps:
                    code = 3
                    break
            lr = lrs[0] if const_lr else lrs[i]
            eta = lr
            shrink = 1.0
            if avg:  # torch's ASGD: eta of this step, then the step and the average
                if st[0] == 0.0:
                    st[1] = lr
                st[0] += 1.0
                eta = st[1]
                shrink = 1.0 - lambd * eta
            for j in range(d):
                g = c * X[i, j] + l2 * p[j]
                if wd != 0.0:
                    g += wd * p[j]
                if avg:
                    p[j] = p[j] * shrink
                p[j] -= eta * g
            if has_b:
                g = c
                if wd != 0.0:
                    g += wd * p[d]
                if avg:
                    p[d] = p[d] * shrink
                p[d] -= eta * g
            if avg:
                mu = st[2]
                for j in range(p.shape[0]):
                    if mu != 1.0:
                        ax[j] += (p[j] - ax[j]) * mu
                    else:
                        ax[j] = p[j]
                st[1] = lr / ((1.0 + lambd * lr * st[0]) ** alpha)
                st[2] = 1.0 / max(1.0, st[0] - t0)
            fsum += f
            done += 1
        out[0] = done
        out[1] = fsum
        out[2] = code
        out[4] = f
        out[5] = gn

    return sweep


def linear_pass():
    """The compiled full-batch pass of a one-target linear model, or ``None`` without numba.

    ``kernel(X, y, w, b, lo, hi, G) -> (S, s)`` reads rows ``lo .. hi-1`` of X once: for
    each row the residual e = x·w + b − y, then S = Σe², s = Σe and G = Σ e·x (G, float64
    of length d, is overwritten), all accumulated in float64 (each row is in cache for its
    second use, so the pass streams X from memory once, at the speed of a single X @ w).
    It releases the GIL, so :class:`~gdlab.models.LinearLoss` runs a few row
    ranges on threads."""
    return _lazy("_pass_kernel", _build_pass)


def _build_pass():
    import numba

    @numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
    def linear_pass(X, y, w, b, lo, hi, G):
        d = X.shape[1]
        for j in range(d):
            G[j] = 0.0
        S = 0.0
        s = 0.0
        for i in range(lo, hi):
            z = 0.0
            for j in range(d):
                z += X[i, j] * w[j]
            e = z + b - y[i]
            S += e * e
            s += e
            for j in range(d):
                G[j] += e * X[i, j]
        return S, s

    return linear_pass


# ---------------------------------------------------------------------------------------
# Adam in one pass (gdlab.optim.fused)
# ---------------------------------------------------------------------------------------

_adam = None


def adam_kernel():
    """The compiled one-pass Adam/AdamW step, or ``None`` without numba.

    ``kernel(p, g, m, v, vmax, lo, hi, sgn, l2, wd, decay, small, w, omw, beta2, omb2, bc2,
    eps, nss, amsgrad)`` updates elements ``lo .. hi-1`` (in C order) of the C-contiguous
    arrays ``p`` (parameters), ``m``, ``v`` (the moments) and, with ``amsgrad``, ``vmax``
    (else any array of the shape), all of one shape, from the gradient ``g``, with the
    operations of :class:`gdlab.optim.rules.Adam` in their order, element by element
    instead of array by array::

        g ← g·sgn (−1: maximize);  g ← g + wd·p (l2);  p ← p·decay (AdamW; else decay = 1)
        m ← m + (g − m)·w  (small: |w| < 0.5)  or  m ← g − (g − m)·omw     (torch's lerp)
        v ← v·beta2 + (g·omb2)·g;  v̂ ← max(vmax, v) (amsgrad)
        p ← p + (m·nss) / (sqrt(v̂)/bc2 + eps)

    The scalars come in the arrays' dtype (the caller casts them as NumPy does a Python
    float against a float32 array), and there is no fast-math: every operation rounds as
    NumPy's does, so the result is the NumPy rule's to the bit. It releases the GIL (the
    caller may run ranges on threads)."""
    return _lazy("_adam", lambda: _steps_module().adam_step)


# ---------------------------------------------------------------------------------------
# SGD, RMSprop and Adagrad steps in one pass each (gdlab.optim.fused)
# ---------------------------------------------------------------------------------------

_steps = None


class StepKernels:
    """The compiled one-pass steps of :class:`gdlab.optim.rules.SGD`, ``RMSprop`` and
    ``Adagrad`` (:mod:`gdlab.optim.fused`). Each takes C-contiguous arrays of any shape
    (the parameters, the gradient, then the rule's state arrays, all of one shape and
    dtype) and scalars in that dtype, and updates the parameters and the state in place
    with the NumPy rule's operations in their order, element by element, without
    fast-math: the numbers are the NumPy rule's to the bit.

    ``sgd(p, g, buf, neg, l2, wd, mode, mu, omd, nesterov, lr)``::

        g ← −g (neg: maximize);  g ← g + wd·p (l2)
        mode 1 (first step with momentum): b ← g;  mode 2: b ← b·mu + g·omd
        g ← g + b·mu (nesterov)  or  g ← b   (mode 1 or 2; mode 0: no momentum)
        p ← p − g·lr

    ``rmsprop(p, g, sq, ga, buf, neg, l2, wd, alpha, oma, centered, small, w, omw, eps,
    momentum, mu, lr, nlr)``::

        v ← v·alpha + (g·oma)·g
        centered: ḡ ← ḡ + (g − ḡ)·w (small) or g − (g − ḡ)·omw (torch's lerp);
                  d ← sqrt(v − ḡ·ḡ) + eps;  else d ← sqrt(v) + eps
        momentum: b ← b·mu + g/d, p ← p − b·lr;  else p ← p + (g·nlr)/d

    ``adagrad(p, g, s, neg, l2, wd, eps, nclr)``::

        s ← s + g·g;  p ← p + (g·nclr)/(sqrt(s) + eps)

    (``ga`` and ``buf`` are any array of the shape when unused: they are not touched.)"""

    def __init__(self, sgd, rmsprop, adagrad):
        self.sgd = sgd
        self.rmsprop = rmsprop
        self.adagrad = adagrad


def step_kernels() -> StepKernels | None:
    """The compiled SGD, RMSprop and Adagrad steps, or ``None`` without numba."""
    return _lazy("_steps", _build_steps)


def _build_steps() -> StepKernels:
    m = _steps_module()
    return StepKernels(m.sgd, m.rmsprop, m.adagrad)


_mixed = None


def mixed_kernel():
    """One compiled call that steps every fused group of the playground's race
    (:class:`gdlab.serve.mixed.Mixed`), or ``None`` without numba.

    ``kernel(x, g, codes, bounds, slots, idx, hp)``: for each group ``k`` with
    ``codes[k] >= 0`` and rows ``bounds[k]:bounds[k + 1]`` (of ``x``, float64 in C order,
    and of the gradient ``g``), the kernel the code names (0: SGD, 1: Adam, 2: RMSprop,
    3: Adagrad; :func:`step_kernels`, :func:`adam_kernel`) steps those rows with the
    group's state arrays ``slots[idx[k, j]]`` (the same rows of three of the slots, in the
    kernel's order; a slot the kernel does not use is never read) and its scalars, which
    follow each other in ``hp`` in the order of the groups (flags as 0 or 1; SGD takes 8,
    Adam 13, RMSprop 14, Adagrad 5). The same kernels, so the same numbers to the bit as
    one call per group; one call instead of a call per group, each of which costs about a
    microsecond before any work."""
    return _lazy("_mixed", lambda: _steps_module().mixed)


# ---------------------------------------------------------------------------------------
# The MLP's elementwise passes (gdlab.models.mlp)
# ---------------------------------------------------------------------------------------

_mlp = None


class MLPKernels:
    """The compiled elementwise passes of :class:`gdlab.models.MLPLoss` (ReLU hidden
    layers, softmax cross-entropy on integer labels, the L2 penalty): each one pass over
    its arrays where NumPy makes several (see the functions of :func:`_build_mlp`)."""

    def __init__(self, bias_relu, relu_backward, softmax_xent, penalty):
        self.bias_relu = bias_relu
        self.relu_backward = relu_backward
        self.softmax_xent = softmax_xent
        self.penalty = penalty


def mlp_kernels() -> MLPKernels | None:
    """The MLP's compiled passes (built on first use), or ``None`` without numba."""
    return _lazy("_mlp", lambda: MLPKernels(*_build_mlp()))


def _build_mlp():  # noqa: C901 - the compiled passes' complexity is theirs (see there)
    import numba
    import numpy as np

    @numba.njit(cache=True, nogil=True, error_model="numpy")
    def bias_relu(Z, b):
        """Z ← max(Z + b, 0) in place (NaN stays NaN, as np.maximum)."""
        n, k = Z.shape
        for i in range(n):
            for j in range(k):
                s = Z[i, j] + b[j]
                Z[i, j] = 0 if s <= 0 else s

    @numba.njit(cache=True, nogil=True, error_model="numpy")
    def relu_backward(D, A, gb):
        """D ← D ⊙ [A > 0] in place (a product, so NaN·0 stays NaN as with NumPy's mask),
        and gb ← Σᵢ D_i, the layer's bias gradient (summed in float64)."""
        n, k = D.shape
        acc = np.zeros(k)
        for i in range(n):
            for j in range(k):
                d = D[i, j] * (1 if A[i, j] > 0 else 0)
                D[i, j] = d
                acc[j] += d
        for j in range(k):
            gb[j] = acc[j]

    @numba.njit(cache=True, nogil=True, error_model="numpy")
    def softmax_xent(Z, b, y, gb):  # noqa: C901 - compiled inner loop
        """Logits Z + b (n, K) → δ = (softmax − onehot(y))/n in place and gb ← Σᵢ δ_i.
        ``y`` holds the labels as integers or as whole floats. Returns (the mean
        cross-entropy, −1), or (NaN, i) for the first row i whose label is not one of
        0..K−1 (Z is then partly overwritten). Exponentials in Z's dtype,
        sums and the probabilities in float64."""
        n, k = Z.shape
        acc = np.zeros(k)
        inv_n = 1.0 / n
        total = 0.0
        for i in range(n):
            yf = y[i]
            if not (yf >= 0 and yf < k):  # (NaN too)
                return math.nan, i
            yi = int(yf)
            if yi != yf:  # a float label that is not a whole number
                return math.nan, i
            mx = Z[i, 0] + b[0]
            for j in range(k):
                z = Z[i, j] + b[j]
                Z[i, j] = z
                if z > mx or z != z:
                    mx = z
                if mx != mx:
                    break
            zy = Z[i, yi] - mx
            s = 0.0
            for j in range(k):
                e = math.exp(Z[i, j] - mx)
                Z[i, j] = e
                s += e
            total += math.log(s) - zy
            inv_s = 1.0 / s
            for j in range(k):
                q = Z[i, j] * inv_s
                if j == yi:
                    q -= 1.0
                q *= inv_n
                Z[i, j] = q
                acc[j] += q
        for j in range(k):
            gb[j] = acc[j]
        return total * inv_n, -1

    # reassoc: the float64 sum of squares in several partial sums (vectorized); G's update
    # is one multiply and one add per element, which nothing reorders
    @numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc"})
    def penalty(W, G, l2):
        """G ← G + l2·W in place (l2 in W's dtype, as NumPy's ``g += l2 * w``); returns Σ W²
        in float64."""
        s = 0.0
        for i in range(W.shape[0]):
            w = W[i]
            s += float(w) * float(w)
            G[i] = G[i] + l2 * w
        return s

    return bias_relu, relu_backward, softmax_xent, penalty


# ---------------------------------------------------------------------------------------
# A shuffled batch's rows picked and standardized in one pass (gdlab.data)
# ---------------------------------------------------------------------------------------

_rows = None


def standardized_rows():
    """The compiled pass that picks rows and standardizes them, or ``None`` without numba.

    ``kernel(X, rows, mean, scale, out) -> bad`` writes ``(X[r] - mean) / scale`` for the
    ``i``-th row number ``r`` of ``rows`` into row ``i`` of ``out`` (``len(rows)`` rows,
    X's dtype; ``mean`` and ``scale`` in X's dtype too): the subtraction and the division
    of :meth:`gdlab.data.Standardizer.transform`, in the same order and X's dtype, without
    fast-math, so the numbers are NumPy's to the bit, but each row is written once, while
    it is read, instead of taken into one array and then passed over twice. A negative
    ``r`` counts from the end, as in ``np.take``. Returns −1, or the position in ``rows``
    of the first row number out of range (``out`` is then partly written)."""
    return _lazy("_rows", _build_rows)


def _build_rows():
    import numba

    # error_model="numpy": x/0 is inf as in NumPy (no ZeroDivisionError test per element)
    @numba.njit(cache=True, nogil=True, error_model="numpy")
    def standardized_rows(X, rows, mean, scale, out):
        n, d = X.shape
        for i in range(rows.shape[0]):
            r = rows[i]
            if r < 0:
                r += n
            if r < 0 or r >= n:
                return i
            for j in range(d):
                out[i, j] = (X[r, j] - mean[j]) / scale[j]
        return -1

    return standardized_rows
