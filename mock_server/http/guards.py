"""The outermost layer: trace ids, the session, hostile-input guards and the journal.

It runs before connexion so that input connexion would answer with a 500 (invalid UTF-8 bodies,
control characters in the path) or hold in memory (huge bodies) gets an envelope error instead.
"""

from __future__ import annotations

import hmac
import re
from urllib.parse import quote, unquote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server.domain.errors import CatalogueError, MockError
from mock_server.http.envelope import begin_trace, error_envelope, send_json
from mock_server.http.recorder import Recording
from mock_server.http.routes import API_PREFIX, CONTROL_PREFIX, is_public_page
from mock_server.http.runtime import (
    RUNTIME_KEY,
    SESSION_HEADER,
    SESSION_KEY,
    Runtime,
    first_values,
    session_from_header,
)


class BodyTooLarge(CatalogueError):
    """Raised while the body is read, so the refusal comes after authentication, as the contract orders."""

    template = "validation"

    def __init__(self, limit: int) -> None:
        super().__init__(f"body: larger than {limit} bytes")


class Guards:
    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # The request log and the journal (mock_server/http/recorder.py) see every byte in and out.
        recording = Recording(scope, self.runtime, begin_trace())
        send, receive = recording.send(send), recording.receive(receive)
        headers = first_values(scope["headers"], GUARDED_HEADERS)
        try:
            self._admit(scope, headers)
        except MockError as exc:
            await send_envelope(send, exc)
            return
        receive = self._bounded_receive(headers.get(b"content-length", ""), receive)
        if _is_chunked(headers):
            receive = await self._with_length(scope, receive)
        try:
            await self.app(scope, receive, send)
        finally:
            recording.finish()

    def _admit(self, scope: Scope, headers: dict[bytes, str]) -> None:
        # Naming a session creates nothing: only an authenticated API request or a control call does
        # (Runtime.admit), so /healthz, 404s, 401s and 403s cannot grow the store.
        attach(scope, self.runtime, session_from_header(headers.get(SESSION_HEADER_BYTES)))
        scope["path"] = opaque_path(scope)
        scope["headers"] = lowercase_media_type(scope["headers"])
        path = scope["path"]
        if path.startswith(CONTROL_PREFIX) and not is_public_page(path):
            _require_control_token(self.runtime.config.control_token, headers.get(b"authorization"))
        if path.endswith("/") and path.startswith((API_PREFIX, CONTROL_PREFIX)) and not is_public_page(path):
            raise MockError.named("not_found", "Remove the trailing slash.", message=f"No route for {path}.")

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


def attach(scope: Scope, runtime: Runtime, session: str) -> None:
    """What every later layer reads from the scope: the runtime and the session the request names."""
    scope[RUNTIME_KEY] = runtime
    scope.setdefault("extensions", {})
    scope[SESSION_KEY] = session


def detach(scope: Scope) -> None:
    """Undo `attach`: the fast path hands the request over as it came."""
    scope.pop(RUNTIME_KEY, None)
    scope.pop(SESSION_KEY, None)


def _require_control_token(expected: str | None, authorization: str | None) -> None:
    """With `--control-token`, the control API answers only to that bearer (compared in constant time)."""
    if expected is None:
        return
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise MockError.named(
            "control_unauthorized", "Send `Authorization: Bearer <control token>` (the mock runs with --control-token)."
        )


SESSION_HEADER_BYTES = SESSION_HEADER.encode()
GUARDED_HEADERS = frozenset({SESSION_HEADER_BYTES, b"content-length", b"transfer-encoding", b"authorization"})
"""The request headers the guards read."""


def _is_chunked(headers: dict[bytes, str]) -> bool:
    return b"content-length" not in headers and "chunked" in headers.get(b"transfer-encoding", "").lower()


def lowercase_media_type(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """`Content-Type: Application/JSON` as `application/json` (media types are case-insensitive, RFC 9110): connexion
    matches them case-sensitively and skipped the body's validation for any other spelling, so an invalid body
    reached the operation (a 202 for an empty message, a 500 for `[]`). Parameters are left as they are."""
    for index, (name, value) in enumerate(headers):
        if name == b"content-type":
            media, separator, parameters = value.partition(b";")
            if media != media.lower():
                headers = list(headers)
                headers[index] = (name, media.lower() + separator + parameters)
    return headers


CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")


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
    if CONTROL_CHARACTER.search(path) is None:  # every request: a regex, not a Python loop over the path
        return path
    return CONTROL_CHARACTER.sub(lambda match: quote(match.group(0)), path)


async def send_envelope(send: Send, error: MockError) -> None:
    await send_json(send, error.status, error_envelope(error), error.headers)
