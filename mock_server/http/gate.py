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
from mock_server.domain.access import Caller
from mock_server.domain.errors import CATALOGUE, MockError, validation_error
from mock_server.http.connection_faults import TRUNCATED_STATUS, break_connection
from mock_server.http.envelope import current_trace_id, send_json
from mock_server.http.examples import DocumentedExamples, Example, documented_examples, parse_prefer
from mock_server.http.handlers import CONTRACT_OPERATION
from mock_server.http.runtime import FAULT_EXTENSION, Runtime, caller_of, operation_id, runtime_of, session_of

FAULT_ERRORS = {429: "rate_limited", 500: "internal", 502: "upstream", 503: "unavailable", 504: "gateway_timeout"}
"""The catalogue entry each injected status answers with; its message says the fault was injected."""
RETRY_AFTER_STATUSES = frozenset(faults.RETRY_AFTER_STATUSES)


class RequestGate:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        caller = caller_of(scope) if scope["type"] == "http" else None
        if caller is None or operation_id(scope) != CONTRACT_OPERATION:
            await self.app(scope, receive, send)
            return
        charge(runtime_of(scope), session_of(scope), caller)
        if await _apply_fault(scope, receive, send):
            return
        prefer = Headers(scope=scope).get("prefer")
        if prefer and (example := _preferred_example(parse_prefer(prefer))) is not None:
            await _send_example(send, example)
            return
        await self.app(scope, receive, send)


def charge(runtime: Runtime, session: str, caller: Caller) -> None:
    """Take a token from the caller's bucket; an empty bucket is the 429 with `Retry-After` (both paths)."""
    retry_after = runtime.limiter.retry_after(session, caller.digest)
    if retry_after is not None:
        raise MockError.named("rate_limited", _retry_in(retry_after), headers={"Retry-After": str(retry_after)})


async def _apply_fault(scope: Scope, receive: Receive, send: Send) -> bool:
    """Wait and answer as the first fault that hits this request says; True when the request is over."""
    runtime, session = runtime_of(scope), session_of(scope)
    with runtime.store.reading() as tx:
        if not faults.any_pending(tx, session):
            return False
    with runtime.store.transaction(session) as tx:
        fault = faults.take(tx, session, scope["method"], scope["path"])
    if fault is None:
        return False
    scope.setdefault("extensions", {})[FAULT_EXTENSION] = fault.id
    if fault.latency_ms:
        await asyncio.sleep(fault.latency_ms / 1000)
    if fault.status is not None:
        name = FAULT_ERRORS[fault.status]
        retry = fault.retry_after or faults.DEFAULT_RETRY_AFTER
        headers = {"Retry-After": str(retry)} if fault.status in RETRY_AFTER_STATUSES else None
        message = CATALOGUE[name].message.removesuffix(".") + " (injected fault)."
        raise MockError.named(name, _retry_in(retry) if headers else None, message=message, headers=headers)
    if fault.connection is not None:
        truncated = documented_examples().by_status[TRUNCATED_STATUS][0].body
        await break_connection(scope, receive, send, fault.connection, truncated)
        return True
    return False


def _preferred_example(preferences: dict[str, str]) -> Example | None:
    """The example `Prefer: code=<status>, example=<name>` asks for; None when it asks for neither."""
    if "code" not in preferences and "example" not in preferences:
        return None
    documented = documented_examples()
    name = preferences.get("example")
    if "code" not in preferences:
        return _by_name(documented, name or "")
    try:
        examples = documented.by_status[int(preferences["code"])]
    except (ValueError, KeyError):
        raise validation_error(
            f"Prefer: code={preferences['code']} is not a documented status of this operation "
            f"(documented: {documented.statuses()})"
        ) from None
    if not name:
        return examples[0]
    for example in examples:
        if example.name == name:
            return example
    raise validation_error(
        f"Prefer: example={name} is not an example of status {examples[0].status} "
        f"(examples: {documented.names(examples[0].status)})"
    )


def _by_name(documented: DocumentedExamples, name: str) -> Example:
    example = documented.by_name.get(name)
    if example is None:
        raise validation_error(
            f"Prefer: example={name} is not a documented example of this operation (examples: {documented.names()})"
        )
    return example


async def _send_example(send: Send, example: Example) -> None:
    """Answer with a documented example, as Prism does: nothing is processed or scheduled."""
    body: dict[str, Any] = copy.deepcopy(example.body)
    body["traceId"] = current_trace_id()
    retry = str(faults.DEFAULT_RETRY_AFTER)
    headers = {"Retry-After": retry} if example.status in RETRY_AFTER_STATUSES else None
    await send_json(send, example.status, body, headers)


def _retry_in(seconds: int) -> str:
    return f"Retry after {seconds} second{'s' if seconds != 1 else ''}."
