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

This module holds the compiled kernels only and imports nothing from gdlab, so every
model module may import it.

Compilation happens once per dtype on first use and is cached on disk (``cache=True``).

:func:`linear_pass` is the second kernel here: the full-batch loss and gradient of a
one-target linear model in one pass over X (see :class:`gdlab.models.LinearLoss`).
"""

from __future__ import annotations

import math

#: samples per sweep (one loop step); training cuts segments shorter at epoch ends and
#: checkpoint steps
SEGMENT = 8192

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
    global _pass_kernel
    if _pass_kernel is None:
        if not numba_available():
            return None
        _pass_kernel = _build_pass()
    return _pass_kernel


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
    eps, nss, amsgrad)`` updates elements ``lo .. hi-1`` of the flat arrays ``p``
    (parameters), ``m``, ``v`` (the moments) and, with ``amsgrad``, ``vmax``, from the
    gradient ``g``, with the operations of :class:`gdlab.optim.rules.Adam` in their order,
    element by element instead of array by array::

        g ← g·sgn (−1: maximize);  g ← g + wd·p (l2);  p ← p·decay (AdamW; else decay = 1)
        m ← m + (g − m)·w  (small: |w| < 0.5)  or  m ← g − (g − m)·omw     (torch's lerp)
        v ← v·beta2 + (g·omb2)·g;  v̂ ← max(vmax, v) (amsgrad)
        p ← p + (m·nss) / (sqrt(v̂)/bc2 + eps)

    The scalars come in the arrays' dtype (the caller casts them as NumPy does a Python
    float against a float32 array), and there is no fast-math: every operation rounds as
    NumPy's does, so the result is the NumPy rule's to the bit. It releases the GIL (the
    caller may run ranges on threads)."""
    global _adam
    if _adam is None:
        if not numba_available():
            return None
        _adam = _build_adam()
    return _adam


def _build_adam():
    import numba

    # error_model="numpy": x/0 is inf as in NumPy, not a ZeroDivisionError test per element
    # (which keeps LLVM from vectorizing); no fastmath, so nothing is reassociated or
    # contracted into fused multiply-adds. The options are selects between values (exact:
    # g·(−1) is −g, p·1 is p) rather than branches around loads and stores, so the loop
    # vectorizes; amsgrad, which reads and writes one more array, has its own loop.
    opts = {"cache": True, "nogil": True, "error_model": "numpy"}

    @numba.njit(**opts)
    def moments(gi, pi, mi, vi, sgn, l2, wd, decay, small, w, omw, beta2, omb2):
        gi = gi * sgn
        gi = gi + wd * pi if l2 else gi
        pi = pi * decay
        d = gi - mi
        mi = mi + d * w if small else gi - d * omw
        vi = vi * beta2 + (gi * omb2) * gi
        return pi, mi, vi

    @numba.njit(**opts)
    def adam_step(p, g, m, v, vmax, lo, hi, sgn, l2, wd, decay, small, w, omw, beta2, omb2,
                  bc2, eps, nss, amsgrad):
        # views of the range, so the loops index from 0 (a loop from ``lo`` leaves numba's
        # negative-index wraparound in the loop, which LLVM then does not vectorize)
        p, g, m, v, vmax = p[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi], vmax[lo:hi]
        if amsgrad:
            for i in range(p.shape[0]):
                pi, mi, vi = moments(g[i], p[i], m[i], v[i], sgn, l2, wd, decay, small, w,
                                     omw, beta2, omb2)
                m[i] = mi
                v[i] = vi
                vm = vmax[i]
                vm = vm if (vm >= vi or vm != vm) else vi  # np.maximum: NaN wins
                vmax[i] = vm
                p[i] = pi + (mi * nss) / (math.sqrt(vm) / bc2 + eps)
        else:
            for i in range(p.shape[0]):
                pi, mi, vi = moments(g[i], p[i], m[i], v[i], sgn, l2, wd, decay, small, w,
                                     omw, beta2, omb2)
                m[i] = mi
                v[i] = vi
                p[i] = pi + (mi * nss) / (math.sqrt(vi) / bc2 + eps)

    return adam_step

