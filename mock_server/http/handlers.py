"""The contract's one operation, as a thin adapter from HTTP to `domain.service.queue_response`.

`queue` is the adapter. Two doors lead to it: `ContractEndpoint`, an ASGI endpoint inside connexion's
middleware stack (after routing, security and validation), which serves the operation by default; and
the Flask view, used with `--flask-handlers`. The ASGI door skips the WSGI bridge (a thread hop per
request), which is most of what separates connexion's FlaskApp from bare Starlette (see bench/).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from connexion import request
from flask import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server.domain.service import queue_response
from mock_server.http.envelope import respond, send_json, success
from mock_server.http.runtime import Runtime, operation_id, runtime_of, session_of

CONTRACT_OPERATION = "queueScheduledMessageResponse"
REPLAYED_HEADER = "Idempotent-Replayed"


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def queue(runtime: Runtime, session: str, group_id: str, body: dict[str, Any], key: str | None) -> Reply:
    outcome = queue_response(runtime.store, session, group_id, body, key, runtime.retention)
    return Reply(202, success(outcome.data), {REPLAYED_HEADER: "true"} if outcome.replayed else {})


def queue_scheduled_message_response(accountGroupId: str, body: dict[str, Any]) -> Response:
    """The Flask view of the operation (served with `--flask-handlers`)."""
    scope = request.scope
    reply = queue(runtime_of(scope), session_of(scope), accountGroupId, body, request.headers.get("idempotency-key"))
    return respond(reply.body, reply.status, reply.headers)


OPERATIONS = {CONTRACT_OPERATION: queue_scheduled_message_response}


class ContractEndpoint:
    """Serves the operation in ASGI once connexion has routed, authenticated and validated the request."""

    def __init__(self, app: ASGIApp, enabled: bool = True) -> None:
        self.app = app
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.enabled or scope["type"] != "http" or operation_id(scope) != CONTRACT_OPERATION:
            await self.app(scope, receive, send)
            return
        body = json.loads(await _read_body(receive))
        key = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"idempotency-key"), None)
        reply = queue(runtime_of(scope), session_of(scope), scope["path_params"]["accountGroupId"], body, key)
        await send_json(send, reply.status, reply.body, reply.headers)


async def _read_body(receive: Receive) -> bytes:
    """The body connexion's validator already read and replays to us."""
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)
