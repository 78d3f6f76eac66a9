"""End-to-end runs of the kit against the real mock: exit codes, skips, budget, redaction, model-based phase."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from faulty.harness import FIXTURES, run_kit, serving
from faulty.variants import conflict_replays, mock
from mock_server.config import MockConfig
from mock_server.data import __file__ as data_package
from mock_server.http import envelope
from mock_server.http.app import create_app

SECRET = "sk_live_9xQ4mZ7tR2vL8pK3nW6yB1dF5hJ0"
RESTRICTED_SECRET = "sk_live_ro_Ab3De6Gh9Jk2Mn5Pq8St"
REQUIRED = ("api_key", "account_group_id", "prospect_id")


def test_default_profile_passes_on_the_mock_quickly(tmp_path) -> None:
    with serving(mock()) as base_url:
        started = time.monotonic()
        run = run_kit(base_url, tmp_path)
        elapsed = time.monotonic() - started
    assert run.exit_code == 0, run.output
    assert elapsed < 30
    requests = int(re.search(r"(\d+) requests in", run.output).group(1))
    assert requests <= 320, "the default profile's request bound moved; update the README"


def test_missing_fixtures_skip_their_checks_with_the_reason(tmp_path) -> None:
    only_required = {name: FIXTURES[name] for name in REQUIRED}
    with serving(mock()) as base_url:
        run = run_kit(base_url, tmp_path, "--profile", "quick", fixtures=only_required)
    assert run.exit_code == 0, run.output
    assert re.search(r"auth\.restricted_key .*skipped .*needs --restricted-api-key", run.output)
    assert re.search(r"auth\.foreign_group .*skipped .*needs --foreign-account-group-id", run.output)
    assert re.search(r"data\.inmail_accepted .*skipped .*needs --inmail-prospect-id", run.output)
    assert '<testcase classname="conformance.scenario" name="auth.restricted_key"><skipped' in run.junit


def test_unreachable_target_is_exit_2(tmp_path) -> None:
    with serving(mock()) as base_url:
        pass  # the port is free again once the server stopped
    run = run_kit(base_url, tmp_path, "--profile", "quick")
    assert run.exit_code == 2
    assert "cannot reach --base-url" in run.output
    assert len([line for line in run.output.splitlines() if line.strip()]) == 2  # the seed line, one error line


def test_bad_spec_and_usage_errors_are_exit_2(tmp_path) -> None:
    spec = tmp_path / "broken.yaml"
    spec.write_text("openapi: 3.0.3\npaths: {}\n")
    run = run_kit("http://127.0.0.1:9", tmp_path, "--spec", str(spec))
    assert run.exit_code == 2
    assert "spec" in run.output
    run = run_kit("not-a-url", tmp_path)
    assert run.exit_code == 2
    assert "--base-url must be an http(s) URL" in run.output


def test_max_time_is_honoured_and_an_unfinished_run_is_incomplete(tmp_path) -> None:
    with serving(mock(rate_limit="3/s")) as base_url:
        started = time.monotonic()
        run = run_kit(base_url, tmp_path, "--max-time", "3")
        elapsed = time.monotonic() - started
    assert elapsed < 3 + 2.5, run.output
    assert run.exit_code == 3, run.output
    assert "INCOMPLETE: required checks that did not run" in run.output
    assert re.search(r"contract\.negative_data_rejection: not run: .*--max-time budget", run.output), run.output
    assert 'type="incomplete"' in run.junit


def test_api_keys_never_appear_in_any_output(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (Path(data_package).parent / "demo.yaml").read_text()
    data = tmp_path / "secret.yaml"
    data.write_text(text.replace("sk_test_acme_writer", SECRET).replace("sk_test_acme_readonly", RESTRICTED_SECRET))
    monkeypatch.setattr(envelope, "new_trace_id", lambda: "fixed-trace-id")  # a fault, so failures print
    fixtures = {**FIXTURES, "api_key": SECRET, "restricted_api_key": RESTRICTED_SECRET}
    with serving(create_app(MockConfig(data=str(data)))) as base_url:
        run = run_kit(base_url, tmp_path, "--profile", "quick", "--verbose", fixtures=fixtures)
    assert run.exit_code == 1, run.output
    assert "curl" in run.output and "${SONARLY_API_KEY}" in run.output
    for secret in (SECRET, RESTRICTED_SECRET):
        assert secret not in run.output
        assert secret not in run.junit


def test_thorough_profile_prints_the_shrunk_sequence(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    with serving(conflict_replays(monkeypatch)) as base_url:
        run = run_kit(base_url, tmp_path, "--profile", "thorough", "--max-examples", "2")
    assert run.exit_code == 1
    assert "FAILED stateful.idempotency_model" in run.output
    sequence = run.output.split("FAILED stateful.idempotency_model")[1]
    assert "minimal failing sequence" in sequence
    assert re.search(r"state\.send\(key=0, name='A', reorder=(True|False)\)\n\s+state\.send\(key=0", sequence)
