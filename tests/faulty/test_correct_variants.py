"""Correct servers the contract allows (slow, skewed, strict, deferring, other ids) pass: exit 0, nothing left out."""

from __future__ import annotations

import re
import time

from faulty.correct_variants import clock_behind, everything_deferred, slow, uuid_ids
from faulty.harness import run_kit, serving
from faulty.variants import mock

COMPLETE = re.compile(r"(\d+) passed, 0 failed, 0 incomplete")


def _assert_complete_pass(run) -> int:
    assert run.exit_code == 0, run.output
    match = COMPLETE.search(run.output)
    assert match is not None, run.output
    return int(match.group(1))


def test_slow_server_gets_a_complete_run_with_its_time_reported(tmp_path) -> None:
    with serving(slow(0.5)) as base_url:
        run = run_kit(
            base_url, tmp_path, "--only", "idempotency.replay*", "--only", "contract.*", "--max-examples", "2"
        )
    assert _assert_complete_pass(run) >= 8
    seconds = float(re.search(r"requests in ([\d.]+) s", run.output).group(1))
    assert seconds >= 0.5 * 5  # every request really waited, and the summary says how long the run took


def test_clock_30_seconds_behind_passes(tmp_path) -> None:
    with serving(mock()) as base_url:
        clock_behind(base_url, 30)
        run = run_kit(base_url, tmp_path, "--profile", "quick")
    _assert_complete_pass(run)
    assert re.search(r"data\.scheduled_at +│ observed │ passed", run.output), run.output


def test_strict_rate_limit_of_two_per_second_passes(tmp_path) -> None:
    with serving(mock(rate_limit="2/s")) as base_url:
        started = time.monotonic()
        run = run_kit(base_url, tmp_path, "--only", "idempotency.*", "--only", "rate_limit.*", "--max-examples", "1")
        elapsed = time.monotonic() - started
    _assert_complete_pass(run)
    assert re.search(r"rate_limit\.retry_after +│ observed │ passed", run.output), run.output
    assert elapsed > 3  # the limit was really hit and waited out


def test_server_that_defers_every_message_passes(tmp_path) -> None:
    with serving(mock()) as base_url:
        everything_deferred(base_url)
        run = run_kit(base_url, tmp_path, "--profile", "quick")
    _assert_complete_pass(run)


def test_uuid_ids_pass(tmp_path) -> None:
    with serving(uuid_ids()) as base_url:
        run = run_kit(base_url, tmp_path, "--profile", "quick")
    _assert_complete_pass(run)
    assert re.search(r"idempotency\.replay +│ scenario │ passed", run.output), run.output
