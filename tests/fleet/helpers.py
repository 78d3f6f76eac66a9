"""Requests and checks shared by the fleet tests: the control API of one replica, replays, the stored list.

Every check reads the state back through the HTTP APIs, as a frontend team would, never from the database.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from reliability.helpers import Acked, api_headers

from support.mock_fixtures import API_KEY, RESPONSES_PATH

TIMEOUT = 30.0
WEDNESDAY_10_NY = "2026-04-29T14:00:00.000Z"  # inside ag_acme's sending hours (America/New_York, EDT)

Body = dict[str, str]


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
