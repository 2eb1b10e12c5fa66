"""The descent on an embedded 2-worker Dask LocalCluster against one process (a benchmark,
not a test).

Run:  OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_dask.py [--rows 1000000]
          [--gb 4] [--dir DIR] [--keep] [--skip-parquet] [--block-mb 16,64,256]

1. **1M x 100 float64** (``--rows``), made block by block by a seeded generator: on the
   workers for the cluster (nothing is shipped from the client), in this process for the
   single-process path (numpy arrays). Blocks of 125,000 rows (100 MB).

   * one full-batch evaluation (loss + gradient over every row, the cost of a full-batch
     epoch): ``LinearLoss.value_and_grad`` on the arrays against ``DistributedLoss`` on the
     blocks (parameters to each worker, per-block sums back);
   * a whole default fit (``LinearRegression()``: L-BFGS, full batch), its s/epoch (the
     median of ``history_['time']``) and the largest parameter difference between the two;
   * a mini-batch epoch (batch 256, averaged SGD): an ``ArrayStream`` whose chunks are the
     blocks against the DaskStream (its blocks fetched to the client, one buffer ahead);
   * the per-step overhead: one evaluation on a tiny problem (2,000 x 10) on in-process
     clusters of 1, 2, 4 and 8 workers and on the 2 worker processes, against numpy.

2. **A Parquet directory of ``--gb`` GB of float64 values** (8 files, row groups of 65,536
   rows, 100 float64 features + target; written once, in /tmp unless GDLAB_BENCH_DIR or
   ``--dir``; files left by a completed write are used again): read by the workers, one
   full-batch evaluation and one mini-batch epoch (batch 1,024), 2 worker processes
   against one worker in this process (what ``gdlab fit 'glob'`` uses when the data fits
   in memory); then each worker's peak resident memory (VmHWM) against the block size (a
   fresh 2-process cluster per size).

Worker processes run BLAS on one thread each (Dask's nanny sets OPENBLAS_NUM_THREADS=1);
run the script with ``OPENBLAS_NUM_THREADS=1`` to give the single process the same (on a
busy 2-core machine, OpenBLAS's 2 threads made one ``A.T @ A`` 70x slower). The Parquet
files are larger than ``--gb`` (Parquet's pages and statistics); ``--keep`` keeps them
for the next run.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import pickle
import shutil
import statistics
import time
from typing import Any

import numpy as np

from _common import header, table

D = 100
BLOCK_ROWS = 125_000
GROUP_ROWS = 65_536


def make_block(i: int, rows: int, d: int = D, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Block ``i`` of the synthetic regression: the same numbers wherever it is made."""
    rng = np.random.default_rng([seed, i])
    coef = np.random.default_rng(seed).normal(size=d)
    X = rng.normal(size=(rows, d)) * np.linspace(0.5, 3.0, d) + np.linspace(-1, 1, d)
    y = X @ coef + 0.5 + 0.3 * rng.normal(size=rows)
    return X, y


def _sizes(n: int, block: int) -> list[int]:
    return [min(block, n - a) for a in range(0, n, block)]


def peak_mb() -> float:
    """This process's peak resident set (VmHWM), MB."""
    with open("/proc/self/status") as f:
        return int(next(line for line in f if line.startswith("VmHWM")).split()[1]) / 1024


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        return int(next(line for line in f if line.startswith("VmRSS")).split()[1]) / 1024


def cluster(n_workers: int, processes: bool, threads: int = 1) -> tuple[Any, Any]:
    from distributed import Client, LocalCluster
    c = LocalCluster(n_workers=n_workers, threads_per_worker=threads, processes=processes,
                     dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR)
    return c, Client(c)


def close(c: Any, client: Any) -> None:
    client.close()
    c.close()


def dask_data(n: int, d: int = D, block: int = BLOCK_ROWS) -> tuple[Any, Any]:
    """The blocks of :func:`make_block` as dask arrays computed on the workers."""
    import dask
    import dask.array as da
    parts = [dask.delayed(make_block, nout=2, pure=True)(i, r, d)
             for i, r in enumerate(_sizes(n, block))]
    X = da.concatenate([da.from_delayed(p[0], (r, d), float)
                        for p, r in zip(parts, _sizes(n, block))])
    y = da.concatenate([da.from_delayed(p[1], (r,), float)
                        for p, r in zip(parts, _sizes(n, block))])
    return X, y


def memory_data(n: int, d: int = D, block: int = BLOCK_ROWS) -> tuple[np.ndarray, np.ndarray]:
    parts = [make_block(i, r, d) for i, r in enumerate(_sizes(n, block))]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(a)))


