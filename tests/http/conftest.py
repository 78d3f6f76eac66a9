"""Fixtures of the HTTP behaviour tests; the shared mock and the per-test session come from tests/support.

No `__init__.py` in this directory on purpose: a package named `http` would shadow the standard library.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest

from support.mock_fixtures import API_KEY
from support.openapi_recorder import ExchangeRecorder

SessionClients = tuple[httpx.Client, httpx.Client]


@pytest.fixture
def bare(mock_url: str, mock_session: str, recorded_exchanges: ExchangeRecorder) -> Iterator[httpx.Client]:
    """A client of the shared mock in the test's session, without any `Authorization` header."""
    headers = {"X-Mock-Session": mock_session}
    with recorded_exchanges.client(base_url=mock_url, headers=headers, timeout=30.0) as client:
        yield client


@pytest.fixture
def new_session(mock_url: str, recorded_exchanges: ExchangeRecorder) -> Iterator[Callable[..., SessionClients]]:
    """Factory of (api, control) client pairs, each pair in a fresh session of its own."""
    clients: list[httpx.Client] = []

    def make(base_url: str = mock_url, key: str = API_KEY) -> SessionClients:
        name = f"t-{uuid.uuid4().hex[:16]}"
        api = recorded_exchanges.client(
            base_url=base_url, headers={"Authorization": f"Bearer {key}", "X-Mock-Session": name}, timeout=30.0
        )
        control = httpx.Client(base_url=f"{base_url}/__mock", headers={"X-Mock-Session": name}, timeout=30.0)
        clients.extend((api, control))
        return api, control

    yield make
    for client in clients:
        client.close()
