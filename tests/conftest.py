"""Shared fixtures for tests/test_dask*.py: ``dask_client``, one in-process Dask cluster for
the whole session (two workers of one thread each, in threads of this process), and
``dask_processes``, two worker processes for one module."""

from __future__ import annotations

import contextlib
import logging
from typing import Any, Iterator

import pytest


@contextlib.contextmanager
def _local_client(processes: bool, config: dict[str, Any] | None = None) -> Iterator[Any]:
    """A client of a LocalCluster of two one-thread workers (``config``: Dask settings in
    force while the cluster starts)."""
    distributed = pytest.importorskip("distributed")
    import dask

    with dask.config.set(config or {}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                           processes=processes, dashboard_address="127.0.0.1:0",
                                           silence_logs=logging.ERROR)
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="session")
def dask_client():
    """A client of a session-wide in-process LocalCluster (processes=False, 2 threads)."""
    with _local_client(processes=False) as client:
        yield client


@pytest.fixture(scope="module")
def dask_processes():
    """Two worker processes with nannies (a killed worker is restarted); a task is retried
    once after its worker dies."""
    with _local_client(processes=True,
                       config={"distributed.scheduler.allowed-failures": 1}) as client:
        yield client
