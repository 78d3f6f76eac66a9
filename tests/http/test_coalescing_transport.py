"""A response leaves in one write: what one step of the event loop writes goes out joined (protocol.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from mock_server.http.protocol import CoalescingTransport


class Recorded:
    """A transport that records what reaches the socket."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = self.aborted = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_extra_info(self, name: str) -> Any:
        return ("127.0.0.1", 1) if name == "peername" else None


def run(steps: Any) -> Recorded:
    async def main() -> Recorded:
        raw = Recorded()
        await steps(CoalescingTransport(raw, asyncio.get_running_loop()))  # type: ignore[arg-type]
        await asyncio.sleep(0)
        return raw

    return asyncio.run(main())


def test_the_head_and_the_body_written_in_one_step_leave_in_one_write() -> None:
    async def response(transport: CoalescingTransport) -> None:
        transport.write(b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\n")
        transport.write(b"{}")
        await asyncio.sleep(0)
        transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")  # the next response, a later step

    raw = run(response)
    assert raw.writes == [
        b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
    ]


def test_close_sends_what_was_written_first_and_abort_drops_it() -> None:
    async def closed(transport: CoalescingTransport) -> None:
        transport.write(b"truncated")
        transport.close()

    async def aborted(transport: CoalescingTransport) -> None:
        transport.write(b"never sent")
        transport.abort()

    sent = run(closed)
    assert sent.writes == [b"truncated"] and sent.closed
    reset = run(aborted)
    assert reset.writes == [] and reset.aborted


def test_everything_else_is_the_transports_own() -> None:
    async def ask(transport: CoalescingTransport) -> None:
        assert transport.get_extra_info("peername") == ("127.0.0.1", 1)
        assert transport.is_closing() is False

    run(ask)
