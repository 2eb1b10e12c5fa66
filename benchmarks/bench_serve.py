"""Latency of the playground's main request (a benchmark, not a test).

Run:  .venv/bin/python benchmarks/bench_serve.py      (needs the extra: pip install -e '.[serve]')

Prints one table; writes nothing. Takes about a minute.

POST /api/descend with a two-variable formula (a 120 x 120 grid and a 15 x 15 gradient
field) and six optimizers (sgd, momentum, nesterov, adam, rmsprop, adagrad) from one start,
each running its full 1,000 steps (none converges before), in two cases:

* **slider**: what a learner's hand sends while it moves one lr slider: each request gives
  that optimizer an lr not sent before; the five other runs come from the server's run
  cache (:mod:`gdlab.serve.cache`), so one run is computed;
* **cold**: all six learning rates are new in every request: all six runs are computed, as
  the row groups of one ``minimize`` (:class:`gdlab.serve.mixed.Mixed`; with numba, the
  six updates of a step in one compiled call).

The formula's compiled form is reused in both (the server keeps it). Measured: the median
and 95th percentile over repeated requests through the ASGI app in-process (Starlette's
TestClient), the part the server spent computing (``elapsed`` in the answer), and the same
through a real uvicorn on localhost (HTTP/1.1, keep-alive). For comparison, the six runs as
six separate ``gdlab.minimize`` calls (what the server would do without ``Mixed``). The
machine is shared: the CPU time of the computation (``time.process_time`` around a direct
call) is what it costs a core whatever the load; the wall-clock numbers grow with the load
average, which the header's time stamp lets you look up.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np

import gdlab
from _common import header

FORMULA = "x**2 + 2*x*y + 3 + cos(x + 2*y) + 2*y**2"  # the lecture's formula, bounded below
RUNS = [("sgd", 0.01), ("momentum", 0.005), ("nesterov", 0.005), ("adam", 0.01),
        ("rmsprop", 0.001), ("adagrad", 0.05)]
START = [2.5, -2.0]
REPEAT = 40


def body(i: int, moved: int = 1) -> dict:
    """Request ``i``: the first ``moved`` learning rates take values not sent before."""
    runs = [{"optimizer": n, "lr": lr * (1 + 1e-4 * i) if k < moved else lr}
            for k, (n, lr) in enumerate(RUNS)]
    return {"formula": FORMULA, "starts": [START], "runs": runs, "max_steps": 1000,
            "eps": 1e-12, "grid": 120, "field": 15, "view": [[-3, 3], [-3, 3]]}


def stats(times: list[float]) -> tuple[float, float]:
    ms = sorted(t * 1000 for t in times)
    return statistics.median(ms), ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]


def check(answer: dict) -> None:
    steps = [run["starts"][0]["nit"] for run in answer["runs"]]
    assert steps == [1000] * 6, steps


def in_process(moved: int) -> tuple[list[float], list[float], int]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    from gdlab.serve.app import create_app
    client = TestClient(create_app("127.0.0.1", 8000), base_url="http://127.0.0.1:8000")
    check(client.post("/api/descend", json=body(0, 6)).json())      # compiles the formula
    total, compute, size = [], [], 0
    for i in range(REPEAT):
        t = time.perf_counter()
        r = client.post("/api/descend", json=body(1000 * moved + i + 1, moved))
        total.append(time.perf_counter() - t)
        answer = r.json()
        compute.append(answer["elapsed"])
        size = len(r.content)
    check(answer)
    return total, compute, size


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def over_uvicorn() -> dict[int, list[float]]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from gdlab.cli import main; "
                             f"sys.exit(main(['serve', '--no-browser', '--port', '{port}']))"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("GET", "/api/catalog")
                conn.getresponse().read()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        headers = {"Content-Type": "application/json"}

        def post(i: int, moved: int) -> dict:
            conn.request("POST", "/api/descend", json.dumps(body(i, moved)), headers)
            return json.loads(conn.getresponse().read())
        check(post(0, 6))
        out: dict[int, list[float]] = {1: [], 6: []}
        for moved, times in out.items():
            for i in range(REPEAT):
                t = time.perf_counter()
                answer = post(1000 * moved + i + 1, moved)
                times.append(time.perf_counter() - t)
            check(answer)
        conn.close()
        return out
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def cpu_time(moved: int) -> list[float]:
    """The computation alone, called directly, as CPU seconds of this process: what the
    request costs a core, however busy the machine's other cores are."""
    from gdlab.serve.explore import descend
    from gdlab.serve.limits import Deadline
    descend(body(0, 6), Deadline())
    times = []
    for i in range(REPEAT):
        t = time.process_time()
        descend(body(2000 * moved + i + 1, moved), Deadline())
        times.append(time.process_time() - t)
    return times


def numpy_speed() -> float:
    """Microseconds per iteration of a fixed loop of small NumPy operations, no gdlab code
    in it (best of 5 runs of 20,000 iterations): a yardstick of the machine's speed now
    that does not change when gdlab does (the per-operation cost of NumPy on tiny arrays
    is what the playground's loop pays). Quiet machine, 2026-11-30 19:55: see RESULTS.md
    section 6."""
    x = np.array([[2.5, -2.0]])

    def loop() -> None:
        y = x.copy()
        for _ in range(20_000):
            g = 2.0 * y + np.cos(y)
            y -= 0.001 * g
            np.sqrt(np.einsum("ij,ij->i", g, g))

    return min(_timed(loop) for _ in range(5)) / 20_000 * 1e6


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def separate() -> list[float]:
    fn = gdlab.Function(FORMULA)
    times = []
    for _ in range(5):
        t = time.perf_counter()
        for name, lr in RUNS:
            gdlab.minimize(fn, x0=START, optimizer=name, lr=lr, max_iter=1000, eps=1e-12)
        times.append(time.perf_counter() - t)
    return times


def main() -> None:
    header("gdlab serve: POST /api/descend, 120x120 grid + field + 6 optimizers x 1000 steps")
    print(f"load average at the start: {', '.join(f'{v:.2f}' for v in os.getloadavg())}\n")
    rows = []
    for moved, case in ((1, "slider"), (6, "cold")):
        total, compute, size = in_process(moved)
        rows += [(f"{case}: ASGI app in-process (TestClient)", total),
                 (f"{case}:   of which computing (elapsed)", compute),
                 (f"{case}:   computing, CPU time", cpu_time(moved))]
    uvi = over_uvicorn()
    rows += [("slider: real uvicorn on 127.0.0.1", uvi[1]),
             ("cold: real uvicorn on 127.0.0.1", uvi[6]),
             ("six separate minimize calls (no Mixed)", separate())]
    print(f"{'':44}{'median ms':>10}{'p95 ms':>9}")
    for name, times in rows:
        med, p95 = stats(times)
        print(f"{name:44}{med:10.1f}{p95:9.1f}")
    print(f"answer size {size / 1024:.0f} KiB; {REPEAT} requests each; target: well under 200 ms")
    print(f"machine speed now: {numpy_speed():.2f} us per iteration of a fixed NumPy loop "
          f"(see numpy_speed); load average now: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
