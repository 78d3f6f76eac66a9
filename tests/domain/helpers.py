"""Shared builders for the domain tests: exact instants, request bodies and store shortcuts."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from mock_server.domain.clock import ClockState
from mock_server.domain.messages import MessageBook
from mock_server.domain.service import Outcome, queue_response
from mock_server.domain.sessions import ensure_session, read_clock, write_clock
from mock_server.storage import Store

NEW_YORK = ZoneInfo("America/New_York")
SESSION = "s1"
GROUP = "ag_acme"
OTHER_GROUP = "ag_globex"

DM = {"prospectId": "prs_ada_lovelace", "message": "Thanks, Ada!"}
INMAIL = {"prospectId": "prs_grace_hopper", "channel": "inmail", "subject": "Hello", "message": "Hi Grace"}


def local(year: int, month: int, day: int, hour: int, minute: int = 0, second: float = 0, zone=NEW_YORK) -> float:
    """Epoch seconds of a wall-clock time in `zone` (fold 0), exact to the microsecond."""
    whole = int(second)
    micro = round((second - whole) * 1_000_000)
    return datetime(year, month, day, hour, minute, whole, micro, tzinfo=zone).timestamp()


# Wednesday 12 June 2024, 10:00 in New York: inside ag_acme's sending hours (Mon-Fri 09:00-18:00).
WED_10AM = local(2024, 6, 12, 10)


def freeze(store: Store, instant: float, session: str = SESSION) -> None:
    with store.transaction() as conn:
        ensure_session(conn, session)
        write_clock(conn, session, ClockState(frozen_at=instant))


def advance(store: Store, seconds: float, session: str = SESSION) -> None:
    with store.transaction() as conn:
        write_clock(conn, session, read_clock(conn, session).advance(seconds))


def send_due(store: Store, session: str = SESSION) -> int:
    with store.transaction() as conn:
        return MessageBook(conn, session).send_due(read_clock(conn, session).now())


def queue(
    store: Store, body: dict[str, Any], key: str | None = None, *, group: str = GROUP, session: str = SESSION
) -> Outcome:
    return queue_response(store, session, group, dict(body), key)


def listed(store: Store, group: str = GROUP, session: str = SESSION) -> list[dict[str, Any]]:
    with store.transaction() as conn:
        ensure_session(conn, session)
        return MessageBook(conn, session).list(group, None, 1000)
