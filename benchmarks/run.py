"""Run every benchmark in this folder (``make bench``). Not part of ``make test``."""

import subprocess
import sys
from pathlib import Path

here = Path(__file__).parent
status = 0
for script in sorted(here.glob("bench_*.py")):
    print(f"\n=== {script.name} ===", flush=True)
    status |= subprocess.run([sys.executable, str(script)]).returncode
sys.exit(status)
