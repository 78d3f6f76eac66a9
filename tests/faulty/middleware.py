"""Small ASGI wrappers that bend the real mock's behaviour from the outside, one rule at a time."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server.domain.errors import MockError
from mock_server.http.guards import send_envelope

API_PREFIX = "/v1/"


def _is_api(scope: Scope) -> bool:
    return scope["type"] == "http" and scope["path"].startswith(API_PREFIX)


async def _read_body(receive: Receive) -> bytes:
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    return body


def _replay(body: bytes) -> Receive:
    sent = [False]

    async def receive() -> Message:
        if sent[0]:
            return {"type": "http.disconnect"}
        sent[0] = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _with_length(scope: Scope, body: bytes) -> Scope:
    headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
    return {**scope, "headers": [*headers, (b"content-length", str(len(body)).encode())]}


class RewriteRequestJson:
    """Rewrites the parsed JSON body before the mock sees it. Bodies that are not JSON, or that the rewrite
    leaves equal, pass byte for byte, so the variant bends its one rule and not the body's framing or size."""

    def __init__(self, app: ASGIApp, rewrite: Callable[[Any], Any]) -> None:
        self.app, self.rewrite = app, rewrite

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_api(scope):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        try:
            rewritten = self.rewrite(json.loads(body))
            if rewritten != json.loads(body):
                body = json.dumps(rewritten).encode()
        except ValueError:
            pass
        await self.app(_with_length(scope, body), _replay(body), send)


class RewriteRequest:
    """Rewrites the raw body bytes and the request headers before the mock sees them."""

    def __init__(
        self,
        app: ASGIApp,
        body: Callable[[bytes], bytes] = lambda raw: raw,
        headers: Callable[[list[tuple[bytes, bytes]]], list[tuple[bytes, bytes]]] = lambda pairs: pairs,
    ) -> None:
        self.app, self.body, self.headers = app, body, headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_api(scope):
            await self.app(scope, receive, send)
            return
        raw = self.body(await _read_body(receive))
        scope = _with_length({**scope, "headers": self.headers(list(scope["headers"]))}, raw)
        await self.app(scope, _replay(raw), send)


class ShortCircuit:
    """Answers some requests itself, before the mock (and so before its authentication) runs."""

    def __init__(self, app: ASGIApp, decide: Callable[[Scope, bytes], MockError | None]) -> None:
        self.app, self.decide = app, decide

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_api(scope):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        error = self.decide(scope, body)
        if error is not None:
            await send_envelope(send, error)
            return
        await self.app(scope, _replay(body), send)


class RewriteResponse:
    """Rewrites status and headers of API responses as they leave the mock (seeing the request's scope)."""

    def __init__(self, app: ASGIApp, rewrite: Callable[[Scope, int, list], tuple[int, list]]) -> None:
        self.app, self.rewrite = app, rewrite

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_api(scope):
            await self.app(scope, receive, send)
            return

        async def rewritten(message: Message) -> None:
            if message["type"] == "http.response.start":
                status, headers = self.rewrite(scope, message["status"], list(message.get("headers", [])))
                message = {**message, "status": status, "headers": headers}
            await send(message)

        await self.app(scope, receive, rewritten)


class ObserveResponses:
    """Shows a variant each API request's body with the status the mock answered it, as the answer leaves."""

    def __init__(self, app: ASGIApp, observe: Callable[[Scope, bytes, int], None]) -> None:
        self.app, self.observe = app, observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_api(scope):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)

        async def observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.observe(scope, body, message["status"])
            await send(message)

        await self.app(scope, _replay(body), observed)


class CountInFlight:
    """Counts requests in flight per Idempotency-Key, from the moment they reach the server."""

    def __init__(self, app: ASGIApp, in_flight: Counter[str]) -> None:
        self.app, self.in_flight, self._lock = app, in_flight, threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = header(scope, b"idempotency-key") if _is_api(scope) else None
        if key is None:
            await self.app(scope, receive, send)
            return
        with self._lock:
            self.in_flight[key] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            with self._lock:
                self.in_flight[key] -= 1


def json_object(raw: bytes) -> dict[str, Any] | None:
    """The request body when it is a JSON object, else None (a variant bends valid requests only)."""
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def header(scope: Scope, name: bytes) -> str | None:
    """A request header from the ASGI scope."""
    return next((v.decode("latin-1") for k, v in scope["headers"] if k.lower() == name), None)
