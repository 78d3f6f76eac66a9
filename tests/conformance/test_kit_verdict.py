"""The verdict: preflight errors, exit codes 0/1/2/3, --only/--skip, the seed, file and usage errors."""

from __future__ import annotations

import json
import re
import time
import xml.etree.ElementTree as ET

from click.testing import CliRunner
from faulty.correct_variants import slow
from faulty.harness import FIXTURES, run_kit, serving
from faulty.middleware import ObserveResponses, ShortCircuit
from faulty.variants import mock

from conformance.cli import main
from mock_server.domain.errors import MockError

QUICK = ("--profile", "quick")


def _error_line(output: str) -> str:
    lines = [line for line in output.strip().splitlines() if line.strip() and not line.startswith("seed ")]
    assert len(lines) == 1, output
    return lines[0]


def test_a_wrong_key_is_one_line_naming_api_key(tmp_path) -> None:
    with serving(mock()) as base_url:
        run = run_kit(base_url, tmp_path, *QUICK, fixtures={**FIXTURES, "api_key": "sk_test_wrong"})
    assert run.exit_code == 2
    assert "--api-key" in _error_line(run.output) and "sk_test_wrong" not in run.output


def test_a_wrong_base_url_path_is_one_line_naming_base_url(tmp_path) -> None:
    with serving(mock()) as base_url:
        run = run_kit(base_url + "/api", tmp_path, *QUICK)
    assert run.exit_code == 2
    assert "--base-url" in _error_line(run.output) and "404" in run.output


def test_a_group_the_key_cannot_use_is_one_line_naming_account_group_id(tmp_path) -> None:
    with serving(mock()) as base_url:
        run = run_kit(base_url, tmp_path, *QUICK, fixtures={**FIXTURES, "account_group_id": "ag_globex"})
    assert run.exit_code == 2
    assert "--account-group-id ag_globex" in _error_line(run.output)


def test_only_and_skip_select_checks_and_list_the_rest_as_deselected(tmp_path) -> None:
    with serving(mock()) as base_url:
        run = run_kit(base_url, tmp_path, "--only", "auth.*", "--skip", "auth.unknown_*")
    assert run.exit_code == 0, run.output
    assert re.search(r"auth\.missing_header +│ scenario │ passed", run.output)
    assert re.search(r"auth\.unknown_key +│ scenario │ skipped .*deselected \(--skip\)", run.output)
    assert re.search(r"contract\.not_a_server_error +│ contract │ skipped .*not matched by --only", run.output)
    assert "0 incomplete" in run.output
    assert int(re.search(r"(\d+) requests in", run.output).group(1)) < 30  # no contract phase was run


def test_a_pattern_matching_no_check_is_a_usage_error(tmp_path) -> None:
    run = run_kit("http://127.0.0.1:9", tmp_path, "--only", "validaton.*")
    assert run.exit_code == 2
    assert "--only 'validaton.*' matches no check" in _error_line(run.output)


def test_an_unseeded_run_prints_the_seed_it_used(tmp_path) -> None:
    junit = tmp_path / "junit.xml"
    args = ["run", "--only", "auth.missing_header", "--junit-xml", str(junit), "--hypothesis-database", "none"]
    args += [f"--{name.replace('_', '-')}={value}" for name, value in FIXTURES.items()]
    with serving(mock()) as base_url:
        run = CliRunner().invoke(main, [*args, "--base-url", base_url], env={"SONARLY_CONFIG": "", "SONARLY_SEED": ""})
    assert run.exit_code == 0, run.output
    seed = re.match(r"seed (\d+) \(rerun with --seed (\d+)\)", run.output)
    assert seed is not None and seed.group(1) == seed.group(2)
    assert f"seed {seed.group(1)}" in run.output.strip().splitlines()[-1]
    suite = ET.fromstring(junit.read_text()).find("testsuite")
    assert suite is not None and suite.find("properties/property[@name='seed']").get("value") == seed.group(1)


def test_a_slow_server_with_a_short_budget_is_incomplete_not_green(tmp_path) -> None:
    with serving(slow(0.5)) as base_url:
        started = time.monotonic()
        run = run_kit(base_url, tmp_path, "--max-time", "3")
        elapsed = time.monotonic() - started
    assert run.exit_code == 3, run.output
    assert elapsed < 3 + 2
    assert re.search(r"validation\.\w+: not run: the --max-time budget of 3 s is spent", run.output), run.output
    assert re.search(r"contract\.\w+: not run: no positive", run.output), run.output


