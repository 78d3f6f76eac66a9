"""Sessions: each runs on a dataset (its fixtures), with its own clock and its own state.

A session exists only once an authenticated request or a control call named it (the HTTP layer decides
when; this module creates it). Until then, a request that names it is checked against the base dataset, the
data the mock was started with, and creates nothing. Sessions are capped in number (`SessionLimits`); past
the cap, creating one is a 429 that says when the least recently used one expires. A session not used for
`idle_seconds` (wall clock) expires, except `default`, which always exists; an expired or dropped session's
rows go with it, and so does its dataset if no other session uses it.
"""

from __future__ import annotations

import math
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from mock_server.domain import datasets
from mock_server.domain.clock import ClockState, to_iso
from mock_server.domain.datasets import Dataset
from mock_server.domain.errors import CatalogueError
from mock_server.domain.fixtures import Fixtures
from mock_server.domain.messages import opened_conversations
from mock_server.domain.store import SESSION_TABLES

DEFAULT_SESSION = "default"
SWEEP_BATCH = 16
"""Expired sessions deleted per pass: a pass stays short however many expired at once."""
RETRY_WITHOUT_EXPIRY = 60
"""Retry-After past the cap when no session ever expires (only deleting one frees a place)."""

_SIZE_TABLES = {
    "messages": "messages",
    "idempotencyKeys": "idempotency_keys",
    "journalEntries": "journal",
    "faults": "faults",
}


@dataclass(frozen=True)
class SessionLimits:
    max_sessions: int = 1000
    idle_seconds: float | None = 24 * 3600

    @classmethod
    def of(cls, max_sessions: int, idle_seconds: float | None) -> SessionLimits:
        """`idle_seconds` of None, 0, a negative number or infinity means that sessions never expire."""
        if idle_seconds is None or idle_seconds <= 0 or not math.isfinite(idle_seconds):
            return cls(max_sessions, None)
        return cls(max_sessions, float(idle_seconds))


class SessionLimitReached(CatalogueError):
    """Creating one more session would pass `max_sessions`: 429, like any other limit of the mock."""

    template = "rate_limited"

    def __init__(self, limit: int, retry_after: int) -> None:
        super().__init__(
            f"At most {limit} sessions at once (--max-sessions); delete one with DELETE /__mock/sessions/{{name}} "
            f"or retry after {retry_after} s, when the least recently used one expires.",
            message="The mock holds as many sessions as it may.",
            headers={"Retry-After": str(retry_after)},
        )


@dataclass(frozen=True)
class OpenSession:
    name: str
    dataset: Dataset
    clock: ClockState


def install_base_fixtures(conn: sqlite3.Connection, fixtures: Fixtures, limits: SessionLimits | None = None) -> None:
    """Record what new and reset sessions start from, and the limits; existing sessions keep their data."""
    limits = limits or SessionLimits()
    base = datasets.put(conn, fixtures)
    previous = conn.execute("SELECT base_dataset FROM startup WHERE id = 1").fetchone()
    conn.execute(
        "INSERT INTO startup (id, base_dataset, max_sessions, idle_seconds) VALUES (1, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET base_dataset = excluded.base_dataset, "
        "max_sessions = excluded.max_sessions, idle_seconds = excluded.idle_seconds",
        (base, limits.max_sessions, limits.idle_seconds),
    )
    if previous is not None and previous[0] != base:
        datasets.collect(conn, previous[0])
    if not exists(conn, DEFAULT_SESSION):
        _insert(conn, DEFAULT_SESSION, time.time())


