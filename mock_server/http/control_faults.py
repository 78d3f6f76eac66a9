"""The fault operations of the control API (`/__mock/faults`): thin adapters over `domain.faults`.

Each answer carries only the faults it touched (the one added, the one deleted), never the whole list
again, so that adding N faults costs O(N) and not O(N^2).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from connexion import request
from flask import Response

from mock_server.domain import faults
from mock_server.domain.errors import MockError
from mock_server.http.envelope import respond, success
from mock_server.http.runtime import session_of, session_transaction
from mock_server.storage import Tx

T = TypeVar("T")


def _in_session(work: Callable[[Tx, str], T]) -> T:
    """Run `work` in one transaction of the caller's session, which the call admits (created if new, 429
    past --max-sessions, its last use recorded), like every control call."""
    with session_transaction(request.scope) as (tx, session):
        return work(tx, session)


def list_faults() -> Response:
    return respond(success({"faults": _in_session(faults.pending)}), 200)


def add_fault(body: dict[str, Any]) -> Response:
    rule = faults.FaultRule.from_request(body)
    added = _in_session(lambda tx, session: faults.add(tx, session, rule))
    return respond(success({"faults": [added]}), 201)


def delete_fault(faultId: str) -> Response:
    """`faultId` arrives as the digits the schema allows (validated by connexion before this runs)."""
    removed = _in_session(lambda tx, session: faults.remove(tx, session, int(faultId)))
    if removed is None:
        raise MockError.named(
            "not_found",
            "GET /__mock/faults lists the pending faults; a fault is gone once its count is used up.",
            message=f"No pending fault {faultId} in session {session_of(request.scope)}.",
        )
    return respond(success({"faults": [removed]}), 200)


def clear_faults() -> Response:
    _in_session(faults.clear)
    return respond(success({"faults": []}), 200)
