"""Training data for the descent loop: batch streams over arrays and files, in bounded memory.

File streams can hold out a test part by a hash of the row index (``test_fraction``,
:class:`RowSplit`) and accumulate the cross-moments for least squares in their validating
scan (``moments=True``, :class:`CrossMoments`).

Every stream yields ``(X, y)`` batches through ``batches(epoch, start=0)`` in an
order that depends only on (seed, epoch) and the order parameters
(``batch_size``, ``chunk_rows``, ``buffer_chunks``, ``shuffle``), identical for
in-memory arrays and files holding the same rows; see :mod:`gdlab.data._order`.

pyarrow and scikit-learn are imported only when a file stream or a bundled
dataset is used (dask and distributed only when a :class:`DaskStream` is made), so
``import gdlab.data`` stays fast.
"""

from ._split import RowSplit
from .csv_stream import CSVStream
from .dask_stream import DaskStream
from .datasets import (
                       LECTURE_COEF,
                       LECTURE_INTERCEPT,
                       load_dataset,
                       make_classification_blobs,
                       make_lecture_example,
                       make_linear,
)
from .idx import load_idx_pair, read_idx, write_idx
from .moments import CrossMoments
from .open import open_stream
from .parquet_stream import ParquetStream
from .standardize import ConstantColumnWarning, RunningStats, Standardizer
from .stream import ArrayStream, BatchStream, RowSubset

__all__ = [
    "BatchStream", "ArrayStream", "CSVStream", "ParquetStream", "DaskStream", "open_stream",
    "RowSplit", "RowSubset", "CrossMoments",
    "Standardizer", "RunningStats", "ConstantColumnWarning",
    "read_idx", "write_idx", "load_idx_pair", "load_dataset",
    "make_linear", "make_lecture_example", "make_classification_blobs",
    "LECTURE_COEF", "LECTURE_INTERCEPT",
]

