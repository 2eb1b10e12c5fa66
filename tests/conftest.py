"""Shared fixtures. ``dask_client``: one in-process Dask cluster for the whole session
(two workers of one thread each, in threads of this process), for tests/test_dask*.py."""

from __future__ import annotations

import logging

import pytest


@pytest.fixture(scope="session")
def dask_client():
    """A client of a session-wide in-process LocalCluster (processes=False, 2 threads)."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                       dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR)
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
