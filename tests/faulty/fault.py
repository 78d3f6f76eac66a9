"""What every faulty variant is built from: the real mock, a seam to bend its outcomes, and a body rewriter."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from faulty.middleware import API_PREFIX, RewriteResponse, ShortCircuit, header
from mock_server.config import MockConfig
from mock_server.domain.errors import MockError
from mock_server.domain.service import Outcome
from mock_server.http import handlers
from mock_server.http.app import create_app

Build = Callable[[pytest.MonkeyPatch], ASGIApp]


@dataclass(frozen=True)
class Fault:
    """One deliberately broken rule and the kit check that must report it."""

    name: str
    check: str
    build: Build
    args: tuple[str, ...] = ("--profile", "quick")


def only(check: str) -> tuple[str, ...]:
    """Kit arguments that run just `check` (a glob) on the quick profile, so a variant's test stays short."""
    return ("--profile", "quick", "--only", check)


def mock(rate_limit: str = "100/s", **config: Any) -> ASGIApp:
    """The real mock with its demo data, in memory."""
    return create_app(MockConfig(rate_limit=rate_limit, **config))


def wrap_outcomes(monkeypatch: pytest.MonkeyPatch, change: Callable[[Outcome, str | None], Outcome]) -> None:
    """Bend what the handler returns, new and replayed alike, keeping the domain itself correct."""
    original = handlers.queue_response

    def bent(store: Any, session: str, group_id: str, body: dict, key: str | None, *rest: Any, **named: Any) -> Outcome:
        return change(original(store, session, group_id, body, key, *rest, **named), key)

    monkeypatch.setattr(handlers, "queue_response", bent)


def with_data(outcome: Outcome, **changes: Any) -> Outcome:
    """The outcome with some members of its 202 data replaced."""
    return Outcome({**outcome.data, **changes}, outcome.replayed, outcome.clock)


class RewriteJson:
    """Rewrites the JSON body (and headers) of API responses as they leave the mock.

    `change(scope, status, headers, body)` gets the request's scope, the status, the headers as a dict of
    lower-case names, and the parsed body; it returns the new headers and body.
    """

    def __init__(self, app: ASGIApp, change: Callable[[Scope, int, dict[str, str], Any], tuple[dict, Any]]) -> None:
        self.app, self.change = app, change

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        start: list[Message] = []
        chunks: list[bytes] = []

        async def buffered(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.append(message)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                await self._flush(scope, send, start[0], b"".join(chunks))

        await self.app(scope, receive, buffered)

    async def _flush(self, scope: Scope, send: Send, start: Message, raw: bytes) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in start.get("headers", [])}
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if body is not None:
            headers, body = self.change(scope, start["status"], headers, body)
            raw = json.dumps(body).encode()
        headers["content-length"] = str(len(raw))
        encoded = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        await send({**start, "headers": encoded})
        await send({"type": "http.response.body", "body": raw})


def idempotency_conflict() -> MockError:
    """The 409 a server answers when it believes a key is already bound."""
    return MockError(409, "IDEMPOTENCY_CONFLICT", "This Idempotency-Key was already used.")


def binds_key_after(statuses: Collection[int], app: ASGIApp | None = None) -> ASGIApp:
    """The mock (or `app`) with an idempotency layer in front that binds a key to any response in `statuses`:
    every later request with that key, the corrected one too, is 409 IDEMPOTENCY_CONFLICT."""
    bound: set[str] = set()

    def remember(scope: Scope, status: int, headers: list) -> tuple[int, list]:
        key = header(scope, b"idempotency-key")
        if key is not None and status in statuses:
            bound.add(key)
        return status, headers

    def conflict(scope: Scope, _: bytes) -> MockError | None:
        return idempotency_conflict() if header(scope, b"idempotency-key") in bound else None

    return ShortCircuit(RewriteResponse(app or mock(), remember), conflict)
