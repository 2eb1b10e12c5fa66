"""The one batch-order scheme shared by every stream.

Rows ``0 .. n-1`` (file order) are grouped in fixed chunks of ``chunk_rows``
rows (the last chunk may be shorter).  For a shuffled epoch:

1. the chunk order is ``default_rng([seed, epoch]).permutation(n_chunks)``;
2. consecutive runs of ``buffer_chunks`` chunks in that order form a shuffle
   buffer; buffer ``b``'s rows (its chunks concatenated in that order) are
   permuted by ``default_rng([seed, epoch, 1, b]).permutation(rows_in_buffer)``;
3. the permuted buffers, one after the other, form the epoch's row stream and
   batch ``i`` is rows ``[i*batch_size, (i+1)*batch_size)`` of that stream
   (so a batch can straddle two buffers; only the last batch is shorter).

Unshuffled epochs use file order.  Each buffer has its own generator (the
``1`` is a tag: numpy's ``SeedSequence`` treats ``[s, e]`` and ``[s, e, 0]`` as
the same seed), so skipping the first ``start`` batches costs no I/O and no
random draws for the skipped buffers, and never changes the rest.

Everything here works on row *positions*; the streams only say how to load
the rows of a list of chunks (``load_buffer``).
"""

from __future__ import annotations

import numbers
from typing import Callable, Iterator

import numpy as np

from ..errors import ParameterError

# ``take(lo, hi)`` returns rows ``lo .. hi-1`` of a (permuted) buffer as (X, y).
Taker = Callable[[int, int], "tuple[np.ndarray, np.ndarray]"]
# ``load_buffer(chunk_ids, perm)`` returns the taker of one buffer; ``perm`` is
# None for file order, else the permutation of the buffer's concatenated rows.
LoadBuffer = Callable[[np.ndarray, "np.ndarray | None"], Taker]


def check_int(value, name: str, minimum: int, allow_none: bool = False):
    """Return ``value`` as int if it is an integer >= minimum (bools refused)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        kind = "None or an integer" if allow_none else "an integer"
        raise ParameterError(f"{name} must be {kind} >= {minimum}, got {value!r}")
    value = int(value)
    if value < minimum:
        raise ParameterError(f"{name} must be >= {minimum}, got {value}")
    return value


#: the default chunk of file streams: rows of about this many bytes of float64 values
CHUNK_BYTES = 2 << 20


def default_chunk_rows(n_columns: int) -> int:
    """Rows of about :data:`CHUNK_BYTES` of float64 values: a multiple of 1,024, at least
    1,024 (12,288 rows for 21 columns)."""
    return max(1024, (CHUNK_BYTES // (8 * max(1, n_columns))) // 1024 * 1024)


def chunk_starts(n_rows: int, chunk_rows: int) -> np.ndarray:
    """Start row of every chunk plus ``n_rows`` at the end (length n_chunks + 1)."""
    starts = np.arange(0, n_rows, chunk_rows, dtype=np.int64)
    return np.append(starts, np.int64(n_rows))


def chunk_order(n_chunks: int, shuffle: bool, seed: int, epoch: int) -> np.ndarray:
    if not shuffle:
        return np.arange(n_chunks, dtype=np.int64)
    return np.random.default_rng([seed, epoch]).permutation(n_chunks)


def buffer_permutation(seed: int, epoch: int, buffer_index: int, size: int) -> np.ndarray:
    return np.random.default_rng([seed, epoch, 1, buffer_index]).permutation(size)


def epoch_buffers(bounds: np.ndarray, buffer_chunks: int, shuffle: bool, seed: int,
                  epoch: int) -> list[np.ndarray]:
    """The chunk ids of every shuffle buffer of the epoch, in stream order."""
    n_chunks = len(bounds) - 1
    order = chunk_order(n_chunks, shuffle, seed, epoch)
    step = buffer_chunks if shuffle else 1  # file order: buffering changes nothing
    return [order[i:i + step] for i in range(0, n_chunks, step)]


def iter_batches(bounds: np.ndarray, batch_size: int, buffer_chunks: int, shuffle: bool,
                 seed: int, epoch: int, start: int, load_buffer: LoadBuffer,
                 sizes: Iterator[int] | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Cut the epoch's row stream into batches, beginning at batch ``start``.

    ``sizes`` (rows per yielded piece, in order) joins consecutive batches into larger
    pieces: with ``batch_size=1`` a piece of ``k`` rows is exactly the next ``k`` batches
    stacked (the compiled online-SGD sweep reads its segments this way). The last piece
    is cut at the end of the epoch.
    """
    chunk_sizes = np.diff(bounds)
    skip_rows = start * batch_size
    want = batch_size if sizes is None else int(next(sizes, batch_size))
    pending: list[tuple[np.ndarray, np.ndarray]] = []
    pending_rows = 0
    stream_pos = 0  # stream position of the current buffer's first row
    for b, chunk_ids in enumerate(epoch_buffers(bounds, buffer_chunks, shuffle, seed, epoch)):
        size = int(chunk_sizes[chunk_ids].sum())
        if stream_pos + size <= skip_rows:
            stream_pos += size
            continue
        perm = buffer_permutation(seed, epoch, b, size) if shuffle else None
        take = load_buffer(chunk_ids, perm)
        local = max(skip_rows - stream_pos, 0)
        while local < size:
            n_take = min(want - pending_rows, size - local)
            pending.append(take(local, local + n_take))
            pending_rows += n_take
            local += n_take
            if pending_rows == want:
                yield _join(pending)
                pending, pending_rows = [], 0
                if sizes is not None:
                    want = int(next(sizes, batch_size))
        del take
        stream_pos += size
    if pending_rows:
        yield _join(pending)


def _join(pieces):
    if len(pieces) == 1:
        return pieces[0]
    return (np.concatenate([p[0] for p in pieces]), np.concatenate([p[1] for p in pieces]))
