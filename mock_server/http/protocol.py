"""uvicorn's HTTP protocol, with the connection bounds a shared mock needs and the envelope on its own 400s.

uvicorn bounds only the idle time between two requests (its `timeout_keep_alive`, set here from
`--keep-alive`).
Everything else a stranger can stretch is bounded here, per connection:

- the request line and headers: at most `max_header_bytes`; past it, a 400 envelope and the connection is
  closed. httptools buffers a header until it ends, so the bytes are counted as they arrive and the parser
  is never fed more than the limit (a 300 MB header once grew the process by 400 MB);
- the time to send them: `header_timeout_seconds` from the moment the connection opens, or the first byte
  of a later request arrives (a slowloris client trickling one header a minute is cut off);
- the gaps inside a body: a body that stops arriving for `body_timeout_seconds` ends the request with a
  400 envelope, and the connection is closed.

A response leaves in one write (`CoalescingTransport`), not uvicorn's two; the fast path hands its whole
responses to uvicorn's request cycle at once (`write_whole`), without the two ASGI messages.

uvicorn's parser also refuses some requests before any application code runs (a DEL byte in a header, a
Content-Length too large to parse) and answers them in plain text; clients of this mock expect the
envelope on every response, so this subclass writes one instead.

Each request's scope carries the connection's asyncio transport under `sonarly.transport`, so faults can
drop or reset the connection as a flaky network would.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import cache
from typing import Any

from starlette.types import Send
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol, RequestResponseCycle

from mock_server.config import MockConfig
from mock_server.domain.errors import CATALOGUE
from mock_server.http.envelope import JSON, encode, failure, new_trace_id

TRANSPORT_EXTENSION = "sonarly.transport"
logger = logging.getLogger("sonarly_mock.connections")


@cache
def connection_limits() -> MockConfig:
    """The limits of this process: the CLI puts its config in the environment before uvicorn starts."""
    return MockConfig.from_environment()


class Deadline:
    """A timeout that moves on every request and body chunk but rarely expires.

    Moving it only sets a number; one timer handle follows it lazily (when it fires early, it waits again for
    what is left). Why: arming and cancelling an asyncio timer for every request and body chunk cost several
    microseconds a request (bench/), for timeouts of seconds that almost never expire.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, on_expiry: Callable[[], None]) -> None:
        self.loop = loop
        self.on_expiry = on_expiry
        self.at: float | None = None
        self._handle: asyncio.TimerHandle | None = None

    def set(self, seconds: float) -> None:
        self.at = self.loop.time() + seconds
        if self._handle is None:
            self._handle = self.loop.call_at(self.at, self._fire)

    def clear(self) -> None:
        self.at = None

    def cancel(self) -> None:
        self.at = None
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _fire(self) -> None:
        self._handle = None
        if self.at is None:
            return
        if self.loop.time() < self.at:
            self._handle = self.loop.call_at(self.at, self._fire)
            return
        self.at = None
        self.on_expiry()


