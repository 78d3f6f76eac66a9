"""The benchmark script still runs: `bench/run.py --quick` (1 s of wrk against the mock only, no Prism).

Why: the lead reruns bench/ after each optimisation; a broken script would only show then. It needs wrk
and no installs, and takes a few seconds, so it runs in CI wherever wrk is on PATH.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not on PATH (apt-get install -y wrk)")
def test_quick_bench_against_the_mock_reports_a_table_with_no_errors():
    done = subprocess.run(
        [sys.executable, "bench/run.py", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    row = re.search(r"^\| mock \| stateful \| 1 \| (\d+) \| [\d.]+ \| [\d.]+ \| ([\d.]+) \| (\d+) \| (\d+) \|$",
                    done.stdout, re.MULTILINE)  # fmt: skip
    assert row, done.stdout
    requests_per_second, cpu_ms, non_2xx, socket_errors = row.groups()
    assert int(requests_per_second) > 0
    assert float(cpu_ms) > 0
    assert (int(non_2xx), int(socket_errors)) == (0, 0)
    assert "prism-cli" not in done.stderr, "the mock-only quick run must not install Prism"
