"""A whole response written at once (`protocol.write_whole`) is the response uvicorn's `send` writes.

The fast path writes its answers to uvicorn's request cycle in one step instead of sending the two ASGI
messages (issue 11). A client must not tell them apart: the same bytes, the connection closed or kept alive
alike, the cycle left complete so that the connection's next request is let in. Both are run here on uvicorn's
own `RequestResponseCycle`, over a transport that keeps what is written.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.types import Send
from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

from mock_server.http.protocol import takes_whole, uvicorn_cycle, write_whole
from support.differential import WrittenTransport

DEFAULT_HEADERS = [(b"server", b"uvicorn"), (b"date", b"Wed, 02 Dec 2026 12:00:00 GMT")]
STATUSES = (202, 400, 401, 403, 409, 422, 429, 503)
EXTRA_HEADERS = (
    (b"idempotent-replayed", b"true"),
    (b"retry-after", b"60"),
    (b"x-trace-id", b"0123456789abcdef01234567"),
    (b"vary", b"Origin"),
)


class Cycle:
    """uvicorn's cycle for one request, with its transport and how often it let the next request in."""

    def __init__(self, keep_alive: bool, default_headers: list[tuple[bytes, bytes]]) -> None:
        self.transport = WrittenTransport()
        self.responses = 0
        self.cycle = RequestResponseCycle(
            scope=cast(Any, {"type": "http", "method": "POST", "http_version": "1.1"}),
            transport=self.transport,
            flow=FlowControl(self.transport),
            logger=logging.getLogger("uvicorn.error"),
            access_logger=logging.getLogger("uvicorn.access"),
            access_log=False,
            default_headers=default_headers,
            message_event=asyncio.Event(),
            expect_100_continue=False,
            keep_alive=keep_alive,
            on_response=self.responded,
        )

    def responded(self) -> None:
        self.responses += 1

    def seen(self) -> tuple[bytes, bool, bool, bool, int]:
        """What a client and the connection can tell: bytes, closed, complete, next request let in."""
        cycle = self.cycle
        return (
            bytes(self.transport.written),
            self.transport.closed,
            cycle.response_complete,
            cycle.message_event.is_set(),
            self.responses,
        )


@settings(max_examples=300, deadline=None)
@given(
    status=st.sampled_from(STATUSES),
    extra=st.lists(st.sampled_from(EXTRA_HEADERS), unique=True),
    body=st.binary(max_size=300),
    keep_alive=st.booleans(),
    defaults=st.booleans(),
)
def test_a_whole_response_is_the_bytes_and_state_of_uvicorns_two_messages(
    status: int, extra: list[tuple[bytes, bytes]], body: bytes, keep_alive: bool, defaults: bool
) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra]
    default_headers = DEFAULT_HEADERS if defaults else []
    by_messages, whole = Cycle(keep_alive, default_headers), Cycle(keep_alive, default_headers)

    async def send_messages() -> None:
        await by_messages.cycle.send({"type": "http.response.start", "status": status, "headers": list(headers)})
        await by_messages.cycle.send({"type": "http.response.body", "body": body})

    asyncio.run(send_messages())
    cycle = uvicorn_cycle(cast(Send, whole.cycle.send))
    assert cycle is whole.cycle and takes_whole(cycle)
    write_whole(cycle, status, list(headers), body)
    assert whole.seen() == by_messages.seen()
    assert len(whole.transport.written) and whole.transport.writes == 1


@pytest.mark.parametrize("state", ["started", "disconnected", "writing paused", "access log"])
def test_a_cycle_that_cannot_take_a_whole_response_now_is_not_offered(state: str) -> None:
    """Then the messages go through uvicorn's `send`, which knows what to do (wait, drop, log)."""
    cycle = Cycle(True, []).cycle
    if state == "started":
        cycle.response_started = True
    elif state == "disconnected":
        cycle.disconnected = True
    elif state == "writing paused":
        cycle.flow.write_paused = True
    else:
        cycle.access_log = True
    assert uvicorn_cycle(cast(Send, cycle.send)) is cycle
    assert not takes_whole(cycle)


def test_a_send_that_is_not_uvicorns_is_not_offered() -> None:
    """An ASGI server other than uvicorn, a test client or a wrapping middleware: the messages are sent."""

    async def send(message: Any) -> None:
        return None

    assert uvicorn_cycle(send) is None
