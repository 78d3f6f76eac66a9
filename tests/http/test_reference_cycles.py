"""A request leaves no reference cycle behind: reference counting frees all of it when the response is sent.

Why: the scope and the request's record (`Recording`) referred to each other, so every request's scope, headers,
record and caller waited for the garbage collector; the collections that found them came every few dozen
requests and some took 4 ms, stalling every connection at once (the p99 of bench/run.py). Both paths, the answers
users see most (202, replay, 400, 401, 409).
"""

from __future__ import annotations

import asyncio
import gc
import json
from typing import Any

import pytest

from mock_server import MockConfig, create_app
from support.differential import RawRequest, scope_of

PATH = "/v1/accounts/ag_acme/messages/responses"
VALID = {"prospectId": "prs_ada_lovelace", "message": "Hello"}
NOT_CONNECTED = {"prospectId": "prs_grace_hopper", "message": "Hello"}
CASES = {
    "202": ("sk_test_acme_writer", VALID, None),
    "replay": ("sk_test_acme_writer", VALID, "same-key"),
    "400": ("sk_test_acme_writer", {"prospectId": 1}, None),
    "401": ("sk_test_nobody", VALID, None),
    "409": ("sk_test_acme_writer", NOT_CONNECTED, None),
}


def request(key: str, idempotency_key: str, body: bytes) -> RawRequest:
    headers = (
        (b"authorization", f"Bearer {key}".encode()),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"idempotency-key", idempotency_key.encode()),
    )
    return RawRequest("POST", PATH.encode(), b"", headers, (body,))


async def play(app: Any, case: str, count: int) -> list[int]:
    key, document, fixed_key = CASES[case]
    body = json.dumps(document).encode()
    statuses: list[int] = []
    for index in range(count):

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await app(scope_of(request(key, fixed_key or f"{case}-{index}", body)), receive, send)
    return statuses


async def leftovers_of(app: Any, case: str, expected: int) -> list[str]:
    """The types of what the collector finds unreachable after 20 requests (after 5 that fill start-up's caches),
    all in one event loop: a loop's own start and end leave cycles of their own."""
    assert await play(app, case, 5) == [expected] * 5
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        statuses = await play(app, case, 20)
        gc.collect()
        assert statuses == [expected] * 20
        return [type(o).__name__ for o in gc.garbage]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast-path", "full-path"])
@pytest.mark.parametrize("case", list(CASES))
def test_a_request_leaves_nothing_for_the_garbage_collector(case: str, fast_path: bool) -> None:
    app = create_app(MockConfig(rate_limit="off", fast_path=fast_path))
    expected = int(case) if case.isdigit() else 202

    leftovers = asyncio.run(leftovers_of(app, case, expected))

    assert leftovers == [], f"{len(leftovers)} objects in reference cycles after 20 requests: {leftovers[:20]}"