def eval_times(fn: Any, d: int, repeat: int) -> float:
    """The median time of ``repeat`` evaluations at distinct points (none remembered)."""
    rng = np.random.default_rng(1)
    times = []
    for _ in range(repeat):
        p = rng.normal(size=d + 1) * 0.01
        t = time.perf_counter()
        fn(p)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


# --- 1. 1M x 100 ---------------------------------------------------------------------------

def part_memory_vs_cluster(n: int) -> dict[str, Any]:
    from gdlab.data import ArrayStream, DaskStream
    from gdlab.models import LinearLoss, LinearRegression
    from gdlab.models.distributed import DistributedLoss

    out: dict[str, Any] = {}
    loss = LinearLoss(D)
    X, y = memory_data(n)
    c, client = cluster(2, True)
    try:
        Xd, yd = dask_data(n)
        t = time.perf_counter()
        stream = DaskStream.from_dask(Xd, yd, client=client)
        out["load_cluster"] = time.perf_counter() - t
        scaler = stream.fit_standardizer()
        blocks = stream.full_blocks()
        Xs = scaler.transform(X)
        dl = DistributedLoss(loss)
        out["eval_mem"] = eval_times(lambda p: loss.value_and_grad(p, Xs, y), D, 7)
        out["eval_dask"] = eval_times(_on(dl, blocks), D, 7)
        stream.close()

        t = time.perf_counter()
        ref = LinearRegression().fit(X, y)
        out["fit_mem"] = (time.perf_counter() - t, ref.n_iter_,
                          statistics.median(ref.history_["time"]))
        t = time.perf_counter()
        got = LinearRegression().fit(Xd, yd)
        out["fit_dask"] = (time.perf_counter() - t, got.n_iter_,
                           statistics.median(got.history_["time"]))
        out["fit_diff"] = _rel(ref.params_, got.params_)

        kw = dict(batch_size=256, epochs=2, tol=None)
        t = time.perf_counter()
        ref = LinearRegression(**kw).fit_stream(
            ArrayStream(X, y, batch_size=256, chunk_rows=BLOCK_ROWS))
        out["mini_mem"] = (time.perf_counter() - t, statistics.median(ref.history_["time"]))
        t = time.perf_counter()
        got = LinearRegression(**kw).fit(Xd, yd)
        out["mini_dask"] = (time.perf_counter() - t, statistics.median(got.history_["time"]))
        out["mini_diff"] = _rel(ref.params_, got.params_)
        out["mini_steps"] = got.t_
    finally:
        close(c, client)
    gc.collect()
    return out


def part_overhead() -> list[tuple[str, float]]:
    """One full-batch evaluation of a 2,000 x 10 problem (4 blocks): numpy, then clusters."""
    import dask.array as da

    from gdlab.data import DaskStream
    from gdlab.models import LinearLoss
    from gdlab.models.distributed import DistributedLoss
    d, n = 10, 2000
    X, y = memory_data(n, d, 500)
    loss = LinearLoss(d)
    rows = [("numpy, one process", eval_times(lambda p: loss.value_and_grad(p, X, y), d, 200))]
    for workers, procs in [(1, False), (2, False), (4, False), (8, False), (2, True)]:
        c, client = cluster(workers, procs)
        try:
            s = DaskStream.from_dask(da.from_array(X, chunks=(500, d)),
                                     da.from_array(y, chunks=500), client=client)
            if procs:
                client.rebalance()
            blocks = s.full_blocks()
            dl = DistributedLoss(loss)
            held = len({w for ws in client.who_has(blocks.futures).values() for w in ws})
            name = f"{workers} worker {'processes' if procs else 'threads'} " \
                   f"({held} holding blocks)"
            rows.append((name, eval_times(_on(dl, blocks),
                                          d, 100)))
            rows.append(("  of which Dask's round trip: submit(f).result()",
                         eval_times(_round_trip(client), d, 100)))
            s.close()
        finally:
            close(c, client)
    return rows


def _nothing(p: Any) -> None:
    return None


def _on(dl: Any, blocks: Any) -> Any:
    """One full-batch evaluation of ``dl`` on ``blocks`` at a point."""
    return lambda p: dl.value_and_grad(p, blocks, None)


def _round_trip(client: Any) -> Any:
    """A task that does nothing, submitted and waited for (Dask's own cost)."""
    return lambda p: client.submit(_nothing, p, pure=False).result()


