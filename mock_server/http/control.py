"""The control API under `/__mock/`: thin adapters over the domain, one per operation of mock-control.yaml."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from connexion import request
from flask import Response

from mock_server.domain import faults, journal
from mock_server.domain.clock import LATEST, from_iso, to_iso
from mock_server.domain.fixtures import parse_fixtures
from mock_server.domain.messages import MessageBook
from mock_server.domain.sessions import (
    ensure_session,
    fixtures_document,
    read_clock,
    reset_session,
    write_clock,
)
from mock_server.domain.sessions import (
    replace_fixtures as replace_session_fixtures,
)
from mock_server.http.envelope import EnvelopeError, respond, success, validation_error
from mock_server.http.runtime import runtime_of, session_of

T = TypeVar("T")


def _in_session(work: Callable[[sqlite3.Connection, str], T]) -> T:
    """Run `work` in one transaction of the caller's session, after sending whatever is due."""
    scope = request.scope
    session = session_of(scope)
    with runtime_of(scope).store.transaction() as conn:
        ensure_session(conn, session)
        MessageBook(conn, session).send_due(read_clock(conn, session).now())
        return work(conn, session)


def _clock_view(conn: sqlite3.Connection, session: str, sent: int | None = None) -> dict[str, Any]:
    clock = read_clock(conn, session)
    view: dict[str, Any] = {"now": to_iso(clock.now()), "frozen": clock.frozen}
    if sent is not None:
        view["sent"] = sent
    return view


def reset() -> Response:
    def work(conn: sqlite3.Connection, session: str) -> dict[str, Any]:
        reset_session(conn, session)
        return {"session": session}

    data = _in_session(work)
    runtime_of(request.scope).limiter.reset(data["session"])
    return respond(success(data), 200)


def get_fixtures() -> Response:
    return respond(success(_in_session(fixtures_document)), 200)


def replace_fixtures(body: dict[str, Any]) -> Response:
    fixtures = parse_fixtures(body)

    def work(conn: sqlite3.Connection, session: str) -> dict[str, Any]:
        replace_session_fixtures(conn, session, fixtures)
        return fixtures_document(conn, session)

    return respond(success(_in_session(work)), 200)


def get_clock() -> Response:
    return respond(success(_in_session(_clock_view)), 200)


def set_clock(body: dict[str, Any]) -> Response:
    def work(conn: sqlite3.Connection, session: str) -> dict[str, Any]:
        clock = read_clock(conn, session)
        if body.get("frozen") is True:
            clock = clock.freeze()  # before setting, so a frozen clock shows exactly `now`
        if "now" in body:
            try:
                clock = clock.set_to(from_iso(body["now"]))
            except ValueError as exc:
                raise validation_error(f"now: {exc}") from None
        if body.get("frozen") is False:
            clock = clock.unfreeze()
        write_clock(conn, session, clock)
        return _clock_view(conn, session, MessageBook(conn, session).send_due(clock.now()))

    return respond(success(_in_session(work)), 200)


def advance_clock(body: dict[str, Any]) -> Response:
    def work(conn: sqlite3.Connection, session: str) -> dict[str, Any]:
        clock = read_clock(conn, session).advance(float(body["seconds"]))
        if clock.now() >= LATEST:
            raise validation_error("seconds: would move the clock past 9000-01-01")
        write_clock(conn, session, clock)
        return _clock_view(conn, session, MessageBook(conn, session).send_due(clock.now()))

    return respond(success(_in_session(work)), 200)


def list_messages(accountGroupId: str, status: str | None = None, limit: int = 100) -> Response:
    def work(conn: sqlite3.Connection, session: str) -> list[dict[str, Any]]:
        known = conn.execute(
            "SELECT 1 FROM account_groups WHERE session = ? AND id = ?", (session, accountGroupId)
        ).fetchone()
        if known is None:
            raise EnvelopeError(404, "NOT_FOUND", f"No account group {accountGroupId} in session {session}.")
        return MessageBook(conn, session).list(accountGroupId, status, limit)

    return respond(success({"messages": _in_session(work)}), 200)


def get_journal(limit: int = 100) -> Response:
    return respond(success({"entries": _in_session(lambda conn, session: journal.newest(conn, session, limit))}), 200)


def list_faults() -> Response:
    return respond(success({"faults": _in_session(faults.pending)}), 200)


def add_fault(body: dict[str, Any]) -> Response:
    def work(conn: sqlite3.Connection, session: str) -> list[dict[str, Any]]:
        faults.add(conn, session, body)
        return faults.pending(conn, session)

    return respond(success({"faults": _in_session(work)}), 201)


def clear_faults() -> Response:
    def work(conn: sqlite3.Connection, session: str) -> list[dict[str, Any]]:
        faults.clear(conn, session)
        return []

    return respond(success({"faults": _in_session(work)}), 200)
