"""The outermost layer: trace ids, the session, hostile-input guards and the journal.

It runs before connexion so that input connexion would answer with a 500 (invalid UTF-8 bodies,
control characters in the path) or hold in memory (huge bodies) gets an envelope error instead.
"""

from __future__ import annotations

import hmac
import time
from urllib.parse import quote, unquote

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server.domain import journal
from mock_server.http.envelope import EnvelopeError, begin_trace, send_json
from mock_server.http.routes import API_PREFIX, CONTROL_DOCS, CONTROL_PREFIX
from mock_server.http.runtime import (
    RUNTIME_KEY,
    SESSION_HEADER,
    SESSION_KEY,
    Runtime,
    caller_of,
    session_from_header,
)
from mock_server.http.validation import clear_pending_problems

TRACE_HEADER = b"x-trace-id"


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
        send = self._traced(scope, send, trace_id)
        headers = Headers(scope=scope)
        try:
            self._admit(scope, headers)
        except EnvelopeError as exc:
            await send_envelope(send, exc)
            return
        receive = self._bounded_receive(headers.get("content-length", ""), receive)
        if _is_chunked(headers):
            receive = await self._with_length(scope, receive)
        await self.app(scope, receive, send)

    def _admit(self, scope: Scope, headers: Headers) -> None:
        scope[RUNTIME_KEY] = self.runtime
        scope.setdefault("extensions", {})
        scope[SESSION_KEY] = session_from_header(headers.get(SESSION_HEADER))
        self.runtime.open_session(scope[SESSION_KEY])
        scope["path"] = opaque_path(scope)
        path = scope["path"]
        if path.startswith(CONTROL_PREFIX) and not path.startswith(CONTROL_DOCS):
            _require_control_token(self.runtime.config.control_token, headers.get("authorization"))
        if path.endswith("/") and path.startswith((API_PREFIX, CONTROL_PREFIX)) and not path.startswith(CONTROL_DOCS):
            raise EnvelopeError(404, "NOT_FOUND", f"No route for {path}.", "Remove the trailing slash.")

    def _bounded_receive(self, declared: str, receive: Receive) -> Receive:
        """Refuse a body over the limit when someone reads it: after authentication, as the contract orders
        checks, and before more than the limit is held in memory (chunked bodies included)."""
        limit, seen = self.runtime.config.max_body_bytes, [0]

        async def bounded() -> Message:
            if declared.isdigit() and int(declared) > limit:
                raise BodyTooLarge(limit)
            message = await receive()
            seen[0] += len(message.get("body", b""))
            if seen[0] > limit:
                raise BodyTooLarge(limit)
            return message

        return bounded

    async def _with_length(self, scope: Scope, receive: Receive) -> Receive:
        """Buffer a chunked body (bounded) and declare its length: connexion's validators read a body only
        when `Content-Length` says there is one, and would call a chunked body missing."""
        chunks: list[bytes] = []
        too_large: BodyTooLarge | None = None
        try:
            while True:
                message = await receive()
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
        except BodyTooLarge as exc:
            too_large = exc
        body = b"".join(chunks)
        length = len(body) if too_large is None else self.runtime.config.max_body_bytes + 1
        scope["headers"] = [
            *(h for h in scope["headers"] if h[0].lower() not in (b"content-length", b"transfer-encoding")),
            (b"content-length", str(length).encode()),
        ]

        async def replay() -> Message:
            if too_large is not None:
                raise too_large
            return {"type": "http.request", "body": body, "more_body": False}

        return replay

    def _traced(self, scope: Scope, send: Send, trace_id: str) -> Send:
        """Add `X-Trace-Id`, and journal API requests before the response leaves, so a client that
        reads the journal right after its response always finds the entry."""

        async def traced(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() != TRACE_HEADER]
                message = {**message, "headers": [*headers, (TRACE_HEADER, trace_id.encode())]}
                if SESSION_KEY in scope and scope["path"].startswith(API_PREFIX):
                    self._journal(scope, message["status"], trace_id)
            await send(message)

        return traced

    def _journal(self, scope: Scope, status: int, trace_id: str) -> None:
        headers = Headers(scope=scope)
        caller = caller_of(scope)
        entry = journal.JournalEntry(
            at=time.time(),
            method=scope["method"],
            path=scope["path"],
            status=status,
            trace_id=trace_id,
            idempotency_key=headers.get("idempotency-key"),
            api_key_name=None if caller is None else caller.name,
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


def _is_chunked(headers: Headers) -> bool:
    return "content-length" not in headers and "chunked" in headers.get("transfer-encoding", "").lower()


def opaque_path(scope: Scope) -> str:
    """The path with encoded slashes and control characters left encoded, so `ag%2Facme` or `ag%0A` route
    as one opaque (unknown) id and meet the contract's order of checks (401, then 403), never a 404 or 500.

    Decoded, `%2F` splits the segment and misses the route; a decoded control character makes connexion's
    router miss while Flask's matches, and the handler then runs outside connexion's context: a 500.
    """
    path: str = scope["path"]
    raw = scope.get("raw_path") or b""
    if b"%2f" in raw.lower():
        path = unquote(raw.decode("latin-1").replace("%2F", "%252F").replace("%2f", "%252f"))
    if not any(ord(c) < 0x20 or ord(c) == 0x7F for c in path):
        return path
    return "".join(quote(c) if ord(c) < 0x20 or ord(c) == 0x7F else c for c in path)


async def send_envelope(send: Send, error: EnvelopeError) -> None:
    await send_json(send, error.status_code, error.body(), error.headers)
