"""Least squares from one streaming pass: the cross-moments of ``[X, y]``.

``CrossMoments`` accumulates, in float64, the count, the column means and the *centred*
cross-products ``Σ(x − x̄)(x − x̄)ᵀ``, ``Σ(x − x̄)(y − ȳ)`` and ``Σ(y − ȳ)²`` block by block,
merging blocks with the pairwise formula of Chan, Golub & LeVeque (the covariance form of
the one :class:`~gdlab.data.RunningStats` uses). These are ``XᵀX``, ``Xᵀy`` and the sums
the intercept needs, centred: the normal equations of the centred data have the same
solution and a far better condition than raw ``XᵀX`` when a feature's mean is large
against its spread. The least-squares coefficients then cost one ``d × d`` solve, however
many rows streamed, and the residual sum of squares of *any* linear model follows from the
same numbers, so a gradient-descent fit is compared with the exact solution without
another pass over the data.

Memory is ``d²`` floats and each row costs ``d²`` multiply-adds, so the file streams
collect these only up to :data:`MAX_FEATURES` features.
"""

from __future__ import annotations

import numpy as np

#: feature counts above this get no moments from a scan (``d²`` work per row)
MAX_FEATURES = 2_000


class CrossMoments:
    """Count, means and centred cross-products of the features and one target; mergeable.

    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 3)); y = X @ [1.0, -2.0, 0.5] + 3.0
    >>> m = CrossMoments(3).update(X[:200], y[:200]).merge(CrossMoments(3).update(X[200:],
    ...                                                                      y[200:]))
    >>> coef, intercept = m.least_squares()
    >>> np.round(coef, 10).tolist(), round(intercept, 10), round(m.r2(coef, intercept), 12)
    ([1.0, -2.0, 0.5], 3.0, 1.0)
    """

    #: rows per block in :meth:`update` (at least this many, more for narrow data)
    _BLOCK_BYTES = 8 << 20

    def __init__(self, n_features: int):
        d = int(n_features)
        self.n = 0
        self.mean_x = np.zeros(d)
        self.mean_y = 0.0
        self.cxx = np.zeros((d, d))
        self.cxy = np.zeros(d)
        self.cyy = 0.0

    @property
    def n_features(self) -> int:
        return len(self.mean_x)

    def update(self, X: np.ndarray, y: np.ndarray) -> "CrossMoments":
        """Fold the rows of ``X`` (n × d) and ``y`` (n,) in."""
        X = np.asarray(X)
        y = np.asarray(y).reshape(-1)
        rows = max(1024, self._BLOCK_BYTES // (8 * max(1, X.shape[1])))
        for a in range(0, len(y), rows):
            B = np.asarray(X[a:a + rows], dtype=np.float64)
            t = np.asarray(y[a:a + rows], dtype=np.float64)
            block = CrossMoments(B.shape[1])
            block.n = len(t)
            block.mean_x = B.mean(axis=0)
            block.mean_y = float(t.mean())
            Bc = B - block.mean_x
            tc = t - block.mean_y
            block.cxx = Bc.T @ Bc
            block.cxy = Bc.T @ tc
            block.cyy = float(tc @ tc)
            self.merge(block)
        return self

    def merge(self, other: "CrossMoments") -> "CrossMoments":
        """Fold another accumulator in (Chan et al.'s pairwise update)."""
        if other.n == 0:
            return self
        if self.n == 0:
            self.n, self.mean_y, self.cyy = other.n, other.mean_y, other.cyy
            self.mean_x, self.cxx, self.cxy = other.mean_x.copy(), other.cxx.copy(), \
                other.cxy.copy()
            return self
        n = self.n + other.n
        f = self.n * other.n / n
        dx = other.mean_x - self.mean_x
        dy = other.mean_y - self.mean_y
        self.cxx += other.cxx
        self.cxx += f * np.outer(dx, dx)
        self.cxy += other.cxy + f * dy * dx
        self.cyy += other.cyy + f * dy * dy
        self.mean_x += dx * (other.n / n)
        self.mean_y += dy * (other.n / n)
        self.n = n
        return self

    def copy(self) -> "CrossMoments":
        return CrossMoments(self.n_features).merge(self)

    def least_squares(self) -> tuple[np.ndarray, float]:
        """``(coef, intercept)`` minimizing ``Σ(y − x·coef − intercept)²``.

        The normal equations are scaled to a unit diagonal and solved by Cholesky; a
        singular or badly conditioned system (collinear or constant features) falls back to
        ``numpy.linalg.lstsq``, whose answer is then the least-squares solution of smallest
        norm (the scaled one), and constant features get coefficient 0.
        """
        if self.n == 0:
            raise ValueError("no rows: least squares needs data")
        diag = np.diag(self.cxx)
        s = np.sqrt(np.where(diag > 0, diag, 1.0))
        A = self.cxx / np.outer(s, s)
        b = self.cxy / s
        z = _solve_spd(A, b)
        coef = np.where(diag > 0, z / s, 0.0)
        intercept = float(self.mean_y - self.mean_x @ coef)
        return coef, intercept

    def sse(self, coef: np.ndarray, intercept: float) -> float:
        """``Σ(y − x·coef − intercept)²`` over the rows folded in (any coefficients)."""
        c = np.asarray(coef, dtype=np.float64).reshape(-1)
        centred = self.cyy - 2.0 * float(c @ self.cxy) + float(c @ self.cxx @ c)
        bias = self.mean_y - float(self.mean_x @ c) - float(intercept)
        return max(centred, 0.0) + self.n * bias * bias

    def r2(self, coef: np.ndarray, intercept: float) -> float:
        """R² of the linear model ``(coef, intercept)`` on these rows (0 for a constant y)."""
        return 1.0 - self.sse(coef, intercept) / self.cyy if self.cyy > 0 else 0.0


def _solve_spd(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve ``A z = b`` for a symmetric positive semi-definite ``A`` with a unit diagonal
    (where not zero): Cholesky when it is well conditioned, else ``lstsq``."""
    try:
        L = np.linalg.cholesky(A)
    except np.linalg.LinAlgError:
        L = None
    if L is not None:
        d = np.diag(L)
        if d.size and float(d.min()) > 1e-6 * float(d.max()):  # condition below about 1e12
            from scipy.linalg import solve_triangular
            w = solve_triangular(L, b, lower=True)
            return solve_triangular(L.T, w, lower=False)
    return np.linalg.lstsq(A, b, rcond=None)[0]


def gram_block(X: np.ndarray, with_gram: bool = True
               ) -> tuple[np.ndarray | None, float, float, int]:
    """``(AᵀA, max ‖aᵢ‖², Σ‖aᵢ‖², n)`` of one block for ``A = [X, 1]`` in float64, built
    from X's blocks (no copy of A): the share of one block in the estimators' data step
    (:func:`gdlab.models.estimators.data_step`), on one machine or on a Dask worker."""
    X = np.asarray(X, dtype=np.float64)
    norms = np.einsum("ij,ij->i", X, X) + 1.0
    G = None
    if with_gram:
        d = X.shape[1] + 1
        G = np.empty((d, d))
        sums = X.sum(axis=0)
        G[:-1, :-1] = X.T @ X
        G[:-1, -1] = sums
        G[-1, :-1] = sums
        G[-1, -1] = len(X)
    return G, float(norms.max(initial=0.0)), float(norms.sum()), len(X)

