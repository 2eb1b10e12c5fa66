"""Reaching a Dask cluster: an embedded :class:`distributed.LocalCluster`, or a scheduler
named by its address.

:func:`connect` returns a :class:`Cluster` (a client, and the embedded cluster it runs); a
scheduler that cannot be reached is one :class:`~gdlab.data.dask_stream.ClusterError`
naming it. :func:`embedded_workers` is the default shape of an embedded cluster.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from ..errors import ParameterError
from .blockset import ClusterError

__all__ = ["Cluster", "connect", "embedded_workers"]

#: an embedded cluster runs in worker processes when the data is larger than this fraction
#: of the memory available (else in threads of one process: no copies between processes)
PROCESS_FRACTION = 0.25
#: seconds to wait for a scheduler named by ``connect(scheduler=...)``
CONNECT_TIMEOUT = 10.0


class Cluster:
    """A Dask client and, for an embedded cluster, the :class:`LocalCluster` it runs;
    :meth:`close` (or ``with``) shuts the embedded one down."""

    def __init__(self, client: Any, cluster: Any = None, description: str = ""):
        self.client = client
        self.cluster = cluster
        self.description = description

    @property
    def n_workers(self) -> int:
        return len(self.client.nthreads())

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def __enter__(self) -> "Cluster":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def embedded_workers(data_bytes: int | None) -> tuple[int, bool]:
    """``(workers, processes)`` of an embedded cluster when no size is given: the data in
    threads of one process when it takes at most :data:`PROCESS_FRACTION` of the available
    memory (nothing is copied between processes, start-up is quick), else one worker
    process per core (at most 8), each with its share of the memory."""
    cores = os.cpu_count() or 1
    if data_bytes is None or data_bytes <= PROCESS_FRACTION * _available_memory():
        return 1, False
    return max(1, min(cores, 8)), True


def _available_memory() -> int:
    try:
        import psutil
        return int(psutil.virtual_memory().available)
    except Exception:  # noqa: BLE001 - psutil comes with distributed; a guess otherwise
        return 4 << 30


def connect(scheduler: str | None = None, n_workers: int | None = None, *,
            processes: bool | None = None, threads_per_worker: int | None = None,
            data_bytes: int | None = None, timeout: float | None = None) -> Cluster:
    """A :class:`Cluster`: a client of the scheduler at ``scheduler`` (``tcp://host:port``),
    or an embedded :class:`distributed.LocalCluster` of ``n_workers`` worker processes
    (``None``: see :func:`embedded_workers`, from ``data_bytes``). A scheduler that cannot
    be reached within ``timeout`` seconds (default :data:`CONNECT_TIMEOUT`) is a
    :class:`ClusterError` naming it."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ParameterError("Dask needs dask and distributed: pip install 'gdlab[dask]'") \
            from None
    if scheduler is not None:
        try:
            wait = CONNECT_TIMEOUT if timeout is None else timeout
            client = Client(scheduler, timeout=f"{wait}s")
        except (OSError, TimeoutError, ValueError) as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise ClusterError(f"cannot reach the Dask scheduler at {scheduler}: "
                               f"{reason}", run_failed=False) from None
        return Cluster(client, None, f"the Dask cluster at {scheduler}")
    if n_workers is None:
        n_workers, auto = embedded_workers(data_bytes)
        processes = auto if processes is None else processes
    processes = True if processes is None else processes
    threads = threads_per_worker or (1 if processes else max(1, os.cpu_count() or 1))
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=threads,
                           processes=processes, dashboard_address="127.0.0.1:0",
                           silence_logs=logging.ERROR)
    where = f"{n_workers} worker processes" if processes else \
        f"{n_workers} worker{'s' if n_workers > 1 else ''} in this process"
    return Cluster(Client(cluster), cluster,
                   f"an embedded Dask cluster ({where}, {threads} thread"
                   f"{'s' if threads > 1 else ''} each)")
