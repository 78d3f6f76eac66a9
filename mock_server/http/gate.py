"""What happens between authorization and validation: rate limit (429), injected faults, `Prefer`.

An ASGI middleware placed by connexion right before request validation, so it sees the routed
operation and the authenticated caller but has not read the body yet.
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server.domain import faults
from mock_server.http.envelope import EnvelopeError, current_trace_id, send_json, validation_error
from mock_server.http.examples import documented_responses, parse_prefer
from mock_server.http.handlers import CONTRACT_OPERATION
from mock_server.http.runtime import caller_of, operation_id, runtime_of, session_of

FAULT_ERRORS = {
    429: ("RATE_LIMITED", "Too many requests for this API key (injected fault)."),
    500: ("INTERNAL_ERROR", "An internal error occurred (injected fault)."),
    502: ("UPSTREAM_ERROR", "An upstream service did not answer (injected fault)."),
}


class RequestGate:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        caller = caller_of(scope) if scope["type"] == "http" else None
        if caller is None or operation_id(scope) != CONTRACT_OPERATION:
            await self.app(scope, receive, send)
            return
        runtime, session = runtime_of(scope), session_of(scope)
        retry_after = runtime.limiter.retry_after(session, caller.digest)
        if retry_after is not None:
            raise EnvelopeError(
                429,
                "RATE_LIMITED",
                "Too many requests for this API key.",
                f"Retry after {retry_after} second{'s' if retry_after != 1 else ''}.",
                headers={"Retry-After": str(retry_after)},
            )
        await self._apply_fault(scope)
        prefer = Headers(scope=scope).get("prefer")
        if prefer and "code" in (preferences := parse_prefer(prefer)):
            await _send_example(send, preferences)
            return
        await self.app(scope, receive, send)

    async def _apply_fault(self, scope: Scope) -> None:
        runtime, session = runtime_of(scope), session_of(scope)
        with runtime.store.reading() as conn:
            if not faults.any_pending(conn, session):
                return
        with runtime.store.transaction() as conn:
            fault = faults.take(conn, session, scope["method"], scope["path"])
        if fault is None:
            return
        if fault.latency_ms:
            await asyncio.sleep(fault.latency_ms / 1000)
        if fault.status is not None:
            code, message = FAULT_ERRORS[fault.status]
            headers = {"Retry-After": "1"} if fault.status == 429 else None
            raise EnvelopeError(fault.status, code, message, None, headers=headers)


async def _send_example(send: Send, preferences: dict[str, str]) -> None:
    """Answer with the documented example of the preferred status, as Prism does."""
    responses = documented_responses()
    documented = ", ".join(str(s) for s in sorted(responses))
    try:
        status = int(preferences["code"])
        response = responses[status]
    except (ValueError, KeyError):
        raise validation_error(
            f"Prefer: code={preferences['code']} is not a documented status of this operation "
            f"(documented: {documented})"
        ) from None
    name = preferences.get("example") or next(iter(response.examples))
    if name not in response.examples:
        raise validation_error(
            f"Prefer: example={name} is not an example of status {status} (examples: {', '.join(response.examples)})"
        )
    body: dict[str, Any] = copy.deepcopy(response.examples[name])
    body["traceId"] = current_trace_id()
    await send_json(send, status, body, {"Retry-After": "1"} if status == 429 else None)
