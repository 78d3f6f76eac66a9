"""`bench/instructions.py`'s driver still plays the stateful workload against this checkout: every request a 202.

Why: the script counts instructions under valgrind (90 s, too long for CI); its driver is the part that breaks
when the app's API changes, and it refuses to count anything but 202s, so a broken driver shows here in seconds.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_instruction_counters_driver_gets_a_202_for_every_request() -> None:
    done = subprocess.run(
        [sys.executable, "bench/instructions.py", "--drive", "40", "--warmup", "5"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    assert "expected a 202" not in done.stdout + done.stderr
