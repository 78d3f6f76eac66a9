"""What each request leaves behind: one request-log line for every request, one journal entry per API request.

A `Recording` follows one request through the guards: it keeps the first bytes of the request and response
bodies (never more, whatever their size), stamps `X-Trace-Id`, writes the journal entry *before* the
response's first byte leaves (a client that reads the journal right after its response finds the entry),
and logs the line once the response is complete. Header values are read only to mask them: the API key's
fixture name is recorded, never its value.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from collections.abc import Iterable
from typing import Final

from starlette.types import Message, Receive, Scope, Send

from mock_server.domain import journal, sessions
from mock_server.domain.clock import ClockState
from mock_server.domain.errors import DatabaseUnavailable, StorageFull
from mock_server.domain.journal import Body
from mock_server.http.routes import API_PREFIX, CONTROL_BASE_PATH
from mock_server.http.runtime import FAULT_EXTENSION, SESSION_KEY, Runtime, caller_of, first_values
from mock_server.logs import RequestLine, log_request, request_log_enabled
from mock_server.storage import Tx

TRACE_HEADER: Final = b"x-trace-id"
# Enough past the stored bound that a key cut at the boundary is still whole when it is masked.
HEAD_BYTES: Final = journal.MAX_BODY_CHARS + 256
# Polled by health checks and fetched by the docs page: there at debug level, not in the everyday log.
QUIET_PATHS: Final = frozenset({"/healthz", "/readyz", "/ui", "/openapi.json", CONTROL_BASE_PATH + "/ui"})
QUIET_PREFIXES: Final = ("/ui/", CONTROL_BASE_PATH + "/ui/", CONTROL_BASE_PATH + "/openapi.")
JOURNALED_HEADERS: Final = frozenset({b"idempotency-key", b"authorization"})
"""Read for the entry: the key it shows, and the credentials masked wherever the request echoed them."""
RECORDING_EXTENSION: Final = "sonarly.recording"
"""`scope["extensions"]` key of the request's `Recording`, so the operation can journal within its transaction."""


class BodyHead:
    """The first HEAD_BYTES of a body and its full size."""

    def __init__(self) -> None:
        self.head = bytearray()
        self.size = 0

    def add(self, chunk: bytes) -> None:
        if len(self.head) < HEAD_BYTES:
            self.head += chunk[: HEAD_BYTES - len(self.head)]
        self.size += len(chunk)

    def body(self) -> journal.Body | None:
        return journal.Body(bytes(self.head), self.size) if self.size else None


