"""Start-up time of the command line (a benchmark, not a test).

Run:  .venv/bin/python benchmarks/bench_cli.py [--repeat 7]

Wall time of whole ``gdlab diff`` processes (best and median of ``--repeat``), against a bare
``python -c pass`` and ``python -c "import numpy"`` in the same interpreter, so the part
that is gdlab's own is visible. Target (issue 5): ``gdlab diff`` under 0.6 s wall.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

from _common import header, table

TARGET = 0.6


def wall(cmd: list[str], repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True)
        times.append(time.perf_counter() - t)
        if p.returncode:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{p.stderr}")
    return min(times), statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    header("gdlab CLI start-up benchmark")
    exe = shutil.which("gdlab", path=os.path.dirname(sys.executable)) or shutil.which("gdlab")
    gd = [exe] if exe else [sys.executable, "-m", "gdlab.cli"]
    cases = [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("python -c 'import numpy'", [sys.executable, "-c", "import numpy"]),
        ("gdlab diff 'x**2 + 2*x + 3'", gd + ["diff", "x**2 + 2*x + 3"]),
        ("gdlab diff 'sin(x*y)' --wrt y --at 1,2", gd + ["diff", "sin(x*y)", "--wrt", "y",
                                                          "--at", "1,2"]),
        ("gdlab --help", gd + ["--help"]),
    ]
    wall(cases[2][1], 1)  # warm the file cache
    rows = []
    for name, cmd in cases:
        best, med = wall(cmd, args.repeat)
        note = ""
        if name.startswith("gdlab diff"):
            note = f"target < {TARGET} s: {'met' if med < TARGET else 'MISSED'} " \
                   f"({med / TARGET:.2f}x of target)"
        rows.append((name, f"{best:.3f}", f"{med:.3f}", note))
    print(table(rows, ("command", "best s", "median s", "note")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
