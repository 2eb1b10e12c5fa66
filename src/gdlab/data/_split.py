"""``RowSplit``: a train/test split of a file's rows that streams.

Row ``i`` (0-based, in file order) belongs to the test part when a 64-bit hash of ``i`` and
the seed falls below ``fraction · 2⁶⁴``. The decision needs nothing but the row's index, so
a scan, an epoch and a scoring pass each recompute it for the rows they read, in any order
and in any block size, and always agree; no file is read whole and no index list is kept.
The test part holds *about* ``fraction`` of the rows (each row is in it with that
probability, independently), not an exact count as a permutation of in-memory rows gives.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..errors import ParameterError

# SplitMix64 (Steele, Lea & Flood 2014): a bijective mixer whose outputs for consecutive
# inputs pass statistical tests; numpy's uint64 arithmetic wraps modulo 2**64 as it needs.
_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(z: np.ndarray) -> np.ndarray:
    z = z ^ (z >> np.uint64(30))
    z *= _M1
    z ^= z >> np.uint64(27)
    z *= _M2
    z ^= z >> np.uint64(31)
    return z


class RowSplit:
    """Which rows of a file are held out for testing: about ``fraction`` of them, chosen by
    a hash of the row index and ``seed``.

    >>> s = RowSplit(0.25, seed=0)
    >>> s.test_mask(0, 8).tolist()
    [False, False, False, True, False, False, False, True]
    >>> bool((s.test_mask(4, 4) == s.test_mask(0, 8)[4:]).all())
    True
    """

    fraction: float
    seed: int
    _key: np.uint64
    _threshold: np.uint64

    def __init__(self, fraction: float, seed: int = 0):
        if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real) \
                or not 0 <= float(fraction) < 1:
            raise ParameterError(f"the test fraction must be a number in [0, 1), "
                                 f"got {fraction!r}")
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise ParameterError(f"seed must be an integer, got {seed!r}")
        self.fraction = float(fraction)
        self.seed = int(seed)
        key = np.array([self.seed % (1 << 64)], dtype=np.uint64)
        self._key = _mix(key * _GAMMA + _GAMMA)[0]
        # rows whose hash is below this are test rows (2**64 * fraction, exactly as a float)
        self._threshold = np.uint64(min(int(self.fraction * 2.0 ** 64), (1 << 64) - 1))

    def test_mask(self, start: int, n: int) -> np.ndarray:
        """``True`` for the test rows among rows ``start .. start + n - 1``."""
        rows = np.arange(start, start + n, dtype=np.uint64)
        return _mix((rows + self._key) * _GAMMA) < self._threshold

    def count_test(self, n_rows: int, block: int = 1 << 20) -> int:
        """The number of test rows among rows ``0 .. n_rows - 1``."""
        return sum(int(np.count_nonzero(self.test_mask(a, min(block, n_rows - a))))
                   for a in range(0, n_rows, block))

    def __repr__(self) -> str:
        return f"RowSplit({self.fraction!r}, seed={self.seed})"