class Recording:
    """One request's record, built as it passes and written once."""

    def __init__(self, scope: Scope, runtime: Runtime, trace_id: str) -> None:
        self.scope = scope
        self.runtime = runtime
        self.trace_id = trace_id
        self.wall = time.time()
        self.started = time.perf_counter()
        self.request = BodyHead()
        self.response = BodyHead()
        self.status: int | None = None
        self.held: Message | None = None
        self.journaled = False
        self.logged = False
        scope.setdefault("extensions", {})[RECORDING_EXTENSION] = self

    def receive(self, receive: Receive) -> Receive:
        async def recorded() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                self.request.add(message.get("body", b""))
            return message

        return recorded

    def send(self, send: Send) -> Send:
        async def recorded(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = with_trace_id(message, self.trace_id)
                self.status = message["status"]
                if self._journaled() and not self.journaled:
                    self.held = message  # sent with the first body chunk, once the entry is written
                    return
            elif message["type"] == "http.response.body":
                self.response.add(message.get("body", b""))
                if self.held is not None:
                    start, self.held = self.held, None
                    self.journal()
                    await send(start)
                if not message.get("more_body", False):
                    self.log()  # before the last byte: by the time a client has its response, the line is there
            await send(message)

        return recorded

    def whole(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> list[tuple[bytes, bytes]]:
        """A complete response about to leave in one write, without the ASGI messages (the fast path's): recorded
        as `send`'s wrapper records its two messages, in the same order (the status, the body, the journal entry
        if it is not written yet, the log line). Returns its headers with the trace id, as that wrapper adds it."""
        self.status = status
        self.response.add(body)
        if not self.journaled and self._journaled():
            self.journal()
        self.log()
        return with_trace_header(headers, self.trace_id)

    def finish(self) -> None:
        """After the app: record what has not been recorded yet, such as a connection an injected fault
        dropped without any response (journaled with no status). Then the scope lets go of this record: the two
        refer to each other, and a cycle waits for the garbage collector, whose passes over every request's
        scope, headers and record stalled the loop for up to 4 ms every few dozen requests (bench/RESULTS.md)."""
        try:
            if self._journaled() and not self.journaled:
                self.journal()
            self.log()
        finally:
            self.scope.get("extensions", {}).pop(RECORDING_EXTENSION, None)

    def discard(self) -> None:
        """Nothing of this record is kept: the request is handed to a layer that records it itself."""
        self.journaled = self.logged = True
        self.scope.get("extensions", {}).pop(RECORDING_EXTENSION, None)

    def log(self) -> None:
        """The request-log line, once."""
        if self.logged:
            return
        self.logged = True
        path = self.scope.get("path", "")
        level = logging.DEBUG if path in QUIET_PATHS or path.startswith(QUIET_PREFIXES) else logging.INFO
        if not request_log_enabled(level):
            return
        line = RequestLine(
            method=self.scope.get("method", ""),
            path=path,
            status=self.status,
            code=self.error_code(),
            duration_ms=(time.perf_counter() - self.started) * 1000,
            session=self.scope.get(SESSION_KEY),
            trace_id=self.trace_id,
            fault=self.fault(),
        )
        log_request(line, level)

    def error_code(self) -> str | None:
        """The envelope's `error.code` of an error response (None for successes and non-envelope bodies)."""
        return error_code(self.status, self.response.head)

    def fault(self) -> int | None:
        """The id of the injected fault that answered this request, if one did."""
        fault = self.scope.get("extensions", {}).get(FAULT_EXTENSION)
        return fault if isinstance(fault, int) else None

    def _journaled(self) -> bool:
        """API requests of a known session name; control calls, docs and health checks are not journaled."""
        return SESSION_KEY in self.scope and self.scope["path"].startswith(API_PREFIX)

    def journal(self) -> None:
        """One entry, only into a session that exists: a request that named an unknown session and failed
        authentication must leave nothing behind. A database that fails now costs the entry, never the answer
        already decided (a 202 is committed: turning it into an error would invite a retry of a kept request).
        A full store costs the entry the same way."""
        self.journaled = True
        try:
            self._write_entry()
        except (DatabaseUnavailable, StorageFull) as exc:
            logging.getLogger(__name__).warning(
                "journal entry of %s %s not written: %s",
                self.scope["method"],
                self.scope["path"],
                exc.details or exc.message,
            )

    def write_within(self, tx: Tx, clock: ClockState, status: int, payload: bytes) -> None:
        """The entry of a response about to be sent, in the transaction that decided it: the 202 and its entry
        commit together, without a transaction of their own (a third of the entry's cost), and the response then
        leaves without another write. A database that fails here fails the request, which nothing has promised."""
        self.journaled = True
        self._record(tx, clock, status, journal.Body(payload[:HEAD_BYTES], len(payload)))

    def unwritten(self) -> None:
        """The transaction that held this request's entry did not commit: the entry goes in with the response
        the request gets instead (a 503 when the database failed at the commit), as for any other request."""
        self.journaled = False

    def _write_entry(self) -> None:
        session: str = self.scope[SESSION_KEY]
        with self.runtime.store.transaction(session) as tx:
            clock = sessions.clock_if_exists(tx, session)
            if clock is not None:
                self._record(tx, clock, self.status, self.response.body())

    def _record(self, tx: Tx, clock: ClockState, status: int | None, response: Body | None) -> None:
        headers = first_values(self.scope["headers"], JOURNALED_HEADERS)
        caller = caller_of(self.scope)
        entry = journal.JournalEntry(
            at=self.wall,
            method=self.scope["method"],
            path=self.scope["path"],
            status=status,
            trace_id=self.trace_id,
            idempotency_key=headers.get(b"idempotency-key"),
            api_key_name=None if caller is None else caller.name,
            code=error_code(status, response.head if response else b""),
            fault=self.fault(),
            duration_ms=(time.perf_counter() - self.started) * 1000,
            mock_time=clock.now(self.wall),
            request_body=self.request.body(),
            response_body=response,
        )
        journal.record(tx, self.scope[SESSION_KEY], entry, secrets=credentials(headers.get(b"authorization")))


def recording_of(scope: Scope) -> Recording | None:
    """This request's record (Guards starts one for every HTTP request)."""
    recording = scope.get("extensions", {}).get(RECORDING_EXTENSION)
    return recording if isinstance(recording, Recording) else None


def error_code(status: int | None, head: bytes | bytearray) -> str | None:
    """The envelope's `error.code` of an error response (None for successes and non-envelope bodies). The head is
    parsed as it is (a recording's bytearray included, uncopied), and only for an error status."""
    if status is None or status < 400 or not head:
        return None
    try:
        document = json.loads(head)
    except ValueError:
        return None
    error = document.get("error") if isinstance(document, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None


def with_trace_id(message: Message, trace_id: str) -> Message:
    return {**message, "headers": with_trace_header(message.get("headers", []), trace_id)}


def with_trace_header(headers: Iterable[tuple[bytes, bytes]], trace_id: str) -> list[tuple[bytes, bytes]]:
    """The headers with this request's `X-Trace-Id` last, in place of any the app set."""
    return [*(h for h in headers if h[0].lower() != TRACE_HEADER), (TRACE_HEADER, trace_id.encode())]


def credentials(authorization: str | None) -> tuple[str, ...]:
    """Every form of the secret an `Authorization` header carried, for masking wherever it is echoed."""
    if not authorization:
        return ()
    scheme, _, token = authorization.strip().partition(" ")
    found = [authorization.strip(), token.strip() or scheme]
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(token.strip(), validate=True).decode("utf-8").partition(":")
            found.extend((user, password))
        except (binascii.Error, UnicodeDecodeError):
            pass
    return tuple(secret for secret in found if secret)
