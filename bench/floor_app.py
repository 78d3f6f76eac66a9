"""The HTTP floor: what uvicorn alone costs a request, served as the mock is served (httptools, uvloop).

    python bench/run.py --servers mock,floor --workloads stateful     # the mock beside it, alternating rounds

Why: issue 11 compares the mock's CPU per request with bare Starlette's, as the per-request framework work the
mock could still shed. This app is the lower bound of any mock served by uvicorn: it reads the body, parses it as
JSON and answers a fixed 202 of the size of the mock's, with no validation, no state, no journal and no log. The
mock's CPU per request minus the floor's is the mock's own work (routing, checks, domain, SQLite, journal, log),
the part its code can change.

Run by `harness.start_floor` as `python -m uvicorn floor_app:app` from bench/, pinned like the other servers.
"""

from __future__ import annotations

import json
from typing import Any

RESPONSE = json.dumps(
    {
        "data": {
            "id": "msg_01JABCDEFGHJKMNPQRSTVWXYZ0",
            "status": "scheduled",
            "scheduledAt": "2027-03-09T14:00:00.000Z",
            "sentAt": None,
            "channel": "direct_message",
            "conversationId": "cnv_ada_1",
            "messageId": None,
            "idempotencyKey": "bench-0000000000-000000",
            "deferred": True,
        }
    }
).encode()
"""A 202 body shaped and sized as the mock's for the bench's request."""
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(RESPONSE)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Every HTTP request gets the 202 once its body has been read and parsed; lifespan events are acknowledged."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    if body:
        json.loads(body)
    await send({"type": "http.response.start", "status": 202, "headers": HEADERS})
    await send({"type": "http.response.body", "body": RESPONSE})
