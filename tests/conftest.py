"""Shared fixtures: for tests/test_dask*.py, ``dask_client``, one in-process Dask cluster for
the whole session (two workers of one thread each, in threads of this process), and
``dask_processes``, two worker processes for one module; ``count_kernel``, which counts the
calls of a compiled kernel (tests/test_fused.py, tests/test_serve_api.py)."""

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


@pytest.fixture
def count_kernel(monkeypatch):
    """``count_kernel(getter) -> calls``: from then on ``gdlab.kernels.<getter>()`` gives the
    same kernel counting its calls in ``calls[0]`` (for ``step_kernels``, each of its
    kernels counts there), so a test knows the compiled path ran."""
    from gdlab import kernels

    def count(getter: str) -> list[int]:
        calls = [0]

        def counted(fn: Any) -> Any:
            def call(*args: Any) -> Any:
                calls[0] += 1
                return fn(*args)
            return call

        real = getattr(kernels, getter)()
        fake = kernels.StepKernels(counted(real.sgd), counted(real.rmsprop),
                                   counted(real.adagrad)) \
            if isinstance(real, kernels.StepKernels) else counted(real)
        monkeypatch.setattr(kernels, getter, lambda: fake)
        return calls

    return count
