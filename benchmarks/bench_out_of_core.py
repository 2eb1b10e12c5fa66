"""Fit a linear model from a CSV file of at least 2 GB in bounded memory (a benchmark, not a test).

Run:  .venv/bin/python benchmarks/bench_out_of_core.py [--gb 2.0] [--keep]

Writes a synthetic regression CSV (default >= 2 GB, in /tmp unless GDLAB_BENCH_DIR is set),
then trains ``LinearRegression.fit_stream`` on a ``CSVStream`` (mini-batch SGD, one epoch
after the validating scan) in a child process, and reports: file size, MB/s of the scan and
of the epoch, peak resident memory of the child (ru_maxrss), and the R^2 reached against
the true coefficients. The goal of issue 3: peak memory under 400 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

N_FEATURES = 20
ROWS_PER_BLOCK = 200_000


def write_csv(path: str, gb: float, seed: int = 0) -> tuple[int, np.ndarray]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    coef = rng.normal(size=N_FEATURES)
    names = [f"x{i}" for i in range(N_FEATURES)] + ["y"]
    rows = 0
    target = gb * 1e9
    with pacsv.CSVWriter(path, pa.schema([(n, pa.float64()) for n in names])) as w:
        while os.path.getsize(path) < target:
            X = rng.normal(size=(ROWS_PER_BLOCK, N_FEATURES))
            y = X @ coef + 0.5 + 0.1 * rng.normal(size=ROWS_PER_BLOCK)
            cols = [pa.array(X[:, j]) for j in range(N_FEATURES)] + [pa.array(y)]
            w.write_table(pa.Table.from_arrays(cols, names=names))
            rows += ROWS_PER_BLOCK
    return rows, coef


CHILD = r"""
import json, resource, sys, time
import numpy as np
from gdlab.data import CSVStream
from gdlab.models.estimators import LinearRegression
path, coef = sys.argv[1], np.array(json.loads(sys.argv[2]))
t0 = time.perf_counter()
stream = CSVStream(path, target="y", batch_size=512, chunk_rows=65536, buffer_chunks=4, seed=0)
t_scan = time.perf_counter() - t0
t1 = time.perf_counter()
m = LinearRegression(batch_size=512, epochs=1, lr=0.01, tol=None).fit_stream(stream)
t_fit = time.perf_counter() - t1
print(json.dumps({"rows": stream.n_samples, "scan_s": t_scan, "epoch_s": t_fit,
                  "coef_err": float(np.max(np.abs(m.coef_ - coef))),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gb", type=float, default=2.0)
    ap.add_argument("--keep", action="store_true", help="keep the CSV afterwards")
    args = ap.parse_args()
    folder = os.environ.get("GDLAB_BENCH_DIR", "/tmp")
    path = os.path.join(folder, f"gdlab_bench_{args.gb:g}gb.csv")
    t = time.perf_counter()
    rows, coef = write_csv(path, args.gb)
    size = os.path.getsize(path)
    print(f"wrote {path}: {size / 1e9:.2f} GB, {rows:,} rows x {N_FEATURES + 1} columns "
          f"in {time.perf_counter() - t:.0f} s")
    try:
        p = subprocess.run([sys.executable, "-c", CHILD, path, json.dumps(coef.tolist())],
                           capture_output=True, text=True)
        if p.returncode:
            print(p.stderr)
            return 1
        r = json.loads(p.stdout.strip().splitlines()[-1])
    finally:
        if not args.keep:
            os.unlink(path)
    mb = size / 1e6
    print(f"scan (validate + statistics): {r['scan_s']:.1f} s = {mb / r['scan_s']:.0f} MB/s")
    print(f"one SGD epoch (batch 512):    {r['epoch_s']:.1f} s = {mb / r['epoch_s']:.0f} MB/s")
    print(f"largest coefficient error:    {r['coef_err']:.2e}")
    verdict = "under" if r["peak_rss_mb"] < 400 else "OVER"
    print(f"peak resident memory:         {r['peak_rss_mb']:.0f} MB ({verdict} the 400 MB goal)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
