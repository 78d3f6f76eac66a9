"""The benchmark scripts still run: `bench/run.py --quick --error-paths` (1 s of wrk per workload, mock only, no
Prism), and the error workloads' status check catches a wrong answer.

Why: the lead reruns bench/ after each optimisation; a broken script would only show then, and a status check that
never counts anything would let the error-path table claim answers nobody checked. It needs wrk and no installs,
and takes a few seconds, so it runs in CI wherever wrk is on PATH.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support.mock_process import MockProcess

ROOT = Path(__file__).resolve().parents[1]
ERROR_WORKLOADS = {"invalid": 400, "unauthorized": 401, "conflict": 409, "not-connected": 409}

pytestmark = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not on PATH (apt-get install -y wrk)")


def assert_served_without_errors(stdout: str, server: str) -> None:
    """run.py's summary row of `server` on one stateful round: requests served and CPU counted, no non-2xx answer
    and no socket error."""
    row = re.search(rf"^\| {server} \| stateful \| 1 \| (\d+) \| [\d.]+ \| [\d.]+ \| ([\d.]+) \| (\d+) \| (\d+) \|$",
                    stdout, re.MULTILINE)  # fmt: skip
    assert row, stdout
    requests_per_second, cpu_ms, non_2xx, socket_errors = row.groups()
    assert int(requests_per_second) > 0
    assert float(cpu_ms) > 0
    assert (int(non_2xx), int(socket_errors)) == (0, 0)


def test_quick_bench_against_the_mock_reports_its_tables_with_no_errors():
    done = subprocess.run(
        [sys.executable, "bench/run.py", "--quick", "--error-paths"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert_served_without_errors(done.stdout, "mock")
    assert "prism-cli" not in done.stderr, "the mock-only quick run must not install Prism"
    for workload, status in {"stateful": 202, **ERROR_WORKLOADS}.items():
        error_row = re.search(
            rf"^\| {workload} \| {status} \| 1 \| (\d+) \| [\d.]+ \| ([\d.]+) \| ([\d.]+)x \| (\d+) \| (\d+) \| .+ \|$",
            done.stdout,
            re.MULTILINE,
        )
        assert error_row, f"no error-path row for {workload}:\n{done.stdout}"
        rps, cpu, ratio, wrong, sockets = error_row.groups()
        assert int(rps) > 0 and float(cpu) > 0 and float(ratio) > 0
        assert (int(wrong), int(sockets)) == (0, 0), f"{workload}: wrong answers or socket errors"


def wrk_expecting(url: str, workload: str, status: int) -> str:
    done = subprocess.run(
        ["wrk", "-t1", "-c2", "-d1s", "-s", "bench/expect_status.lua", url, "--",
         "sk_test_acme_writer", "ag_acme", "prs_ada_lovelace", workload, str(status)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return done.stdout


def test_the_error_workloads_count_every_answer_other_than_the_expected_one():
    with MockProcess("--rate-limit", "off", "--log-level", "warning") as mock:
        right = wrk_expecting(mock.base_url, "invalid", 400)
        wrong = wrk_expecting(mock.base_url, "invalid", 401)
    counted = re.search(r"BENCH requests=(\d+) .* wrong_status=(\d+) expected=400", right)
    assert counted and int(counted[1]) > 0 and int(counted[2]) == 0, right
    counted = re.search(r"BENCH requests=(\d+) .* wrong_status=(\d+) expected=401", wrong)
    assert counted and int(counted[1]) > 0 and int(counted[2]) == int(counted[1]), wrong


def test_the_floor_serves_the_stateful_workload_without_an_error():
    """`--servers floor` (bench/floor_app.py under uvicorn): the reference for what uvicorn alone costs a request.
    A floor answering errors (any non-2xx) would be measured doing less than the mock's answer."""
    done = subprocess.run(
        [sys.executable, "bench/run.py", "--duration", "1", "--rounds", "1", "--warmup", "0", "--servers", "floor",
         "--workloads", "stateful"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert_served_without_errors(done.stdout, "floor")
    assert "Floor: `python -m uvicorn floor_app:app" in done.stdout
    assert "prism-cli" not in done.stderr, "a floor-only run must not install Prism"