def test_file_errors_are_one_line_and_exit_2_before_any_request(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    args = ["run", "--base-url", "http://127.0.0.1:9", "--junit-xml", str(blocker / "junit.xml")]
    args += [f"--{name.replace('_', '-')}={value}" for name, value in FIXTURES.items()]
    result = CliRunner().invoke(main, args, env={"SONARLY_CONFIG": ""})
    assert result.exit_code == 2
    assert "--junit-xml" in _error_line(result.output) and "cannot reach" not in result.output
    result = CliRunner().invoke(main, ["run", "--config", str(tmp_path)], env={"SONARLY_CONFIG": ""})
    assert result.exit_code == 2
    assert "cannot be read (--config)" in _error_line(result.output)


def test_usage_errors_are_one_line_and_version_and_help_work() -> None:
    result = CliRunner().invoke(main, ["run", "--max-time", "soon"])
    assert result.exit_code == 2 and _error_line(result.output).startswith("error: ")
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and re.match(r"sonarly-conformance, version \d", result.output)
    help_text = CliRunner().invoke(main, ["run", "--help"]).output
    assert "SONARLY_REQUEST_TIMEOUT" in help_text and "SONARLY_HEADER" in help_text
    assert re.search(r"3 +incomplete", help_text) and re.search(r"2 +usage", help_text)


def _stateful_sequence(tmp_path, seed: str) -> list[tuple[str, bytes]]:
    """What the model-based phase sent to a fresh mock: (key with the run's random prefix cut, body)."""
    sent: list[tuple[str, bytes]] = []

    def record(scope, body: bytes, status: int) -> None:
        key = next((v.decode() for k, v in scope["headers"] if k.lower() == b"idempotency-key"), "")
        if status != 429 and ("conformance-model-" in key or not key):  # a 429 is sent again, when time allows
            sent.append((key.rsplit("-", 1)[-1] if key else "", re.sub(rb"unknown_[0-9a-f]+", b"unknown", body)))

    with serving(ObserveResponses(mock(), record)) as base_url:
        run = run_kit(
            base_url, tmp_path, "--profile", "thorough", "--max-examples", "3", "--only", "stateful.*",
            "--seed", seed, "--hypothesis-database", "none",
        )  # fmt: skip
    assert run.exit_code == 0, run.output
    return sent


def test_a_seed_makes_the_stateful_phase_send_the_same_sequence(tmp_path) -> None:
    first = _stateful_sequence(tmp_path, "7")
    assert len(first) >= 10
    assert _stateful_sequence(tmp_path, "7") == first
    assert _stateful_sequence(tmp_path, "8") != first


def _crash_on_long_messages(scope, raw: bytes) -> MockError | None:
    """A 500 for a message over 30 characters: a fuzzed case finds it in 30 examples, rarely in one."""
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    long = isinstance(body, dict) and isinstance(body.get("message"), str) and len(body["message"]) > 30
    return MockError(500, "INTERNAL_ERROR", "An internal error occurred.") if long else None


def test_a_failure_found_once_is_replayed_first_by_the_next_seeded_run(tmp_path) -> None:
    database = tmp_path / "hypothesis"
    fuzz_only = ("--profile", "quick", "--only", "contract.not_a_server_error")
    with serving(ShortCircuit(mock(), _crash_on_long_messages)) as base_url:
        once = [("--max-examples", "1", "--seed", seed) for seed in ("2", "3")]
        for args in once:  # without the database, one example per mode misses the fault
            assert run_kit(base_url, tmp_path, *fuzz_only, *args, "--hypothesis-database", "none").exit_code == 0
        found = run_kit(base_url, tmp_path, *fuzz_only, "--max-examples", "30", "--hypothesis-database", str(database))
        assert found.exit_code == 1, found.output
        for args in once:
            replay = run_kit(base_url, tmp_path, *fuzz_only, *args, "--hypothesis-database", str(database))
            assert replay.exit_code == 1, replay.output
            assert "FAILED contract.not_a_server_error" in replay.output
