"""The order in which the mock judges an API request is one table (`mock_server.http.app.CHECK_ORDER`).

Two things hold it to the code: the stack the app is built from passes the table's layers in the table's
order, and for every step a request that breaks that step *and every later one* is answered by that step,
with the status the table names. Move a middleware, or a check inside one, and a test here fails.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from helpers import DM_BODY, INMAIL_BODY, bearer
from starlette.testclient import TestClient

from mock_server import MockConfig, create_app
from mock_server.http.app import CHECK_ORDER, stack
from support.mock_fixtures import API_KEY, GROUP, READONLY_KEY, RESPONSES_PATH

UNKNOWN = {"prospectId": "prs_nobody", "message": "Hello"}
SHAPELESS = {"prospectId": "prs_nobody", "message": "", "extra": 1}


def test_the_stack_passes_the_tables_layers_in_the_tables_order() -> None:
    layers = list(dict.fromkeys(check.layer for check in CHECK_ORDER))
    built = stack(create_app(MockConfig()))
    positions = [built.index(layer) for layer in layers]
    assert positions == sorted(positions), [layer.__name__ for layer in built]


class Mock:
    """One in-process mock and the request each step of the table is judged on."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def post(self, body: Any, key: str | None = API_KEY, session: str = "order", **headers: str) -> httpx.Response:
        sent = {"X-Mock-Session": session, **headers, **(bearer(key) if key else {})}
        return self.client.post(RESPONSES_PATH, json=body, headers=sent)


@pytest.fixture(scope="module")
def limited() -> Iterator[Mock]:
    """Room for one session besides `default`, and one request per key per hour."""
    with TestClient(create_app(MockConfig(rate_limit="1/h", max_sessions=2))) as client:
        mock = Mock(client)
        assert mock.post(DM_BODY).status_code == 202  # creates session "order" and spends its token
        yield mock


@pytest.fixture(scope="module")
def open_mock() -> Iterator[Mock]:
    with TestClient(create_app(MockConfig(rate_limit="off"))) as client:
        mock = Mock(client)
        bound = mock.post(DM_BODY, **{"Idempotency-Key": "bound-key"})
        assert bound.status_code == 202
        yield mock


def _fault_then(mock: Mock, body: Any, **headers: str) -> httpx.Response:
    added = mock.client.post("/__mock/faults", json={"status": 503, "count": 1}, headers={"X-Mock-Session": "order"})
    assert added.status_code == 201, added.text
    return mock.post(body, **headers)


PREFER = {"Prefer": "code=409, example=PROSPECT_NOT_CONNECTED"}
CONFLICT_KEY = {"Idempotency-Key": "bound-key"}
STEPS: list[tuple[str, Callable[[Mock], httpx.Response]]] = [
    ("limited", lambda m: m.post(SHAPELESS, key=None, session="not a session name")),
    ("limited", lambda m: m.post(SHAPELESS, key="sk_test_unknown_key", session="brand-new")),
    (
        "limited",
        lambda m: m.client.post(
            f"/v1/accounts/{GROUP}/messages/responses",
            json=SHAPELESS,
            headers={"X-Mock-Session": "brand-new", **bearer(READONLY_KEY)},
        ),
    ),
    ("limited", lambda m: m.post(SHAPELESS, session="brand-new")),
    ("limited", lambda m: m.post(SHAPELESS, **PREFER)),
    ("open", lambda m: _fault_then(m, SHAPELESS, **PREFER, **CONFLICT_KEY)),
    ("open", lambda m: m.post(SHAPELESS, **PREFER, **CONFLICT_KEY)),
    ("open", lambda m: m.post(SHAPELESS, **CONFLICT_KEY)),
    ("open", lambda m: m.post({**UNKNOWN, "channel": "direct_message"}, **CONFLICT_KEY)),
    ("open", lambda m: m.post({**INMAIL_BODY, "prospectId": "prs_nobody"})),
    ("open", lambda m: m.post({**INMAIL_BODY, "prospectId": DM_BODY["prospectId"]})),
    ("open", lambda m: m.post(DM_BODY)),
]


INJECTED = {5: 503, 6: 409}  # the fault added by _fault_then, the status named in PREFER


def test_every_step_of_the_table_has_a_request_here() -> None:
    assert len(STEPS) == len(CHECK_ORDER)


@pytest.mark.parametrize("index", range(len(CHECK_ORDER)), ids=[c.decides for c in CHECK_ORDER])
def test_a_request_that_breaks_a_step_and_every_later_one_gets_that_steps_answer(index, limited, open_mock):
    mock_name, send = STEPS[index]
    check = CHECK_ORDER[index]
    response = send(limited if mock_name == "limited" else open_mock)
    # The table's answer names the status(es); the fault and Prefer steps answer what was injected or preferred.
    expected = {int(n) for n in re.findall(r"\b\d{3}\b", check.answer)} or {INJECTED[index]}
    assert response.status_code in expected, f"{check.decides}: {response.status_code} {response.text}"
    body = response.json()
    codes = re.findall(r"[A-Z][A-Z_]{3,}", check.answer)
    if codes and not body["success"]:
        assert body["error"]["code"] in codes, f"{check.decides}: {body['error']}"
