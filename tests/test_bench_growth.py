"""`bench/growth.py` still drives this checkout: a table row with a time at every checkpoint, every request a 202.

Why: its figures back the choice of SQLite's memdb VFS for the in-memory state (the cost of a request as the
state grows); the full run takes minutes, so CI plays a few dozen requests through the same driver.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_growth_bench_reports_a_time_per_request_at_each_checkpoint() -> None:
    done = subprocess.run(
        [sys.executable, "bench/growth.py", "--at", "20,40", "--measure", "10"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    assert re.search(r"^\| \S+ \| \S+ \| \d+\.\d \| \d+\.\d \| \d+\.\d\dx \|$", done.stdout, re.MULTILINE), done.stdout
