"""`sonarly-mock serve` as a user starts it: bounds are usage errors, options come from the environment too,
and a control API on the network needs a token (or an explicit --allow-open-control).

Most tests run the command in-process with uvicorn replaced by a recorder (what would be served, and
with which config); the ones that matter end to end start a real server.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from mock_server import cli
from mock_server.config import ENVIRONMENT_VARIABLE, MockConfig
from support.mock_process import ROOT, MockProcess, free_port

ENV_OPTIONS = ["SONARLY_MOCK_PORT", "SONARLY_MOCK_HOST", "SONARLY_MOCK_CONTROL_TOKEN", "SONARLY_MOCK_MAX_SESSIONS"]


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """Run `serve` without a server: each uvicorn.run call is recorded with the config it would serve."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "{}")  # restored after the test: serve writes it
    for name in [n for n in os.environ if n.startswith("SONARLY_MOCK_") and n != ENVIRONMENT_VARIABLE]:
        monkeypatch.delenv(name)
    monkeypatch.setattr(cli, "configure_logging", lambda level, fmt: None)

    def run(app: str, **kwargs: Any) -> None:
        calls.append({**kwargs, "config": MockConfig.from_environment()})

    monkeypatch.setattr(cli.uvicorn, "run", run)
    yield calls


def serve(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli.main, ["serve", *args], env=env)


@pytest.mark.parametrize("port", ["0", "70000", "-1", "http"])
def test_port_outside_1_to_65535_is_a_usage_error(served: list[dict[str, Any]], port: str) -> None:
    result = serve("--port", port)
    assert result.exit_code == 2, result.output
    assert "--port" in result.output
    assert served == []


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--header-timeout", "nan"),
        ("--header-timeout", "0"),
        ("--keep-alive", "inf"),
        ("--body-timeout", "1e400"),
        ("--session-idle", "1e11"),
        ("--sent-retention", "-1"),
        ("--max-header-bytes", "10"),
        ("--max-sessions", "0"),
        ("--log-level", "verbose"),
        ("--log-format", "xml"),
        ("--control-cors-origin", "http://dash.example/"),
        ("--cors-origin", "dash.example"),
    ],
)
def test_out_of_bounds_values_are_usage_errors(served: list[dict[str, Any]], option: str, value: str) -> None:
    result = serve(option, value)
    assert result.exit_code == 2, result.output
    assert option in result.output
    assert "Traceback" not in result.output
    assert served == []


def test_every_option_reaches_the_config(served: list[dict[str, Any]]) -> None:
    result = serve(
        *("--max-sessions", "7", "--session-idle", "60", "--control-cors-origin", "http://dash.example"),
        *("--max-header-bytes", "2048", "--header-timeout", "2.5", "--keep-alive", "3", "--body-timeout", "4"),
        *("--log-level", "WARNING", "--log-format", "json"),
    )
    assert result.exit_code == 0, result.output
    config = served[0]["config"]
    assert (config.max_sessions, config.session_idle_seconds, config.control_cors_origins) == (
        7,
        60,
        ("http://dash.example",),
    )
    assert (config.max_header_bytes, config.header_timeout_seconds) == (2048, 2.5)
    assert (config.keep_alive_seconds, config.body_timeout_seconds) == (3, 4)
    assert (config.log_level, config.log_format) == ("warning", "json")


def test_defaults_come_from_mock_config(served: list[dict[str, Any]]) -> None:
    assert serve().exit_code == 0
    config, defaults = served[0]["config"], MockConfig()
    for field in ("max_sessions", "session_idle_seconds", "max_header_bytes", "header_timeout_seconds"):
        assert getattr(config, field) == getattr(defaults, field), field
    assert (served[0]["host"], served[0]["port"]) == ("127.0.0.1", 8080)


def test_options_come_from_the_environment(served: list[dict[str, Any]]) -> None:
    env = {
        "SONARLY_MOCK_PORT": "9123",
        "SONARLY_MOCK_MAX_SESSIONS": "12",
        "SONARLY_MOCK_CONTROL_CORS_ORIGIN": "http://a.example http://b.example",
        "SONARLY_MOCK_KEEP_ALIVE": "2",
    }
    result = serve(env=env)
    assert result.exit_code == 0, result.output
    call = served[0]
    assert call["port"] == 9123
    assert call["config"].max_sessions == 12
    assert call["config"].control_cors_origins == ("http://a.example", "http://b.example")
    assert call["config"].keep_alive_seconds == 2
    assert serve("--port", "9124", env=env).exit_code == 0
    assert served[1]["port"] == 9124, "an option on the command line wins over the environment"


def test_an_out_of_bounds_environment_value_is_a_usage_error(served: list[dict[str, Any]]) -> None:
    result = serve(env={"SONARLY_MOCK_PORT": "70000"})
    assert result.exit_code == 2, result.output
    assert "--port" in result.output
    assert served == []


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20"])
def test_a_network_address_without_control_token_is_refused(served: list[dict[str, Any]], host: str) -> None:
    result = serve("--host", host)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    for words in ("API key", "reset", "clock", "--control-token", "--allow-open-control"):
        assert words in lines[0], lines[0]
    assert served == []