def wire_bytes(d: int, n_blocks: int) -> tuple[int, int]:
    """The pickled parameters sent to one worker and the per-block sums returned."""
    p = np.zeros(d + 1)
    sums = (0.0, np.zeros(d), 0.0)
    return len(pickle.dumps(p, protocol=5)), n_blocks * len(pickle.dumps(sums, protocol=5))


# --- 2. the Parquet directory ----------------------------------------------------------------

def write_parquet(folder: str, gb: float, files: int = 8) -> tuple[int, float]:
    """``files`` Parquet files of about ``gb`` GB in all (unless already there)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    rows_total = int(gb * 1e9 / (8 * (D + 1)))
    per_file = -(-rows_total // files)
    names = [f"x{j}" for j in range(D)] + ["y"]
    done = os.path.join(folder, "_complete")
    if not os.path.exists(done):
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        k = 0
        for f in range(files):
            with pq.ParquetWriter(os.path.join(folder, f"part-{f:02d}.parquet"),
                                  pa.schema([(m, pa.float64()) for m in names]),
                                  compression="none") as w:
                for r in _sizes(min(per_file, rows_total - f * per_file), GROUP_ROWS):
                    X, y = make_block(k, r)
                    k += 1
                    w.write_table(pa.Table.from_arrays(
                        [pa.array(X[:, j]) for j in range(D)] + [pa.array(y)], names=names),
                        row_group_size=GROUP_ROWS)
        open(done, "w").close()
    size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
    return rows_total, size / 1e9


def part_parquet(folder: str) -> dict[str, Any]:
    from gdlab.data import DaskStream
    from gdlab.models import LinearLoss, LinearRegression
    from gdlab.models.distributed import DistributedLoss
    out: dict[str, Any] = {}
    for name, workers, procs, threads in [("2 worker processes", 2, True, 1),
                                          ("1 worker in this process", 1, False, 2)]:
        c, client = cluster(workers, procs, threads)
        rss0 = rss_mb()
        try:
            t = time.perf_counter()
            s = DaskStream.from_files(folder, "y", client=client)
            load = time.perf_counter() - t
            est = LinearRegression(batch_size=1024, epochs=1, tol=None)
            t = time.perf_counter()  # (first: the raw blocks are released once scaled)
            est.fit_stream(DaskStream(s.blocks, batch_size=1024, seed=0))
            mini = time.perf_counter() - t
            s.fit_standardizer()
            blocks = s.full_blocks()
            dl = DistributedLoss(LinearLoss(D))
            ev = eval_times(_on(dl, blocks), D, 3)
            out[name] = (load, ev, mini, rss_mb() - rss0, s.blocks.n_blocks)
            s.close()
        finally:
            close(c, client)
        gc.collect()
    return out


def _worker_memory() -> tuple[float, float]:
    """(peak, current) resident MB of the worker process running this."""
    with open("/proc/self/status") as f:
        lines = {ln.split(":")[0]: ln for ln in f}
    return (int(lines["VmHWM"].split()[1]) / 1024, int(lines["VmRSS"].split()[1]) / 1024)


def part_block_memory(folder: str, sizes_mb: list[int]) -> list[tuple]:
    """Each worker's peak memory after reading, standardizing and two evaluations."""
    from gdlab.data import DaskStream
    from gdlab.models import LinearLoss
    from gdlab.models.distributed import DistributedLoss
    rows = []
    for mb in sizes_mb:
        c, client = cluster(2, True)
        try:
            base = client.run(_worker_memory)
            s = DaskStream.from_files(folder, "y", client=client, block_bytes=mb << 20)
            s.fit_standardizer()
            blocks = s.full_blocks()
            dl = DistributedLoss(LinearLoss(D))
            eval_times(_on(dl, blocks), D, 2)
            mem = client.run(_worker_memory)
            held: dict[str, float] = {}
            owners = client.who_has(blocks.futures)
            for f, size in zip(blocks.futures, blocks.sizes):
                for w in owners[f.key]:
                    held[w] = held.get(w, 0.0) + size * (D + 1) * 8 / 2**20
            block_mb = float(np.max(s.blocks.sizes)) * (D + 1) * 8 / 2**20
            for w in sorted(mem):
                rows.append((f"{mb} MiB", f"{block_mb:.0f}", s.blocks.n_blocks,
                             f"{held.get(w, 0.0):.0f}", f"{base[w][0]:.0f}",
                             f"{mem[w][0]:.0f}", f"{mem[w][0] - base[w][0] - held.get(w, 0):.0f}"))
            s.close()
        finally:
            close(c, client)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--gb", type=float, default=4.0)
    ap.add_argument("--dir", default=os.path.join(os.environ.get("GDLAB_BENCH_DIR", "/tmp"),
                                                 "gdlab-bench-dask"))
    ap.add_argument("--keep", action="store_true", help="keep the Parquet files")
    ap.add_argument("--skip-parquet", action="store_true")
    ap.add_argument("--block-mb", default="16,64,256",
                    help="block sizes (MiB) of the worker-memory table")
    a = ap.parse_args()
    header(f"gdlab on an embedded Dask LocalCluster vs one process ({a.rows:,} x {D} f64; "
           f"Parquet {a.gb:g} GB)", ("dask", "distributed", "pyarrow"))

    t0 = time.perf_counter()
    r = part_memory_vs_cluster(a.rows)
    n_blocks = len(_sizes(a.rows, BLOCK_ROWS))
    print(f"1. {a.rows:,} x {D} float64 ({a.rows * (D + 1) * 8 / 1e9:.2f} GB), "
          f"{n_blocks} blocks of {BLOCK_ROWS:,} rows; made on the workers in "
          f"{r['load_cluster']:.1f} s")
    fm, fd = r["fit_mem"], r["fit_dask"]
    mm, md = r["mini_mem"], r["mini_dask"]
    print(table([
        ("full-batch evaluation (one epoch of data)", f"{r['eval_mem']:.3f}",
         f"{r['eval_dask']:.3f}", f"{r['eval_dask'] / r['eval_mem']:.2f}x"),
        (f"default fit, s/epoch (L-BFGS, {fm[1]} / {fd[1]} epochs)", f"{fm[2]:.3f}",
         f"{fd[2]:.3f}", f"{fd[2] / fm[2]:.2f}x"),
        ("default fit, whole call", f"{fm[0]:.2f}", f"{fd[0]:.2f}", f"{fd[0] / fm[0]:.2f}x"),
        ("mini-batch 256, s/epoch (ASGD)", f"{mm[1]:.2f}", f"{md[1]:.2f}",
         f"{md[1] / mm[1]:.2f}x"),
    ], ("seconds", "one process", "2-worker cluster", "cluster/one")))
    print(f"largest parameter difference, relative: full batch {r['fit_diff']:.1e}, "
          f"mini-batch {r['mini_diff']:.1e} ({r['mini_steps']:,} steps)")
    sent, back = wire_bytes(D, n_blocks)
    print(f"per evaluation: {sent} B of parameters to each worker, {back} B of sums back "
          f"({n_blocks} blocks)\n", flush=True)

    rows = part_overhead()
    base = rows[0][1]
    print("per-step overhead: one full-batch evaluation of 2,000 x 10 in 4 blocks (median)")
    print(table([(n, f"{t * 1e3:.3f}", f"{(t - base) * 1e3:.2f}") for n, t in rows],
                ("where", "ms", "overhead ms")))
    print(flush=True)

    if not a.skip_parquet:
        t = time.perf_counter()
        n, gb = write_parquet(a.dir, a.gb)
        print(f"2. Parquet: {n:,} rows x {D + 1} float64 columns, {gb:.2f} GB in 8 files "
              f"({a.dir}; ready in {time.perf_counter() - t:.0f} s)")
        p = part_parquet(a.dir)
        two, one = p["2 worker processes"], p["1 worker in this process"]
        print(table([(k, v[4], f"{v[0]:.1f}", f"{v[1]:.3f}", f"{v[2]:.1f}", f"{v[3]:.0f}")
                     for k, v in p.items()],
                    ("where", "blocks", "read s", "full-batch eval s", "mini-batch epoch s",
                     "client RSS +MB")))
        print(f"2 processes / 1: read {two[0] / one[0]:.2f}x, evaluation "
              f"{two[1] / one[1]:.2f}x, mini-batch epoch {two[2] / one[2]:.2f}x\n", flush=True)
        sizes = [int(v) for v in a.block_mb.split(",")]
        print("worker memory against block size (2 worker processes; MB; 'transient' = "
              "peak - start - blocks held)")
        print(table(part_block_memory(a.dir, sizes),
                    ("block_bytes", "largest block MB", "blocks", "held MB", "start MB",
                     "peak MB", "transient MB")))
        if not a.keep:
            shutil.rmtree(a.dir, ignore_errors=True)
    print(f"\n({time.perf_counter() - t0:.0f} s in all; client peak {peak_mb():.0f} MB)")


if __name__ == "__main__":
    main()
