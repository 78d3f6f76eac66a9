"""The API operation has two doors (ASGI endpoint by default, Flask view with --flask-handlers): same answers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from support.mock_fixtures import API_KEY, INMAIL_PROSPECT, PROSPECT, RESPONSES_PATH
from support.mock_process import MockProcess

FROZEN_WEDNESDAY_10AM_NEW_YORK = "2026-06-10T14:00:00.000Z"
VOLATILE = ("id", "traceId")


@pytest.fixture(scope="module")
def flask_door() -> Iterator[str]:
    with MockProcess("--rate-limit", "off", "--flask-handlers") as server:
        yield server.base_url


def _conversation(base_url: str) -> list[tuple[int, dict, str | None]]:
    """A fixed sequence of requests in a fresh session with a frozen clock; what a client sees of each."""
    session = f"doors-{uuid.uuid4().hex[:8]}"
    headers = {"Authorization": f"Bearer {API_KEY}", "X-Mock-Session": session}
    httpx.put(
        f"{base_url}/__mock/clock",
        json={"now": FROZEN_WEDNESDAY_10AM_NEW_YORK, "frozen": True},
        headers={"X-Mock-Session": session},
    ).raise_for_status()
    requests = [
        ({"Idempotency-Key": "k1"}, {"prospectId": PROSPECT, "message": "First"}),
        ({"Idempotency-Key": "k1"}, {"message": "First", "prospectId": PROSPECT}),
        ({"Idempotency-Key": "k1"}, {"prospectId": PROSPECT, "message": "Changed"}),
        ({}, {"prospectId": "prs_nobody", "message": "Hi"}),
        ({}, {"prospectId": "prs_barbara_liskov", "message": "Hi"}),
        ({}, {"prospectId": INMAIL_PROSPECT, "channel": "inmail", "subject": "Hello", "message": "Hi"}),
        ({}, {"prospectId": PROSPECT, "message": " "}),
    ]
    seen = []
    with httpx.Client(base_url=base_url, headers=headers, timeout=30.0) as client:
        for extra, body in requests:
            response = client.post(RESPONSES_PATH, json=body, headers=extra)
            envelope = response.json()
            if envelope.get("data"):
                envelope["data"] = {k: v for k, v in envelope["data"].items() if k not in VOLATILE}
            envelope = {k: v for k, v in envelope.items() if k not in VOLATILE}
            seen.append((response.status_code, envelope, response.headers.get("Idempotent-Replayed")))
    return seen


def test_flask_view_and_asgi_endpoint_answer_the_same(mock_url: str, flask_door: str) -> None:
    asgi, flask = _conversation(mock_url), _conversation(flask_door)
    assert [status for status, _, _ in asgi] == [202, 202, 409, 422, 409, 202, 400]
    assert flask == asgi