def test_allow_open_control_from_the_environment(served: list[dict[str, Any]]) -> None:
    result = serve(env={"SONARLY_MOCK_HOST": "0.0.0.0", "SONARLY_MOCK_ALLOW_OPEN_CONTROL": "1"})
    assert result.exit_code == 0, result.output
    assert served[0]["host"] == "0.0.0.0" and served[0]["config"].allow_open_control is True
    assert "Warning" in result.output


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_needs_no_token(served: list[dict[str, Any]], host: str) -> None:
    result = serve("--host", host)
    assert result.exit_code == 0, result.output
    assert "Warning" not in result.output
    assert served[0]["host"] == host


def test_a_network_address_with_a_control_token_starts(served: list[dict[str, Any]]) -> None:
    result = serve("--host", "0.0.0.0", env={"SONARLY_MOCK_CONTROL_TOKEN": "s3cr3t-token"})
    assert result.exit_code == 0, result.output
    assert served[0]["config"].control_token == "s3cr3t-token"
    assert "s3cr3t-token" not in result.output, "the banner never prints the token"
    assert "token required" in result.output


def test_the_banner_prints_no_key(served: list[dict[str, Any]]) -> None:
    result = serve()
    assert result.exit_code == 0
    assert "sk_test_" not in result.output and "sk_live_" not in result.output
    assert "/__mock/" in result.output and "/ui/" in result.output


def test_help_lists_the_limits_and_the_environment_variables() -> None:
    result = CliRunner().invoke(cli.main, ["serve", "--help"], terminal_width=200)
    assert result.exit_code == 0
    text = result.output
    for option in ("--max-header-bytes", "--header-timeout", "--keep-alive", "--body-timeout", "--max-sessions"):
        assert option in text, option
    defaults = MockConfig()
    assert str(defaults.max_header_bytes) in text and "default: 10.0" in text
    for variable in [*ENV_OPTIONS, "SONARLY_MOCK_CONTROL_CORS_ORIGIN", "SONARLY_MOCK_LOG_FORMAT"]:
        assert variable in text, variable
    assert "Limits" in text


def test_version() -> None:
    result = CliRunner().invoke(cli.main, ["--version"])
    assert result.exit_code == 0 and "sonarly-mock" in result.output


def test_open_control_on_all_interfaces_starts_with_a_warning() -> None:
    with MockProcess("--host", "0.0.0.0", "--allow-open-control") as server:
        assert httpx.get(f"{server.base_url}/healthz", timeout=10).status_code == 200
        warning = [line for line in server.log().splitlines() if line.startswith("Warning")]
    assert len(warning) == 1, server.log()
    assert "API key" in warning[0] and "--control-token" in warning[0]


def test_a_refused_start_exits_2_with_one_line() -> None:
    command = [sys.executable, "-m", "mock_server", "serve", "--host", "0.0.0.0", "--port", str(free_port())]
    result = subprocess.run(command, cwd=ROOT, env=clean_environment(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stdout == ""


def test_a_state_file_that_is_not_a_database_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """Before: a traceback, and with `--workers 2` endless worker restarts."""
    state = tmp_path / "notes.txt"
    state.write_text("these are my notes, not a state file\n" * 100)
    command = [sys.executable, "-m", "mock_server", "serve", "--state", str(state), "--workers", "2"]
    result = subprocess.run(
        [*command, "--port", str(free_port())],
        cwd=ROOT,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(state) in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert state.read_text().startswith("these are my notes"), "the file is left as it was"


@pytest.mark.parametrize("name", ["missing-dir/state.db", "."])
def test_a_state_path_that_cannot_be_opened_is_a_usage_error(
    served: list[dict[str, Any]], tmp_path: Path, name: str
) -> None:
    result = serve("--state", str(tmp_path / name))
    assert result.exit_code == 2, result.output
    assert ("Traceback" not in result.output and "--state" in result.output) or str(tmp_path) in result.output
    assert served == []


def clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SONARLY_MOCK_")}


def test_the_port_from_the_environment_is_served() -> None:
    port = free_port()
    env = {**clean_environment(), "SONARLY_MOCK_PORT": str(port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "mock_server", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline, status = time.monotonic() + 30, None
        while time.monotonic() < deadline and status is None and process.poll() is None:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code
            except httpx.HTTPError:
                time.sleep(0.1)
        assert status == 200
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_banner_names_the_dashboard_and_hides_the_database_password() -> None:
    config = MockConfig(state="postgresql://mock:db-pass-1@db.internal:5432/mock")
    text = cli.banner("127.0.0.1", 8080, 2, config)
    assert "dashboard http://127.0.0.1:8080/__mock/ |" in text
    assert "state PostgreSQL postgresql://mock:***@db.internal:5432/mock" in text
    assert "db-pass-1" not in text
