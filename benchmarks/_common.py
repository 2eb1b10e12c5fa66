"""Shared helpers of the side-by-side benchmarks (not a benchmark itself: ``run.py`` runs
only ``bench_*.py``).

* :func:`machine_facts` — CPU, cores, memory, Python/NumPy/peer versions and the BLAS
  library, kernel ("architecture") and thread count that threadpoolctl reports;
* :func:`best_of` — best-of-N wall time (the machine is shared and noisy: the minimum is
  the least disturbed run);
* :func:`peer` — import an optional peer (scikit-learn, PyTorch, pandas) or ``None``, so a
  benchmark skips it cleanly when it is not installed;
* :func:`table` — one plain-text table.

Environment: on some machines ``OPENBLAS_CORETYPE``/``OPENBLAS_L2_SIZE`` are set for old
OpenBLAS builds and slow a current NumPy. Benchmarks report the kernel threadpoolctl sees;
run them with both unset in that command alone (``env -u OPENBLAS_CORETYPE -u
OPENBLAS_L2_SIZE ...``) to measure the kernel the CPU would normally get.
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
import time
from typing import Any, Callable

import numpy as np

#: PyTorch is a peer only in this exact version (a CPU build); anything else is skipped.
TORCH_VERSION = "2.13.0"


def peer(name: str) -> Any:
    """The module ``name`` if it is installed (PyTorch: only version 2.13.0), else ``None``."""
    try:
        mod = importlib.import_module(name)
    except Exception:  # noqa: BLE001 - a broken install is "not available" too
        return None
    if name == "torch" and not str(mod.__version__).startswith(TORCH_VERSION):
        return None
    return mod


def skip_note(name: str) -> str:
    if name == "torch":
        return f"skipped: torch=={TORCH_VERSION} not installed (pip install torch=={TORCH_VERSION})"
    return f"skipped: {name} not installed (pip install -e '.[bench]')"


def best_of(fn: Callable[[], Any], repeat: int = 3) -> float:
    """The smallest wall time of ``repeat`` calls of ``fn``."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_facts() -> list[str]:
    """One line per BLAS/OpenMP library loaded in this process (threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return ["threadpoolctl not installed: BLAS unknown"]
    lines = []
    for info in threadpool_info():
        arch = info.get("architecture") or "-"
        lines.append(f"{info.get('internal_api')} {info.get('version')} kernel={arch} "
                     f"threads={info.get('num_threads')} "
                     f"({os.path.basename(info.get('filepath', ''))})")
    return lines


def machine_facts(extra_modules: tuple[str, ...] = ()) -> str:
    """A few lines naming the machine and the libraries of this run."""
    try:
        import psutil
        mem = f"{psutil.virtual_memory().total / 2**30:.0f} GiB"
    except ImportError:
        mem = "? GiB"
    versions = [f"python {platform.python_version()}", f"numpy {np.__version__}"]
    import gdlab
    versions.insert(0, f"gdlab {gdlab.__version__}")
    for name in extra_modules:
        mod = peer(name)
        versions.append(f"{name} {mod.__version__}" if mod is not None else f"{name} -")
    env = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                      "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
           if k in os.environ}
    out = [f"date: {time.strftime('%Y-%m-%d %H:%M')}",
           f"machine: {_cpu_name()}, {os.cpu_count()} cores, {mem}, {platform.system()}",
           "versions: " + ", ".join(versions),
           "env: " + (", ".join(f"{k}={v}" for k, v in env.items()) or "(no BLAS variables)")]
    torch = peer("torch") if "torch" in extra_modules else None
    if torch is not None:
        out.append(f"torch threads: {torch.get_num_threads()}")
    out += ["BLAS: " + b for b in blas_facts()]
    return "\n".join(out)


def table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    def fmt(r):
        return "  ".join(f"{str(c):<{w}}" if i == 0 else f"{str(c):>{w}}"
                         for i, (c, w) in enumerate(zip(r, widths)))
    lines = [fmt(header), "  ".join("-" * w for w in widths)]
    lines += [fmt(r) for r in rows]
    return "\n".join(lines)


def r2(y: np.ndarray, pred: np.ndarray) -> float:
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    pred = np.asarray(pred, dtype=np.float64).reshape(-1)
    ss = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - float(np.sum((y - pred) ** 2)) / ss


def header(title: str, extra_modules: tuple[str, ...] = ()) -> None:
    print(title)
    print(machine_facts(extra_modules))
    print(flush=True)


if __name__ == "__main__":  # pragma: no cover
    print(machine_facts(("sklearn", "torch", "pandas")))
    sys.exit(0)
