"""The in-process drivers of `bench/instructions.py` and `bench/growth.py` still play the stateful workload
against this checkout: every request a 202, and the figures they print.

Why: both scripts take minutes (valgrind; hundreds of thousands of requests), too long for CI; their drivers are
the part that breaks when the app's API changes, and both refuse to count anything but 202s, so a broken driver
shows here in seconds. growth.py's figures back the choice of SQLite's memdb VFS for the in-memory state.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bench(script: str, *args: str) -> str:
    """The script's output, after checking it exited cleanly without refusing an answer."""
    done = subprocess.run(
        [sys.executable, f"bench/{script}", *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    assert "expected a 202" not in done.stdout + done.stderr
    return done.stdout


def test_the_instruction_counters_driver_gets_a_202_for_every_request() -> None:
    bench("instructions.py", "--drive", "40", "--warmup", "5")


def test_the_driver_through_uvicorns_protocol_gets_a_202_for_every_request() -> None:
    bench("instructions.py", "--drive", "40", "--warmup", "5", "--through-uvicorn")


def test_the_growth_bench_reports_a_time_per_request_at_each_checkpoint() -> None:
    out = bench("growth.py", "--at", "20,40", "--measure", "10")
    assert re.search(r"^\| [^|]+ \| [^|]+ \| \d+\.\d \| \d+\.\d \| \d+\.\d\dx \|$", out, re.MULTILINE), out
