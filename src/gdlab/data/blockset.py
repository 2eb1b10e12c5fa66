"""Row blocks on Dask workers, seen from the client: :class:`BlockSet` (one future per
block, passes over the blocks run where they are, results merged in block order),
:func:`gather` (waits through lost workers and turns cluster failures into one
:class:`ClusterError`) and :class:`BlockStandardizer`. See :mod:`gdlab.data.dask_stream`.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import GdlabError, ParameterError
from . import _dask_blocks as B
from .standardize import Standardizer

__all__ = ["BlockSet", "BlockStandardizer", "ClusterError", "gather"]

#: seconds a computation waits while the cluster has no worker at all, before it fails
NO_WORKERS_TIMEOUT = 60.0


class ClusterError(GdlabError):
    """The Dask cluster could not finish a computation: a worker died each time it ran a
    task, the scheduler went away, or no worker was left. ``run_failed``: the run failed
    on the way (the CLI's exit code 1), not its input (a scheduler that cannot be reached:
    ``False``, exit code 2)."""

    def __init__(self, message: str, *, run_failed: bool = True):
        super().__init__(message)
        self.run_failed = run_failed


# --- waiting for the cluster ----------------------------------------------------------------

def gather(client: Any, futures: Sequence[Any]) -> list:
    """The results of ``futures``, waiting while the cluster recovers lost workers (the
    scheduler computes lost blocks again from their source). Failures become one clear
    :class:`ClusterError`: a task whose workers kept dying (naming the last one), a lost
    scheduler, no worker left for :data:`NO_WORKERS_TIMEOUT` seconds. Errors raised by the
    tasks themselves (a bad cell in a file) come through as they are."""
    from distributed import wait
    futures = list(futures)
    empty_since: float | None = None
    try:
        while True:
            try:
                wait(futures, timeout=2.0)
                break
            except TimeoutError:
                empty_since = _check_workers(client, empty_since)
        return client.gather(futures)
    except GdlabError:
        raise
    except Exception as exc:  # noqa: BLE001 - translated below, or re-raised as it is
        _translate(exc)
        raise


def _check_workers(client: Any, empty_since: float | None) -> float | None:
    """Fail when the cluster has had no worker for too long; the new ``empty_since``."""
    if client.status not in ("running", "connecting"):
        raise ClusterError(f"lost the connection to the Dask scheduler "
                           f"{client.scheduler.address} (client {client.status})")
    if client.nthreads():
        return None
    now = time.monotonic()
    if empty_since is None:
        return now
    if now - empty_since > NO_WORKERS_TIMEOUT:
        raise ClusterError(f"the Dask cluster {client.scheduler.address} has had no worker "
                           f"for {NO_WORKERS_TIMEOUT:g} s; the fit stopped without a model")
    return empty_since


def _translate(exc: BaseException) -> None:
    """Raise the ClusterError that says what ``exc`` (from distributed) means, or return."""
    from distributed.client import FutureCancelledError
    from distributed.scheduler import KilledWorker
    if isinstance(exc, KilledWorker):
        worker = getattr(exc.last_worker, "address", exc.last_worker)
        raise ClusterError(
            f"the Dask worker {worker} died while running a gdlab task, and so did the "
            f"{exc.allowed_failures} worker(s) that ran it before (distributed's "
            f"allowed-failures); the fit stopped without a model (look at that worker's log: "
            f"out of memory?)") from None
    if isinstance(exc, FutureCancelledError):
        raise ClusterError(f"the Dask scheduler cancelled a gdlab computation ({exc}); the "
                           f"fit stopped without a model") from None
    if isinstance(exc, OSError):
        raise ClusterError(f"lost the connection to the Dask scheduler ({exc}); the fit "
                           f"stopped without a model") from None


# --- blocks -----------------------------------------------------------------------------------

class BlockSet:
    """Row blocks held by Dask workers: one future per block, each an ``(X, y)`` pair.

    ``sizes`` are the rows per block; ``recipe`` (when given) makes the futures again after
    :meth:`release` (the blocks are then read or computed again from their source).
    ``scaler`` (a :class:`~gdlab.data.Standardizer`) is applied to ``X`` on the workers
    before each pass (:meth:`scaled` makes such a view). ``len()`` is the number of rows,
    so a BlockSet is the one piece of a full-batch epoch.
    """

    def __init__(self, client: Any, futures: list | None, sizes: Any, *,
                 feature_names: Sequence[str], target_name: str, dtype: Any,
                 labels: bool = False, n_targets: int = 1,
                 recipe: Callable[[], list] | None = None,
                 scaler: Standardizer | None = None, base: "BlockSet | None" = None):
        self.client = client
        self._futures = None if futures is None else list(futures)
        self.sizes = np.asarray(sizes, dtype=np.int64)
        self.feature_names = list(feature_names)
        self.target_name = target_name
        self.dtype = np.dtype(dtype)
        #: ``y`` holds raw class labels (not yet numbers 0 .. K-1)
        self.labels = labels
        #: columns of ``y`` (1 for a 1-D target)
        self.n_targets = int(n_targets)
        self._recipe = recipe
        self.scaler = scaler
        self._base = base
        #: names this set of blocks in worker-side caches
        self.token: str = uuid.uuid4().hex if base is None else base.token

    @property
    def n_blocks(self) -> int:
        return len(self.sizes)

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    def __len__(self) -> int:
        return int(self.sizes.sum())

    def __repr__(self) -> str:
        return (f"BlockSet({len(self):,} rows x {self.n_features} features in "
                f"{self.n_blocks} blocks{', scaled' if self.scaler is not None else ''})")

    @property
    def futures(self) -> list:
        """The blocks' futures (made again from the recipe after :meth:`release`)."""
        if self._base is not None:
            return self._base.futures
        if self._futures is None:
            if self._recipe is None:
                raise ParameterError("these blocks were closed")
            self._futures = list(self._recipe())
        return self._futures

    def release(self) -> None:
        """Let the workers drop the blocks when nothing else needs them (a block wanted
        later is made again from the recipe). Without a recipe, nothing happens."""
        if self._base is None and self._recipe is not None:
            self._futures = None

    def close(self) -> None:
        """Release the blocks for good."""
        if self._base is None:
            self._futures = None
            self._recipe = None

    def scaled(self, scaler: Standardizer | None) -> "BlockSet":
        """A view of these blocks whose ``X`` is standardized by ``scaler`` in each pass."""
        plain = None if scaler is None else _plain(scaler)
        return BlockSet(self.client, None, self.sizes, feature_names=self.feature_names,
                        target_name=self.target_name, dtype=self.dtype, labels=self.labels,
                        n_targets=self.n_targets, scaler=plain, base=self._base or self)

    def derive(self, fn: Callable[..., Any], *args: Any, release: bool = False,
               **kw: Any) -> "BlockSet":
        """New blocks ``fn(block, *args)`` made on the workers (sizes read back), with a
        recipe that makes them again from these blocks. ``release``: release these blocks
        (:meth:`release`) once the new ones are asked for, so each worker drops a block as
        soon as its new block exists (the scheduler keeps how to make it again)."""
        client = self.client

        def recipe() -> list:
            return [client.submit(fn, f, *args, pure=False) for f in self.futures]

        futures = recipe()
        if release:
            self.release()
        sizes = gather(client, [client.submit(B.n_rows, f, pure=False) for f in futures])
        return BlockSet(client, futures, sizes, feature_names=self.feature_names,
                        target_name=self.target_name, dtype=self.dtype,
                        labels=kw.get("labels", self.labels), n_targets=self.n_targets,
                        recipe=recipe)

    def per_block(self, fn: Callable[..., Any], *args: Any) -> list:
        """``[fn(X, y, i, *args) for each block i]`` computed on the workers: one task per
        worker, over the blocks it holds (``X`` scaled first for a :meth:`scaled` view).
        The results come back in block order."""
        futures = self.futures
        groups = self._groups(futures)
        tasks = []
        for worker, idx in groups.items():
            where = {} if worker is None else {"workers": [worker], "allow_other_workers": True}
            tasks.append(self.client.submit(
                B.run_group, [futures[i] for i in idx], idx, self.sizes[idx].tolist(),
                self.scaler, fn, args, pure=False, **where))
        out: list = [None] * len(futures)
        for idx, results in zip(groups.values(), gather(self.client, tasks)):
            for i, r in zip(idx, results):
                out[i] = r
        return out

    def _groups(self, futures: list) -> dict[str | None, list[int]]:
        """Block positions by the worker holding each block (``None``: not in memory)."""
        try:
            who = self.client.who_has(futures)
        except Exception:  # noqa: BLE001 - a hint only: tasks may run anywhere
            who = {}
        groups: dict[str | None, list[int]] = {}
        for i, f in enumerate(futures):
            holders = who.get(f.key) or ()
            groups.setdefault(holders[0] if holders else None, []).append(i)
        return groups

    def fetch(self, ids: Any) -> list[tuple[np.ndarray, np.ndarray]]:
        """The blocks ``ids`` themselves, on the client."""
        futures = self.futures
        return gather(self.client, [futures[int(k)] for k in ids])


def _plain(scaler: Standardizer) -> Standardizer:
    """A plain :class:`Standardizer` with ``scaler``'s numbers (what workers receive)."""
    if type(scaler) is Standardizer:
        return scaler
    s = Standardizer()
    s.__dict__.update({k: v for k, v in scaler.__dict__.items() if k in s.__dict__})
    return s


class BlockStandardizer(Standardizer):
    """A :class:`Standardizer` fitted on a DaskStream's blocks (on the workers). It
    transforms arrays as any other; given a :class:`BlockSet` it returns the view of the
    blocks scaled on the workers (:meth:`BlockSet.scaled`), so passes over a stream's
    chunks (``iter_chunks``) stay on the workers."""

    def transform(self, X: Any) -> Any:
        if isinstance(X, BlockSet):
            return X.scaled(self)
        return super().transform(X)
