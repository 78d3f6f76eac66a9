"""The outermost layer: trace ids, the session, hostile-input guards and the journal.

It runs before connexion so that input connexion would answer with a 500 (invalid UTF-8 bodies,
control characters in the path) or hold in memory (huge bodies) gets an envelope error instead.
"""

from __future__ import annotations

import hmac
import time
from typing import Any
from urllib.parse import quote

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server.domain import journal
from mock_server.http.envelope import JSON, EnvelopeError, begin_trace, encode, validation_error
from mock_server.http.runtime import RUNTIME_KEY, SESSION_HEADER, SESSION_KEY, Runtime, session_from_header
from mock_server.http.validation import clear_pending_problems

TRACE_HEADER = b"x-trace-id"
API_PREFIX = "/v1/"
CONTROL_PREFIX = "/__mock/"
CONTROL_DOCS = ("/__mock/ui", "/__mock/openapi.json")


class BodyTooLarge(EnvelopeError):
    def __init__(self, limit: int) -> None:
        super().__init__(400, "VALIDATION_ERROR", "The request is not valid.", f"body: larger than {limit} bytes")


class Guards:
    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        trace_id = begin_trace()
        clear_pending_problems()
        status_seen: list[int] = []
        send = self._tracing_send(send, trace_id, status_seen)
        try:
            self._admit(scope)
        except EnvelopeError as exc:
            await send_envelope(send, exc)
            return
        await self.app(scope, self._bounded_receive(receive), send)
        if scope["path"].startswith(API_PREFIX) and status_seen:
            self._journal(scope, status_seen[0], trace_id)

    def _admit(self, scope: Scope) -> None:
        headers = Headers(scope=scope)
        scope[RUNTIME_KEY] = self.runtime
        scope.setdefault("extensions", {})
        scope[SESSION_KEY] = session_from_header(headers.get(SESSION_HEADER))
        self.runtime.open_session(scope[SESSION_KEY])
        scope["path"] = _opaque_controls(scope["path"])
        if scope["path"].startswith(CONTROL_PREFIX) and not scope["path"].startswith(CONTROL_DOCS):
            _require_control_token(self.runtime.config.control_token, headers.get("authorization"))
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                raise validation_error("Content-Length: must be a whole number of bytes")
            if int(length) > self.runtime.config.max_body_bytes:
                raise BodyTooLarge(self.runtime.config.max_body_bytes)

    def _bounded_receive(self, receive: Receive) -> Receive:
        """Stop reading a body (chunked ones too) once it passes the limit."""
        limit, seen = self.runtime.config.max_body_bytes, [0]

        async def bounded() -> Message:
            message = await receive()
            seen[0] += len(message.get("body", b""))
            if seen[0] > limit:
                raise BodyTooLarge(limit)
            return message

        return bounded

    @staticmethod
    def _tracing_send(send: Send, trace_id: str, status_seen: list[int]) -> Send:
        async def traced(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_seen.append(message["status"])
                headers = [h for h in message.get("headers", []) if h[0].lower() != TRACE_HEADER]
                message = {**message, "headers": [*headers, (TRACE_HEADER, trace_id.encode())]}
            await send(message)

        return traced

    def _journal(self, scope: Scope, status: int, trace_id: str) -> None:
        headers = Headers(scope=scope)
        token_info: dict[str, Any] = scope["extensions"].get("connexion_context", {}).get("token_info") or {}
        entry = journal.JournalEntry(
            at=time.time(),
            method=scope["method"],
            path=scope["path"],
            status=status,
            trace_id=trace_id,
            idempotency_key=headers.get("idempotency-key"),
            api_key_name=token_info.get("sub"),
        )
        with self.runtime.store.transaction() as conn:
            journal.record(conn, scope[SESSION_KEY], entry)


def _require_control_token(expected: str | None, authorization: str | None) -> None:
    """With `--control-token`, the control API answers only to that bearer (compared in constant time)."""
    if expected is None:
        return
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise EnvelopeError(
            401,
            "UNAUTHORIZED",
            "The control API needs the control token.",
            "Send `Authorization: Bearer <control token>` (the mock runs with --control-token).",
        )


def _opaque_controls(path: str) -> str:
    """Keep control characters percent-encoded, so a segment like `ag%0A` routes as an opaque (unknown) id.

    Decoded, connexion's router misses the route and Flask then calls the handler outside connexion's
    context: a 500. Encoded, the request meets the contract's order of checks like any unknown id.
    """
    if not any(ord(c) < 0x20 or ord(c) == 0x7F for c in path):
        return path
    return "".join(quote(c) if ord(c) < 0x20 or ord(c) == 0x7F else c for c in path)


async def send_envelope(send: Send, error: EnvelopeError) -> None:
    payload = encode(error.body())
    headers = [(b"content-type", JSON.encode()), (b"content-length", str(len(payload)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in error.headers.items()]
    await send({"type": "http.response.start", "status": error.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
