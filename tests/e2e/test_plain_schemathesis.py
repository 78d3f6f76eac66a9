"""The README's plain Schemathesis command, exactly as a user types it, against the mock with its demo data.

It must pass against the correct mock with nothing exported (the fixtures default to the demo data), honour
the SONARLY_* variables when they are set, and fail on a server that answers a request-shape error with 422,
which stock Schemathesis accepts and which `schemathesis.toml` exists to refuse.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from faulty.harness import serving
from faulty.middleware import RewriteRequestJson, RewriteResponse
from starlette.types import ASGIApp

from mock_server.config import MockConfig
from mock_server.http.app import create_app
from openapi import CONTRACT_SPEC
from support.mock_process import ROOT, MockProcess

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
DEMO_KEY = "sk_test_acme_writer"
GLOBEX = {
    "SONARLY_API_KEY": "sk_test_globex_writer",
    "SONARLY_ACCOUNT_GROUP_ID": "ag_globex",
    "SONARLY_PROSPECT_ID": "prs_linus_torvalds",
    "SONARLY_CONVERSATION_ID": "cnv_linus_torvalds",
    "SONARLY_INMAIL_PROSPECT_ID": "prs_margaret_hamilton",
}


def readme_command(url: str, **environment: str) -> subprocess.CompletedProcess[str]:
    """`schemathesis --config-file schemathesis.toml run openapi/sonarly.yaml --url URL` from the repository
    root, in an environment holding nothing but PATH, HOME and the given variables."""
    command = [str(SCHEMATHESIS), "--config-file", "schemathesis.toml", "run", "openapi/sonarly.yaml", "--url", url]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/"), **environment}
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)


def journal(base_url: str) -> Counter[tuple[str, str, int]]:
    """(method, path, status) of every API request the mock's default session saw."""
    response = httpx.get(f"{base_url}/__mock/journal", params={"limit": 1000}, timeout=10)
    response.raise_for_status()
    return Counter((entry["method"], entry["path"], entry["status"]) for entry in response.json()["data"]["entries"])


@pytest.fixture
def demo_mock() -> Iterator[str]:
    """`sonarly-mock serve` with its defaults (demo data, 100 requests/s), as the README starts it."""
    with MockProcess() as server:
        yield server.base_url


def test_readme_command_passes_against_the_demo_mock_with_nothing_exported(demo_mock: str) -> None:
    result = readme_command(demo_mock)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "No issues found" in output
    assert DEMO_KEY not in output, "the API key must be filtered from Schemathesis' report"
    statuses = {status for (_, path, status) in journal(demo_mock) if "/accounts/ag_acme/" in path}
    # The success path was reached through the fixtures, shapes were refused, credentials and methods enforced.
    assert {202, 400, 401, 405} <= statuses, statuses


def test_fixtures_come_from_the_sonarly_variables(demo_mock: str) -> None:
    result = readme_command(demo_mock, **GLOBEX)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    seen = journal(demo_mock)
    accepted = {path for (method, path, status) in seen if method == "POST" and status == 202}
    assert accepted == {"/v1/accounts/ag_globex/messages/responses"}, seen
    assert GLOBEX["SONARLY_API_KEY"] not in output


def _shape_errors_answered_422() -> ASGIApp:
    """Every 400 the mock gives (a request-shape error) leaves as 422, the status stock Schemathesis accepts."""
    return RewriteResponse(
        create_app(MockConfig()), lambda _, status, headers: (422 if status == 400 else status, headers)
    )


def _prospect_length_unchecked() -> ASGIApp:
    """An over-long prospectId is not refused: the lookup cuts it, finds no such prospect, and answers 422."""

    spec = yaml.safe_load(CONTRACT_SPEC.read_text(encoding="utf-8"))
    limit = spec["components"]["schemas"]["QueueMessageResponseRequest"]["properties"]["prospectId"]["maxLength"]

    def cut(body: Any) -> Any:
        prospect = body.get("prospectId") if isinstance(body, dict) else None
        return {**body, "prospectId": prospect[:limit]} if isinstance(prospect, str) else body

    return RewriteRequestJson(create_app(MockConfig()), cut)


@pytest.mark.parametrize("build", [_shape_errors_answered_422, _prospect_length_unchecked], ids=lambda b: b.__name__)
def test_readme_command_fails_a_server_that_answers_shape_errors_with_422(build: Callable[[], ASGIApp]) -> None:
    with serving(build()) as url:
        result = readme_command(url)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-6000:]
    assert "Schema-violating request accepted" in output, output[-6000:]
    assert "[422]" in output, output[-6000:]