def exists(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sessions WHERE name = ?", (name,)).fetchone() is not None


def dataset_of(conn: sqlite3.Connection, name: str) -> Dataset:
    """The session's dataset; for a session that does not exist (yet), the base dataset.

    Outside a transaction another process may move the session to another dataset and delete the old one
    between the two reads: then the second attempt reads the new one.
    """
    for attempt in range(3):
        (dataset_id,) = conn.execute(
            "SELECT COALESCE((SELECT dataset FROM sessions WHERE name = ?), "
            "(SELECT base_dataset FROM startup WHERE id = 1))",
            (name,),
        ).fetchone()
        try:
            return datasets.load(conn, dataset_id)
        except LookupError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def open_session(conn: sqlite3.Connection, name: str) -> OpenSession:
    """The session's dataset and clock, creating the session if it does not exist (within the cap)."""
    row = _row(conn, name)
    if row is None:
        create(conn, name, time.time())
        row = _row(conn, name)
        assert row is not None, "created in this transaction"
    dataset_id, offset, frozen_at = row
    return OpenSession(name, datasets.load(conn, dataset_id), ClockState(offset=offset, frozen_at=frozen_at))


def ensure_session(conn: sqlite3.Connection, name: str) -> None:
    """Create the session (within the cap) if it does not exist."""
    if not exists(conn, name):
        create(conn, name, time.time())


def touch(conn: sqlite3.Connection, name: str, now: float) -> list[str]:
    """Record a use of the session at wall-clock `now`, creating it if needed; returns the sessions expired
    on the way. A session idle past the limit that no sweep has deleted yet is expired here, not revived."""
    (idle_seconds,) = conn.execute("SELECT idle_seconds FROM startup").fetchone()
    row = conn.execute("SELECT last_used FROM sessions WHERE name = ?", (name,)).fetchone()
    if row is not None and (name == DEFAULT_SESSION or idle_seconds is None or row[0] >= now - idle_seconds):
        conn.execute("UPDATE sessions SET last_used = ? WHERE name = ?", (now, name))
        return []
    expired = [name] if row is not None and drop_session(conn, name) else []
    return expired + create(conn, name, now)


def create(conn: sqlite3.Connection, name: str, now: float) -> list[str]:
    """Create the session on the base dataset; past the cap, first expire idle sessions, then refuse."""
    max_sessions, idle_seconds = conn.execute("SELECT max_sessions, idle_seconds FROM startup").fetchone()
    expired: list[str] = []
    if _count(conn) >= max_sessions:
        expired = expire_idle(conn, now)
        if _count(conn) >= max_sessions:
            raise SessionLimitReached(max_sessions, _retry_after(conn, idle_seconds, now))
    _insert(conn, name, now)
    return expired


def expire_idle(conn: sqlite3.Connection, now: float, batch: int = SWEEP_BATCH) -> list[str]:
    """Drop up to `batch` sessions unused for longer than the idle limit (never `default`)."""
    (idle_seconds,) = conn.execute("SELECT idle_seconds FROM startup").fetchone()
    if idle_seconds is None:
        return []
    names = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sessions WHERE last_used < ? AND name != ? ORDER BY last_used LIMIT ?",
            (now - idle_seconds, DEFAULT_SESSION, batch),
        )
    ]
    for name in names:
        drop_session(conn, name)
    return names


def drop_session(conn: sqlite3.Connection, name: str) -> bool:
    """Delete the session and all its rows (`default` is reset instead); False if there is no such session."""
    if name == DEFAULT_SESSION:
        reset_session(conn, name)
        return True
    row = conn.execute("DELETE FROM sessions WHERE name = ? RETURNING dataset", (name,)).fetchone()
    if row is None:
        return False
    _clear(conn, name, SESSION_TABLES)
    datasets.collect(conn, row[0])
    return True


def reset_session(conn: sqlite3.Connection, name: str) -> None:
    """Back to the base dataset and real time, with no messages, keys, journal or faults."""
    ensure_session(conn, name)
    _clear(conn, name, SESSION_TABLES)
    _point_at(conn, name, _base_id(conn))
    write_clock(conn, name, ClockState())


def replace_fixtures(conn: sqlite3.Connection, name: str, fixtures: Fixtures) -> None:
    """Swap the session's data; its scheduled responses and keys go too, since they refer to the old data.
    The clock, journal and faults stay."""
    ensure_session(conn, name)
    _clear(conn, name, [t for t in SESSION_TABLES if t not in ("journal", "faults")])
    _point_at(conn, name, datasets.put(conn, fixtures))


