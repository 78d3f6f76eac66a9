"""Sessions: each has its own copy of the fixtures, its own clock and its own state.

A session is created on first use from the base fixtures the mock was started with.
"""

from __future__ import annotations

import json
import sqlite3
from functools import lru_cache
from typing import Any

from mock_server.domain.clock import ClockState
from mock_server.domain.fixtures import Fixtures, parse_fixtures
from mock_server.domain.store import SESSION_TABLES
from mock_server.domain.tokens import key_digest

DEFAULT_SESSION = "default"


def install_base_fixtures(conn: sqlite3.Connection, fixtures: Fixtures) -> None:
    """Record the data new and reset sessions start from; existing sessions keep theirs."""
    conn.execute(
        "INSERT INTO base_fixtures (id, document) VALUES (1, ?) "
        "ON CONFLICT (id) DO UPDATE SET document = excluded.document",
        (json.dumps(fixtures.document),),
    )


def ensure_session(conn: sqlite3.Connection, session: str) -> None:
    """Create the session from the base fixtures the first time it is named."""
    if conn.execute("SELECT 1 FROM sessions WHERE name = ?", (session,)).fetchone() is None:
        conn.execute("INSERT INTO sessions (name) VALUES (?)", (session,))
        _seed(conn, session, _base_fixtures(conn))


def reset_session(conn: sqlite3.Connection, session: str) -> None:
    _clear(conn, session, SESSION_TABLES)
    conn.execute("DELETE FROM sessions WHERE name = ?", (session,))
    ensure_session(conn, session)


def replace_fixtures(conn: sqlite3.Connection, session: str, fixtures: Fixtures) -> None:
    """Swap the session's data; its scheduled responses and keys go too, since they refer to the old data."""
    ensure_session(conn, session)
    _clear(conn, session, [t for t in SESSION_TABLES if t not in ("journal", "faults")])
    _seed(conn, session, fixtures)


def read_clock(conn: sqlite3.Connection, session: str) -> ClockState:
    row = conn.execute("SELECT clock_offset, clock_frozen_at FROM sessions WHERE name = ?", (session,)).fetchone()
    return ClockState(offset=row[0], frozen_at=row[1])


def write_clock(conn: sqlite3.Connection, session: str, clock: ClockState) -> None:
    conn.execute(
        "UPDATE sessions SET clock_offset = ?, clock_frozen_at = ? WHERE name = ?",
        (clock.offset, clock.frozen_at, session),
    )


def fixtures_document(conn: sqlite3.Connection, session: str) -> dict[str, Any]:
    """The session's current data in the fixture-file format, conversations created by InMails included."""
    groups = []
    for group_id, name, schedule in conn.execute(
        "SELECT id, name, schedule FROM account_groups WHERE session = ? ORDER BY rowid", (session,)
    ):
        groups.append(
            {
                "id": group_id,
                "name": name,
                "schedule": json.loads(schedule),
                "prospects": _prospect_documents(conn, session, group_id),
            }
        )
    keys = [
        {
            "key": key,
            "name": name,
            "permissions": json.loads(perms),
            "accountGroups": json.loads(groups_json),
            "revoked": bool(revoked),
        }
        for key, name, perms, groups_json, revoked in conn.execute(
            "SELECT key, name, permissions, account_groups, revoked FROM api_keys WHERE session = ? ORDER BY position",
            (session,),
        )
    ]
    conformance = json.loads(conn.execute("SELECT conformance FROM sessions WHERE name = ?", (session,)).fetchone()[0])
    document: dict[str, Any] = {"accountGroups": groups, "apiKeys": keys}
    if conformance:
        document["conformance"] = conformance
    return document


def _prospect_documents(conn: sqlite3.Connection, session: str, group_id: str) -> list[dict[str, Any]]:
    conversations: dict[str, list[str]] = {}
    for conversation_id, prospect_id in conn.execute(
        "SELECT id, prospect_id FROM conversations WHERE session = ? AND group_id = ? ORDER BY position",
        (session, group_id),
    ):
        conversations.setdefault(prospect_id, []).append(conversation_id)
    return [
        {
            "id": pid,
            "name": name,
            "connected": bool(connected),
            "conversations": conversations.get(pid, []),
            "inmailEligible": bool(eligible),
        }
        for pid, name, connected, eligible in conn.execute(
            "SELECT id, name, connected, inmail_eligible FROM prospects WHERE session = ? AND group_id = ? "
            "ORDER BY position",
            (session, group_id),
        )
    ]


def _base_fixtures(conn: sqlite3.Connection) -> Fixtures:
    row = conn.execute("SELECT document FROM base_fixtures WHERE id = 1").fetchone()
    return _parse_cached(row[0])


@lru_cache(maxsize=8)
def _parse_cached(document: str) -> Fixtures:
    return parse_fixtures(json.loads(document))


def _clear(conn: sqlite3.Connection, session: str, tables: list[str] | tuple[str, ...]) -> None:
    for table in tables:
        conn.execute(f"DELETE FROM {table} WHERE session = ?", (session,))


def _seed(conn: sqlite3.Connection, session: str, fixtures: Fixtures) -> None:
    conn.execute("UPDATE sessions SET conformance = ? WHERE name = ?", (json.dumps(fixtures.conformance), session))
    raw_groups = {g["id"]: g for g in fixtures.document.get("accountGroups", [])}
    position = 0
    for group in fixtures.account_groups:
        schedule = raw_groups.get(group.id, {}).get("schedule", {})
        conn.execute(
            "INSERT INTO account_groups (session, id, name, schedule) VALUES (?, ?, ?, ?)",
            (session, group.id, group.name, json.dumps(schedule)),
        )
        for prospect in group.prospects:
            position += 1
            conn.execute(
                "INSERT INTO prospects VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    session,
                    prospect.id,
                    group.id,
                    prospect.name,
                    int(prospect.connected),
                    int(prospect.inmail_eligible),
                    position,
                ),
            )
            for conversation_id in prospect.conversations:
                position += 1
                conn.execute(
                    "INSERT INTO conversations VALUES (?, ?, ?, ?, ?)",
                    (session, conversation_id, group.id, prospect.id, position),
                )
    for index, key in enumerate(fixtures.api_keys):
        conn.execute(
            "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                session,
                key_digest(key.key),
                key.key,
                key.name,
                json.dumps(sorted(key.permissions)),
                json.dumps(sorted(key.account_groups)),
                int(key.revoked),
                index,
            ),
        )
