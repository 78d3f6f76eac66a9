"""The control API under `/__mock/`: thin adapters over the domain, one per operation of mock-control.yaml."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from connexion import request
from flask import Response

from mock_server.domain import journal
from mock_server.domain.clock import LATEST, from_iso, to_iso
from mock_server.domain.errors import MockError, validation_error
from mock_server.domain.fixtures import parse_fixtures
from mock_server.domain.messages import MessageBook
from mock_server.domain.sessions import (
    DEFAULT_SESSION,
    dataset_of,
    drop_session,
    expire_idle,
    fixtures_document,
    list_sessions,
    read_clock,
    reset_session,
    write_clock,
)
from mock_server.domain.sessions import (
    replace_fixtures as replace_session_fixtures,
)
from mock_server.http.envelope import respond, success
from mock_server.http.runtime import runtime_of, session_transaction
from mock_server.storage import Tx

T = TypeVar("T")


def _in_session(work: Callable[[Tx, str], T]) -> T:
    """Run `work` in one transaction of the caller's session (created if new), after sending whatever is due."""
    with session_transaction(request.scope) as (tx, session):
        MessageBook(tx, session).send_due(read_clock(tx, session).now())
        return work(tx, session)


def _clock_view(tx: Tx, session: str, sent: int | None = None) -> dict[str, Any]:
    clock = read_clock(tx, session)
    view: dict[str, Any] = {"now": to_iso(clock.now()), "frozen": clock.frozen}
    if sent is not None:
        view["sent"] = sent
    return view


def reset() -> Response:
    def work(tx: Tx, session: str) -> dict[str, Any]:
        reset_session(tx, session)
        return {"session": session}

    data = _in_session(work)
    runtime_of(request.scope).forget(data["session"])
    return respond(success(data), 200)


def get_fixtures() -> Response:
    return respond(success(_in_session(fixtures_document)), 200)


def replace_fixtures(body: dict[str, Any]) -> Response:
    fixtures = parse_fixtures(body)

    def work(tx: Tx, session: str) -> dict[str, Any]:
        replace_session_fixtures(tx, session, fixtures)
        return fixtures_document(tx, session)

    return respond(success(_in_session(work)), 200)


def get_clock() -> Response:
    return respond(success(_in_session(_clock_view)), 200)


def set_clock(body: dict[str, Any]) -> Response:
    def work(tx: Tx, session: str) -> dict[str, Any]:
        clock = read_clock(tx, session)
        if body.get("frozen") is True:
            clock = clock.freeze()  # before setting, so a frozen clock shows exactly `now`
        if "now" in body:
            try:
                clock = clock.set_to(from_iso(body["now"]))
            except ValueError as exc:
                raise validation_error(f"now: {exc}") from None
        if body.get("frozen") is False:
            clock = clock.unfreeze()
        write_clock(tx, session, clock)
        return _clock_view(tx, session, MessageBook(tx, session).send_due(clock.now()))

    return respond(success(_in_session(work)), 200)


def advance_clock(body: dict[str, Any]) -> Response:
    def work(tx: Tx, session: str) -> dict[str, Any]:
        clock = read_clock(tx, session).advance(float(body["seconds"]))
        if clock.now() >= LATEST:
            raise validation_error("seconds: would move the clock past 9000-01-01")
        write_clock(tx, session, clock)
        return _clock_view(tx, session, MessageBook(tx, session).send_due(clock.now()))

    return respond(success(_in_session(work)), 200)


def list_messages(accountGroupId: str, status: str | None = None, limit: int = 100) -> Response:
    def work(tx: Tx, session: str) -> list[dict[str, Any]]:
        if accountGroupId not in dataset_of(tx, session).groups:
            raise MockError.named("not_found", message=f"No account group {accountGroupId} in session {session}.")
        return MessageBook(tx, session).list(accountGroupId, status, limit)

    return respond(success({"messages": _in_session(work)}), 200)


def get_journal(
    limit: int = 100,
    status: str | None = None,
    code: str | None = None,
    path: str | None = None,
    idempotencyKey: str | None = None,
    since: str | None = None,
) -> Response:
    """The session's journal, newest first and filtered; `since=<seq>` polls for entries after that one."""
    try:
        wanted = journal.JournalFilter.from_query(status, code, path, idempotencyKey, since)
    except ValueError as exc:
        raise validation_error(str(exc)) from None
    entries = _in_session(lambda tx, session: journal.newest(tx, session, limit, wanted))
    return respond(success({"entries": entries}), 200)


def get_sessions() -> Response:
    """Every live session, oldest name first; sessions idle past the limit are expired first."""
    runtime = runtime_of(request.scope)
    with runtime.store.transaction() as tx:
        expired = expire_idle(tx, time.time(), batch=runtime.limits.max_sessions)
        listed = list_sessions(tx)
    for name in expired:
        runtime.forget(name)
    return respond(success({"sessions": listed, "maxSessions": runtime.limits.max_sessions}), 200)


def delete_session(name: str) -> Response:
    """Drop the session and all its rows; `default` always exists, so deleting it resets it."""
    runtime = runtime_of(request.scope)
    with runtime.store.transaction(name) as tx:
        dropped = drop_session(tx, name)
    if not dropped:
        raise MockError.named(
            "not_found", "GET /__mock/sessions lists the sessions that exist.", message=f"No session {name}."
        )
    runtime.forget(name)
    return respond(success({"session": name, "outcome": "reset" if name == DEFAULT_SESSION else "deleted"}), 200)
