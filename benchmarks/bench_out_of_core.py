"""Fit a linear model from a CSV file of at least 2 GB in bounded memory (a benchmark, not a test).

Run:  .venv/bin/python benchmarks/bench_out_of_core.py [--gb 2.0] [--keep]

Writes a synthetic regression CSV (default >= 2 GB, in /tmp unless GDLAB_BENCH_DIR is set)
and the same rows as Parquet, then, each in its own child process so that peak resident
memory (ru_maxrss) is its own:

* gdlab: ``LinearRegression.fit_stream`` on a ``CSVStream`` (validating scan + one epoch of
  mini-batch SGD, batch 512, chunks of 65,536 rows, shuffle buffer of 4 chunks);
* gdlab: the same on a ``ParquetStream``;
* scikit-learn: ``SGDRegressor.partial_fit`` over ``pandas.read_csv(chunksize=65536)``
  (one pass; skipped when pandas is not installed).

It prints MB/s of the file, peak RSS, the largest coefficient error against the true
coefficients, and the ratios. Issue 3's goal: peak memory under 400 MB; issue 5's: at least
as fast as pandas-chunked partial_fit with at most a quarter of its peak memory, and
Parquet several times faster.
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


def write_files(csv: str, parquet: str, gb: float, seed: int = 0) -> tuple[int, np.ndarray]:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    coef = rng.normal(size=N_FEATURES)
    names = [f"x{i}" for i in range(N_FEATURES)] + ["y"]
    schema = pa.schema([(n, pa.float64()) for n in names])
    rows = 0
    with pacsv.CSVWriter(csv, schema) as w, pq.ParquetWriter(parquet, schema) as pw:
        while os.path.getsize(csv) < gb * 1e9:
            X = rng.normal(size=(ROWS_PER_BLOCK, N_FEATURES))
            y = X @ coef + 0.5 + 0.1 * rng.normal(size=ROWS_PER_BLOCK)
            table = pa.Table.from_arrays([pa.array(X[:, j]) for j in range(N_FEATURES)]
                                         + [pa.array(y)], names=names)
            w.write_table(table)
            pw.write_table(table, row_group_size=65_536)
            rows += ROWS_PER_BLOCK
    return rows, coef


GDLAB = r"""
import json, resource, sys, time
import numpy as np
from gdlab.data import CSVStream, ParquetStream
from gdlab.models.estimators import LinearRegression
path, coef = sys.argv[1], np.array(json.loads(sys.argv[2]))
base = int(open("/proc/self/statm").read().split()[1]) * resource.getpagesize() / 2**20
t0 = time.perf_counter()
cls = ParquetStream if path.endswith(".parquet") else CSVStream
stream = cls(path, target="y", batch_size=512, buffer_chunks=4, seed=0)
t_scan = time.perf_counter() - t0
m = LinearRegression(batch_size=512, epochs=1, lr=0.01, tol=None).fit_stream(stream)
t_all = time.perf_counter() - t0
print(json.dumps({"scan_s": t_scan, "total_s": t_all,
                  "coef_err": float(np.max(np.abs(m.coef_ - coef))),
                  "base_rss_mb": base,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

PANDAS = r"""
import json, resource, sys, time
import numpy as np
import pandas as pd
from sklearn.linear_model import SGDRegressor
path, coef = sys.argv[1], np.array(json.loads(sys.argv[2]))
base = int(open("/proc/self/statm").read().split()[1]) * resource.getpagesize() / 2**20
t0 = time.perf_counter()
m = SGDRegressor(random_state=0)
for chunk in pd.read_csv(path, chunksize=65536):
    y = chunk.pop("y").to_numpy()
    m.partial_fit(chunk.to_numpy(), y)
t_all = time.perf_counter() - t0
print(json.dumps({"total_s": t_all, "coef_err": float(np.max(np.abs(m.coef_ - coef))),
                  "base_rss_mb": base, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def child(code: str, path: str, coef: np.ndarray) -> dict | None:
    p = subprocess.run([sys.executable, "-c", code, path, json.dumps(coef.tolist())],
                       capture_output=True, text=True)
    if p.returncode:
        print(p.stderr.strip().splitlines()[-1] if p.stderr.strip() else "failed")
        return None
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gb", type=float, default=2.0)
    ap.add_argument("--keep", action="store_true", help="keep the files afterwards")
    args = ap.parse_args()
    folder = os.environ.get("GDLAB_BENCH_DIR", "/tmp")
    csv = os.path.join(folder, f"gdlab_bench_{args.gb:g}gb.csv")
    parquet = csv[:-4] + ".parquet"
    t = time.perf_counter()
    rows, coef = write_files(csv, parquet, args.gb)
    size = os.path.getsize(csv)
    mb = size / 1e6
    print(f"wrote {csv}: {size / 1e9:.2f} GB, {rows:,} rows x {N_FEATURES + 1} columns, and "
          f"the same as Parquet ({os.path.getsize(parquet) / 1e9:.2f} GB) in "
          f"{time.perf_counter() - t:.0f} s")
    try:
        runs = {"gdlab CSV (scan + 1 epoch)": child(GDLAB, csv, coef),
                "gdlab Parquet (scan + 1 epoch)": child(GDLAB, parquet, coef)}
        try:
            import pandas  # noqa: F401
            runs["sklearn partial_fit over pandas chunks"] = child(PANDAS, csv, coef)
        except ImportError:
            print("pandas is not installed: the scikit-learn peer is skipped")
    finally:
        if not args.keep:
            for p in (csv, parquet):
                os.unlink(p)
    ref = runs.get("sklearn partial_fit over pandas chunks")
    print("\n(peak RSS includes the libraries; 'RSS after imports' is what the process held "
          "before reading any data)")
    print(f"{'method':<40} {'seconds':>8} {'MB/s of CSV':>12} {'RSS after imports':>18} "
          f"{'peak RSS MB':>12} {'coef err':>9} {'speed vs pandas':>16} {'peak vs pandas':>15}")
    for name, r in runs.items():
        if r is None:
            continue
        speed = f"{ref['total_s'] / r['total_s']:.2f}x" if ref else "-"
        mem = f"{r['peak_rss_mb'] / ref['peak_rss_mb']:.2f}x" if ref else "-"
        print(f"{name:<40} {r['total_s']:8.1f} {mb / r['total_s']:12.0f} "
              f"{r['base_rss_mb']:18.0f} {r['peak_rss_mb']:12.0f} {r['coef_err']:9.1e} "
              f"{speed:>16} {mem:>15}")
    gd = runs["gdlab CSV (scan + 1 epoch)"]
    if gd:
        verdict = "under" if gd["peak_rss_mb"] < 400 else "OVER"
        print(f"\ngdlab CSV peak memory {gd['peak_rss_mb']:.0f} MB: {verdict} the 400 MB goal")
    return 0


if __name__ == "__main__":
    sys.exit(main())