def clock_if_exists(conn: sqlite3.Connection, name: str) -> ClockState | None:
    """The session's clock, or None when there is no such session (one query for the journal's two needs)."""
    row = conn.execute("SELECT clock_offset, clock_frozen_at FROM sessions WHERE name = ?", (name,)).fetchone()
    return None if row is None else ClockState(offset=row[0], frozen_at=row[1])


def read_clock(conn: sqlite3.Connection, name: str) -> ClockState:
    """The session's clock; real time for a session that does not exist (yet)."""
    return clock_if_exists(conn, name) or ClockState()


def write_clock(conn: sqlite3.Connection, name: str, clock: ClockState) -> None:
    conn.execute(
        "UPDATE sessions SET clock_offset = ?, clock_frozen_at = ? WHERE name = ?",
        (clock.offset, clock.frozen_at, name),
    )


def fixtures_document(conn: sqlite3.Connection, name: str) -> dict[str, Any]:
    """The session's current data in the fixture-file format, conversations opened by sent InMails included."""
    document = dataset_of(conn, name).document()
    opened = opened_conversations(conn, name)
    for group in document["accountGroups"]:
        for prospect in group["prospects"]:
            prospect["conversations"].extend(opened.get((group["id"], prospect["id"]), []))
    return document


def list_sessions(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every session with its creation and last use (wall clock) and the rows it holds."""
    counts = {
        label: dict(conn.execute(f"SELECT session, COUNT(*) FROM {table} GROUP BY session").fetchall())
        for label, table in _SIZE_TABLES.items()
    }
    base = _base_id(conn)
    return [
        {
            "name": name,
            "created": to_iso(created),
            "lastUsed": to_iso(last_used),
            "size": {
                **{label: counts[label].get(name, 0) for label in _SIZE_TABLES},
                "ownFixtures": dataset != base,
            },
        }
        for name, dataset, created, last_used in conn.execute(
            "SELECT name, dataset, created, last_used FROM sessions ORDER BY name"
        )
    ]


def _row(conn: sqlite3.Connection, name: str) -> tuple[str, float, float | None] | None:
    return conn.execute(
        "SELECT dataset, clock_offset, clock_frozen_at FROM sessions WHERE name = ?", (name,)
    ).fetchone()


def _insert(conn: sqlite3.Connection, name: str, now: float) -> None:
    conn.execute(
        "INSERT INTO sessions (name, dataset, created, last_used) "
        "SELECT ?, base_dataset, ?, ? FROM startup WHERE id = 1",
        (name, now, now),
    )


def _count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0])


def _retry_after(conn: sqlite3.Connection, idle_seconds: float | None, now: float) -> int:
    """Whole seconds until the least recently used session (not `default`) expires, at least 1."""
    (oldest,) = conn.execute("SELECT MIN(last_used) FROM sessions WHERE name != ?", (DEFAULT_SESSION,)).fetchone()
    if idle_seconds is None or oldest is None:
        return RETRY_WITHOUT_EXPIRY
    return max(1, math.ceil(oldest + idle_seconds - now))


def _base_id(conn: sqlite3.Connection) -> str:
    return str(conn.execute("SELECT base_dataset FROM startup WHERE id = 1").fetchone()[0])


def _point_at(conn: sqlite3.Connection, name: str, dataset_id: str) -> None:
    (previous,) = conn.execute("SELECT dataset FROM sessions WHERE name = ?", (name,)).fetchone()
    if previous != dataset_id:
        conn.execute("UPDATE sessions SET dataset = ? WHERE name = ?", (dataset_id, name))
        datasets.collect(conn, previous)


def _clear(conn: sqlite3.Connection, name: str, tables: list[str] | tuple[str, ...]) -> None:
    for table in tables:
        conn.execute(f"DELETE FROM {table} WHERE session = ?", (name,))
