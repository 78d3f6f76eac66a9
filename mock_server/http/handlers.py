"""The contract's one operation, as a thin adapter from HTTP to `domain.service.queue_response`."""

from __future__ import annotations

from typing import Any

from connexion import request
from flask import Response

from mock_server.domain.service import queue_response
from mock_server.http.envelope import respond, success
from mock_server.http.runtime import runtime_of, session_of

REPLAYED_HEADER = "Idempotent-Replayed"


def queue_scheduled_message_response(accountGroupId: str, body: dict[str, Any]) -> Response:
    runtime = runtime_of(request.scope)
    key = request.headers.get("idempotency-key")
    outcome = queue_response(runtime.store, session_of(request.scope), accountGroupId, body, key, runtime.retention)
    headers = {REPLAYED_HEADER: "true"} if outcome.replayed else {}
    return respond(success(outcome.data), 202, headers)


OPERATIONS = {"queueScheduledMessageResponse": queue_scheduled_message_response}
