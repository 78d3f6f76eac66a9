"""Fixtures for HTTP tests: one shared mock process, and a client whose session is private to the test.

Each test gets its own `X-Mock-Session`, so tests never see each other's keys, messages or clock,
and every exchange is recorded for the final openapi-core validation.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from support.mock_process import MockProcess
from support.openapi_recorder import ExchangeRecorder

API_KEY = "sk_test_acme_writer"
READONLY_KEY = "sk_test_acme_readonly"
GLOBEX_KEY = "sk_test_globex_writer"
REVOKED_KEY = "sk_test_revoked"
GROUP = "ag_acme"
OTHER_GROUP = "ag_globex"
PROSPECT = "prs_ada_lovelace"
CONVERSATION = "cnv_ada_lovelace"
INMAIL_PROSPECT = "prs_grace_hopper"
RESPONSES_PATH = f"/v1/accounts/{GROUP}/messages/responses"


ENGINES = ["sqlite", "postgresql"]


@pytest.fixture(scope="session", params=ENGINES)
def mock_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """The shared mock, without rate limiting (a test that needs 429 starts its own), once on each engine:
    every HTTP test runs against SQLite in memory and against a fresh PostgreSQL database."""
    state = []
    if request.param == "postgresql":
        state = ["--state", request.getfixturevalue("postgres_cluster").new_database()]
    with MockProcess("--rate-limit", "off", *state) as server:
        yield server.base_url


@pytest.fixture
def mock_session() -> str:
    return f"t-{uuid.uuid4().hex[:16]}"


@pytest.fixture
def api(mock_url: str, mock_session: str, recorded_exchanges: ExchangeRecorder) -> Iterator[httpx.Client]:
    """A client of the shared mock in a fresh session, authenticated with the demo write key."""
    headers = {"Authorization": f"Bearer {API_KEY}", "X-Mock-Session": mock_session}
    with recorded_exchanges.install(httpx.Client(base_url=mock_url, headers=headers, timeout=30.0)) as client:
        yield client


@pytest.fixture
def control(mock_url: str, mock_session: str) -> Iterator[httpx.Client]:
    """The control API, in the same session as `api`."""
    headers = {"X-Mock-Session": mock_session}
    with httpx.Client(base_url=f"{mock_url}/__mock", headers=headers, timeout=30.0) as client:
        yield client
