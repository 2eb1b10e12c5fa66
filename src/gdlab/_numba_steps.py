"""The update rules' compiled steps (numba, the extra ``fast``), at module level so that
numba's on-disk cache holds them (a jitted function that calls another through a closure
is compiled again in every process). Only :mod:`gdlab.kernels` imports this module, when
numba is installed; see its functions for what each kernel computes."""

from __future__ import annotations

import math

import numba

# error_model="numpy": x/0 is inf as in NumPy, not a ZeroDivisionError test per element
# (which keeps LLVM from vectorizing); no fastmath, so nothing is reassociated or
# contracted into fused multiply-adds. The options are selects between values (exact:
# g·(−1) is −g, p·1 is p) rather than branches around loads and stores, so the loops
# vectorize; each case (amsgrad, which reads and writes one more array; SGD's modes;
# RMSprop's forms) has its own loop, and arrays a case does not use are not touched.
_jit = numba.njit(cache=True, nogil=True, error_model="numpy")


@_jit
def moments(gi, pi, mi, vi, sgn, l2, wd, decay, small, w, omw, beta2, omb2):
    gi = gi * sgn
    gi = gi + wd * pi if l2 else gi
    pi = pi * decay
    d = gi - mi
    mi = mi + d * w if small else gi - d * omw
    vi = vi * beta2 + (gi * omb2) * gi
    return pi, mi, vi


@_jit
def adam_step(p, g, m, v, vmax, lo, hi, sgn, l2, wd, decay, small, w, omw, beta2, omb2,
              bc2, eps, nss, amsgrad):
    # flat views of the range, so the loops index from 0 (a loop from ``lo`` leaves
    # numba's negative-index wraparound in the loop, which LLVM then does not vectorize)
    p, g, m, v = p.reshape(-1)[lo:hi], g.reshape(-1)[lo:hi], m.reshape(-1)[lo:hi], \
        v.reshape(-1)[lo:hi]
    vmax = vmax.reshape(-1)[lo:hi]
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


@_jit
def signed(gi, pi, neg, l2, wd):
    gi = -gi if neg else gi
    return gi + wd * pi if l2 else gi



@_jit
def sgd(p, g, buf, neg, l2, wd, mode, mu, omd, nesterov, lr):
    p, g, buf = p.reshape(-1), g.reshape(-1), buf.reshape(-1)
    if mode == 0:
        for i in range(p.shape[0]):
            p[i] = p[i] - signed(g[i], p[i], neg, l2, wd) * lr
    elif mode == 1:
        for i in range(p.shape[0]):
            gi = signed(g[i], p[i], neg, l2, wd)
            buf[i] = gi
            p[i] = p[i] - (gi + gi * mu if nesterov else gi) * lr
    else:
        for i in range(p.shape[0]):
            gi = signed(g[i], p[i], neg, l2, wd)
            b = buf[i] * mu + gi * omd
            buf[i] = b
            p[i] = p[i] - (gi + b * mu if nesterov else b) * lr


@_jit
def rmsprop(p, g, sq, ga, buf, neg, l2, wd, alpha, oma, centered, small, w, omw, eps,
            momentum, mu, lr, nlr):
    p, g, sq, ga, buf = (p.reshape(-1), g.reshape(-1), sq.reshape(-1), ga.reshape(-1),
                         buf.reshape(-1))
    n = p.shape[0]
    if centered:
        for i in range(n):
            gi = signed(g[i], p[i], neg, l2, wd)
            v = sq[i] * alpha + (gi * oma) * gi
            sq[i] = v
            a = ga[i]
            d = gi - a
            a = a + d * w if small else gi - d * omw
            ga[i] = a
            avg = math.sqrt(v - a * a) + eps
            if momentum:
                b = buf[i] * mu + gi / avg
                buf[i] = b
                p[i] = p[i] - b * lr
            else:
                p[i] = p[i] + (gi * nlr) / avg
    elif momentum:
        for i in range(n):
            gi = signed(g[i], p[i], neg, l2, wd)
            v = sq[i] * alpha + (gi * oma) * gi
            sq[i] = v
            b = buf[i] * mu + gi / (math.sqrt(v) + eps)
            buf[i] = b
            p[i] = p[i] - b * lr
    else:
        for i in range(n):
            gi = signed(g[i], p[i], neg, l2, wd)
            v = sq[i] * alpha + (gi * oma) * gi
            sq[i] = v
            p[i] = p[i] + (gi * nlr) / (math.sqrt(v) + eps)


@_jit
def adagrad(p, g, s, neg, l2, wd, eps, nclr):
    p, g, s = p.reshape(-1), g.reshape(-1), s.reshape(-1)
    for i in range(p.shape[0]):
        gi = signed(g[i], p[i], neg, l2, wd)
        v = s[i] + gi * gi
        s[i] = v
        p[i] = p[i] + (gi * nclr) / (math.sqrt(v) + eps)


@_jit
def mixed(x, g, codes, bounds, slots, idx, hp):
    o = 0
    for k in range(codes.shape[0]):
        a, b, c = bounds[k], bounds[k + 1], codes[k]
        if c < 0 or a == b:
            continue
        p, gk = x[a:b], g[a:b]
        s0, s1, s2 = slots[idx[k, 0], a:b], slots[idx[k, 1], a:b], slots[idx[k, 2], a:b]
        if c == 0:
            sgd(p, gk, s0, hp[o] != 0, hp[o + 1] != 0, hp[o + 2], int(hp[o + 3]),
                hp[o + 4], hp[o + 5], hp[o + 6] != 0, hp[o + 7])
            o += 8
        elif c == 1:
            adam_step(p, gk, s0, s1, s2, 0, p.size, hp[o], hp[o + 1] != 0, hp[o + 2],
                      hp[o + 3], hp[o + 4] != 0, hp[o + 5], hp[o + 6], hp[o + 7], hp[o + 8],
                      hp[o + 9], hp[o + 10], hp[o + 11], hp[o + 12] != 0)
            o += 13
        elif c == 2:
            rmsprop(p, gk, s0, s1, s2, hp[o] != 0, hp[o + 1] != 0, hp[o + 2], hp[o + 3],
                    hp[o + 4], hp[o + 5] != 0, hp[o + 6] != 0, hp[o + 7], hp[o + 8],
                    hp[o + 9], hp[o + 10] != 0, hp[o + 11], hp[o + 12], hp[o + 13])
            o += 14
        else:
            adagrad(p, gk, s0, hp[o] != 0, hp[o + 1] != 0, hp[o + 2], hp[o + 3],
                    hp[o + 4])
            o += 5
