"""The contract's one operation, as a thin adapter from HTTP to `domain.service.queue_response`.

`queue` is the adapter. Three doors lead to it. In ASGI, `answer`: from the fast path (fast_path.py), which
serves the requests it fully accepts before connexion's stack, and from `ContractEndpoint`, inside connexion's
middleware stack (after routing, security and validation), which serves the accepted requests the fast path
handed over (or all of them with `--no-fast-path`). In WSGI, the Flask view, used with `--flask-handlers`. The
ASGI doors skip the WSGI bridge (a thread hop per request); `answer` also writes the request's journal entry in
the transaction that queues it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from connexion import request
from flask import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server.domain.service import Outcome, queue_response
from mock_server.domain.sessions import OpenSession
from mock_server.http.envelope import encode, respond, send_payload, success
from mock_server.http.recorder import recording_of
from mock_server.http.runtime import Runtime, first_values, operation_id, runtime_of, session_of
from mock_server.storage import Tx
from mock_server.storage.rows_messages import QueueView

CONTRACT_OPERATION = "queueScheduledMessageResponse"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_HEADER = frozenset({b"idempotency-key"})


@dataclass(slots=True)  # per request: a frozen dataclass's init costs three times a plain one's
class Reply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def queue(runtime: Runtime, session: str, group_id: str, body: dict[str, Any], key: str | None) -> Reply:
    return reply_of(queue_response(runtime.store, session, group_id, body, key, runtime.retention))


def reply_of(outcome: Outcome) -> Reply:
    return Reply(202, success(outcome.data), {REPLAYED_HEADER: "true"} if outcome.replayed else {})


async def answer(
    scope: Scope,
    send: Send,
    group_id: str,
    body: dict[str, Any],
    key: str | None,
    first: Callable[[OpenSession, QueueView], None] | None = None,
) -> None:
    """Queue and send the 202 (or raise the domain's refusal): the operation's one ASGI answer.

    Its journal entry commits with the 202, in the same transaction. What `queue_response` returns is what is
    sent (a wrapper may change it, as the faulty variants of tests/faulty do); the payload encoded for the
    journal is reused when it is the same outcome. `first`: see `queue_response`."""
    runtime, recording = runtime_of(scope), recording_of(scope)
    journaled: list[tuple[Outcome, Reply, bytes]] = []

    def journal(tx: Tx, outcome: Outcome) -> None:
        reply = reply_of(outcome)
        payload = encode(reply.body)
        if recording is not None:
            recording.write_within(tx, outcome.clock, reply.status, payload)
        journaled.append((outcome, reply, payload))

    try:
        outcome = queue_response(
            runtime.store, session_of(scope), group_id, body, key, runtime.retention, also=journal, first=first
        )
    except BaseException:
        if recording is not None and journaled:
            recording.unwritten()
        raise
    if journaled and journaled[0][0] is outcome:
        _, reply, payload = journaled[0]
    else:
        reply = reply_of(outcome)
        payload = encode(reply.body)
    await send_payload(send, reply.status, payload, reply.headers)


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
        body = json.loads(await read_body(receive))
        key = first_values(scope["headers"], KEY_HEADER).get(b"idempotency-key")
        await answer(scope, send, scope["path_params"]["accountGroupId"], body, key)


async def read_body(receive: Receive) -> bytes:
    """The whole body: replayed by connexion's validator (ContractEndpoint). A client that leaves mid-body ends
    it where it left, as connexion's validator reads it: whatever it gets is no longer sent."""
    return body_of(await read_messages(receive))


async def read_messages(receive: Receive) -> list[Message]:
    """The messages that carry the whole body, as they came (the last one ends it: no `more_body`, or the
    client's `http.disconnect`). The fast path reads them before its caller check (only for a declared length
    within the limit) and replays them if it hands the request over."""
    messages = []
    while True:
        message = await receive()
        messages.append(message)
        if not message.get("more_body", False):
            return messages


def body_of(messages: list[Message]) -> bytes:
    """The body the `http.request` messages carry, joined."""
    return b"".join(message.get("body", b"") for message in messages)


def replaying(messages: list[Message], receive: Receive) -> Receive:
    """A `receive` that gives `messages` again, in order, then whatever the connection gives next."""
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed
