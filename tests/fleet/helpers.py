"""Requests and checks shared by the fleet tests: the control API of one replica, replays, the stored list.

Every check reads the state back through the HTTP APIs, as a frontend team would, never from the database.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from reliability.helpers import api_headers, list_messages

from support.mock_fixtures import API_KEY, GROUP, RESPONSES_PATH

TIMEOUT = 30.0
LIST_LIMIT = 1000  # one page of the control API's message list: a test's session stays below it
WEDNESDAY_10_NY = "2026-04-29T14:00:00.000Z"  # inside ag_acme's sending hours (America/New_York, EDT)

Body = dict[str, str]
Acked = dict[str, tuple[Body, dict[str, Any]]]


def describe(response: httpx.Response) -> str:
    request = response.request
    return f"{request.method} {request.url} -> {response.status_code} {response.headers} {response.text[:400]}"


def control(base_url: str, session: str, method: str, path: str, body: Any = None) -> Any:
    """One control API call through this replica; returns `data` of the 200 envelope."""
    response = httpx.request(
        method, f"{base_url}/__mock{path}", json=body, headers={"X-Mock-Session": session}, timeout=TIMEOUT
    )
    assert response.status_code == 200, describe(response)
    return response.json()["data"]


def freeze(base_url: str, session: str, now: str) -> None:
    clock = control(base_url, session, "PUT", "/clock", {"now": now, "frozen": True})
    assert (clock["now"], clock["frozen"]) == (now, True), clock


def post_response(client: httpx.Client, base_url: str, session: str, key: str | None, body: Body) -> httpx.Response:
    """POST a scheduled response to ag_acme through this replica, with the demo write key."""
    return client.post(f"{base_url}{RESPONSES_PATH}", json=body, headers=api_headers(API_KEY, session, key))


def assert_replays(urls: list[str], session: str, acked: Acked) -> None:
    """Every acknowledged key, sent again with its body, replays its original `data` (the replicas in turn)."""

    def replay(numbered: tuple[int, tuple[str, tuple[Body, dict[str, Any]]]]) -> str | None:
        number, (key, (body, data)) = numbered
        url = urls[number % len(urls)]
        response = post_response(client, url, session, key, body)
        if response.status_code != 202 or response.headers.get("idempotent-replayed") != "true":
            return f"{key} via {url}: {describe(response)}"
        if response.json()["data"] != data:
            return f"{key} via {url}: replayed {response.json()['data']}, acknowledged {data}"
        return None

    with httpx.Client(timeout=TIMEOUT, limits=httpx.Limits(max_connections=8)) as client:
        with ThreadPoolExecutor(max_workers=6) as pool:
            failures = [f for f in pool.map(replay, enumerate(acked.items())) if f]
    assert not failures, f"{len(failures)} of {len(acked)} acknowledged keys do not replay: {failures[:5]}"


def assert_stored_once(base_url: str, session: str, acked: Acked, sent: set[str]) -> list[dict[str, Any]]:
    """The group's list holds each acknowledged message once, under its key, and no key twice."""
    messages = list_messages(base_url, session, GROUP)
    assert len(messages) < LIST_LIMIT, "the session outgrew one page of the list; the check would be partial"
    ids = Counter(message["id"] for message in messages)
    assert not [i for i, n in ids.items() if n > 1], f"ids listed twice: {[i for i, n in ids.items() if n > 1]}"
    keys = Counter(message["idempotencyKey"] for message in messages)
    doubled = [key for key, n in keys.items() if n > 1]
    assert not doubled, f"one Idempotency-Key stored several messages: {doubled[:10]}"
    strangers = [key for key in keys if key not in sent]
    assert not strangers, f"messages under keys nobody sent: {strangers[:10]}"
    listed = {message["idempotencyKey"]: message["id"] for message in messages}
    lost = {key: data["id"] for key, (_, data) in acked.items() if listed.get(key) != data["id"]}
    assert not lost, f"{len(lost)} acknowledged messages missing or changed: {list(lost.items())[:10]}"
    return messages