class CoalescingTransport:
    """The connection's transport, writing what one step of the event loop wrote as one system call.

    Why: uvicorn writes a response's status line and headers, then its body, each with its own `send` system call;
    on this kind of VM a system call costs as much as a tenth of an accepted request (bench/RESULTS.md). Writes are
    kept until the step ends (`call_soon`) and go out joined; `close` sends them first, `abort` drops them, as a
    reset drops what the kernel had not sent. Everything else is the transport's own.
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(data)

    def flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending.clear()
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class EnvelopeHttpToolsProtocol(HttpToolsProtocol):
    _header_bytes = 0
    _headers_done = 0
    _reading_headers = True
    _refused = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # uvicorn's own idle timeout between requests (`--timeout-keep-alive`), from `--keep-alive`; uvicorn
        # types it as int but only hands it to `loop.call_later`, so fractions of a second work.
        self.timeout_keep_alive = connection_limits().keep_alive_seconds  # type: ignore[assignment]

    # Connection events

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._header_deadline = Deadline(self.loop, self._headers_late)
        self._body_deadline = Deadline(self.loop, self._body_late)
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
        self._start_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Feed the parser, but never more header bytes than the limit allows."""
        if self._refused:
            return
        if not self._reading_headers:
            super().data_received(data)
            return
        if self._header_deadline.at is None:
            self._arm_header_timer()
        room = connection_limits().max_header_bytes - self._header_bytes
        if len(data) <= room:  # the common case: no copy of the data
            self._header_bytes += len(data)
            super().data_received(data)
            return
        head, rest = data[:room], data[room:]
        self._header_bytes += len(head)
        headers_done = self._headers_done
        super().data_received(head)
        if not rest or self._refused or self.transport.is_closing():
            return
        if self._reading_headers and self._headers_done == headers_done:
            self._refuse(f"headers larger than {connection_limits().max_header_bytes} bytes")
            return
        self.data_received(rest)  # the headers ended inside `head`: the rest is body or the next request

    # Parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope["extensions"] = {TRANSPORT_EXTENSION: self.transport}  # type: ignore[dict-item]

    def on_headers_complete(self) -> None:
        self._reading_headers = False
        self._headers_done += 1
        self._header_deadline.clear()
        super().on_headers_complete()
        self._arm_body_timer()

    def on_body(self, body: bytes) -> None:
        super().on_body(body)
        self._arm_body_timer()

    def on_message_complete(self) -> None:
        self._body_deadline.clear()
        super().on_message_complete()
        self._reading_headers, self._header_bytes = True, 0

    def send_400_response(self, msg: str) -> None:
        self._write_refusal(msg)

    # Timers

    def _start_headers(self) -> None:
        self._reading_headers, self._header_bytes = True, 0
        self._arm_header_timer()

    def _arm_header_timer(self) -> None:
        """From the connection's opening, or from the first byte after a request (the idle time between
        requests is uvicorn's keep-alive timeout): the whole request line and headers must arrive in time."""
        self._header_deadline.set(connection_limits().header_timeout_seconds)

    def _headers_late(self) -> None:
        """A connection that opened (or began a request) and did not finish its headers in time is closed:
        silently if it sent nothing (browsers open spare connections), with a 400 envelope otherwise."""
        if self.transport.is_closing() or not self._reading_headers:
            return
        if self._header_bytes == 0:
            self._refused = True
            self.transport.close()
            return
        self._refuse(f"headers not received within {_seconds(connection_limits().header_timeout_seconds)}")

    def _arm_body_timer(self) -> None:
        self._body_deadline.set(connection_limits().body_timeout_seconds)

    def _body_late(self) -> None:
        """No body byte for the whole timeout: answer (if nothing was answered yet) and close. A pause caused
        by the mock itself (reading paused while the app is busy, a `100 Continue` not sent yet) is not the
        client's, so it waits again."""
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if self.flow.read_paused or (cycle is not None and cycle.waiting_for_100_continue):
            self._arm_body_timer()
            return
        if cycle is not None and not cycle.response_started:
            cycle.response_started = cycle.response_complete = True
            self._refuse(f"body: no data for {_seconds(connection_limits().body_timeout_seconds)}")
        else:
            self.transport.close()
        if cycle is not None:
            cycle.disconnected = True
            cycle.message_event.set()

    def _cancel_timers(self) -> None:
        self._header_deadline.cancel()
        self._body_deadline.cancel()

    # Refusals

    def _refuse(self, msg: str) -> None:
        self._refused = True
        self._write_refusal(msg)

    def _write_refusal(self, msg: str) -> None:
        """A 400 envelope written straight to the connection, which is then closed (and one log line: these
        requests never reach the app, so the request log would not show them)."""
        self._refused = True
        self._cancel_timers()
        client = f"{self.client[0]}:{self.client[1]} - " if self.client else ""
        logger.warning("%s400 connection closed: %s", client, msg)
        template = CATALOGUE["invalid_http"]
        body = failure(template.code, template.message, f"request: {msg}", trace_id=new_trace_id())
        payload = encode(body)
        content = [STATUS_LINE[400]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: " + JSON.encode() + b"\r\n",
                b"content-length: " + str(len(payload)).encode("ascii") + b"\r\n",
                b"x-trace-id: " + body["traceId"].encode("ascii") + b"\r\n",
                b"connection: close\r\n\r\n",
                payload,
            ]
        )
        self.transport.write(b"".join(content))
        self.transport.close()


def uvicorn_cycle(send: Send) -> RequestResponseCycle | None:
    """uvicorn's request cycle when `send` is its method; None for any other `send` (a test client's, a
    middleware's wrapper, another server's)."""
    cycle = getattr(send, "__self__", None)
    return cycle if type(cycle) is RequestResponseCycle else None


def takes_whole(cycle: RequestResponseCycle) -> bool:
    """A whole response may be written to `cycle` now (`write_whole`): its response not started, the client still
    there, writing not paused, no access log. Otherwise uvicorn's `send` knows what to do with the messages."""
    return not (cycle.response_started or cycle.disconnected or cycle.flow.write_paused or cycle.access_log)


def write_whole(cycle: RequestResponseCycle, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    """The bytes uvicorn's `send` writes for a start message with a `content-length` and a body message that ends
    the response, written as one, and the cycle left as uvicorn leaves it (complete; closed without keep-alive;
    the connection's next request let in). Why: the two messages passed through three layers of wrappers and
    uvicorn's per-header checks, 3% of an accepted request's instructions (bench/RESULTS.md). The headers are the
    mock's own (names and values it chose; `tests/http/test_whole_response.py` holds this to uvicorn's bytes)."""
    cycle.response_started = True
    cycle.waiting_for_100_continue = False
    content = [STATUS_LINE[status]]
    for name, value in (*cycle.default_headers, *headers):
        content += (name, b": ", value, b"\r\n")
    if not cycle.keep_alive:
        content.append(b"connection: close\r\n")
    content += (b"\r\n", body)
    cycle.transport.write(b"".join(content))
    cycle.response_complete = True
    cycle.message_event.set()
    if not cycle.keep_alive:
        cycle.transport.close()
    cycle.on_response()


def _seconds(value: float) -> str:
    return f"{value:g} s"
