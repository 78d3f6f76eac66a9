"""Connection faults on the wire: a connection closed without a response, a TCP reset, a body cut short.

ASGI has no words for these, so they need the asyncio transport, which the mock's uvicorn protocol puts
in `scope["extensions"]["sonarly.transport"]`. Without it (an ASGI-only test client) every kind degrades
to the start of a response followed by an exception: the server closes the connection, the test client
raises, and the client still sees a broken response rather than a valid one.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Any

from starlette.types import Receive, Scope, Send

from mock_server.http.envelope import current_trace_id, encode

TRANSPORT_EXTENSION = "sonarly.transport"
TRUNCATED_STATUS = 202


class ConnectionBroken(Exception):
    """Raised to break a response when the transport is out of reach; the server then drops the connection."""


async def break_connection(
    scope: Scope, receive: Receive, send: Send, kind: str, truncated_body: dict[str, Any]
) -> None:
    """Do `kind` (drop, reset or truncate) to this request's connection; nothing else may be sent after it."""
    transport = scope.get("extensions", {}).get(TRANSPORT_EXTENSION)
    if kind != "reset":
        await _drain(receive)
    if kind == "truncate" or transport is None:
        await _start_truncated(send, truncated_body)
    if transport is None:
        raise ConnectionBroken(f"injected fault: connection {kind}")
    if kind == "reset":
        raw = transport.get_extra_info("socket")
        if raw is not None:
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()  # with SO_LINGER 0 the close sends RST, and nothing buffered is flushed
    else:
        transport.close()  # flushes what was written (the truncated response), then FIN
    for _ in range(3):  # let the server's connection_lost run, so it does not log an unfinished response
        await asyncio.sleep(0)


async def _drain(receive: Receive) -> None:
    """Read the request body first: a socket closed with unread bytes in its buffer sends a reset (RST), not
    the orderly close (FIN) that `drop` and `truncate` promise. A body over the limit just stops the read."""
    try:
        while (await receive()).get("more_body", False):
            pass
    except Exception:  # whatever stopped the read, the connection is broken next anyway
        return


async def _start_truncated(send: Send, body: dict[str, Any]) -> None:
    """Headers announcing the whole body, then only its first half."""
    payload = encode({**body, "traceId": current_trace_id()})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": TRUNCATED_STATUS, "headers": headers})
    await send({"type": "http.response.body", "body": payload[: len(payload) // 2], "more_body": True})
