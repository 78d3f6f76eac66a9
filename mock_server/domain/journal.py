"""The request journal: what each session's clients sent and got, newest first, without secrets."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from mock_server.domain.clock import to_iso

KEEP_PER_SESSION = 1000
MAX_KEY_CHARS = 300


@dataclass(frozen=True)
class JournalEntry:
    at: float
    method: str
    path: str
    status: int
    trace_id: str
    idempotency_key: str | None
    api_key_name: str | None


def record(conn: sqlite3.Connection, session: str, entry: JournalEntry) -> None:
    """Append the entry and trim the session to its newest KEEP_PER_SESSION (one indexed delete)."""
    conn.execute(
        "INSERT INTO journal (session, at, method, path, status, trace_id, idempotency_key, api_key) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            session,
            entry.at,
            entry.method,
            entry.path,
            entry.status,
            entry.trace_id,
            None if entry.idempotency_key is None else entry.idempotency_key[:MAX_KEY_CHARS],
            entry.api_key_name,
        ),
    )
    conn.execute(
        "DELETE FROM journal WHERE session = ? AND seq <= (SELECT seq FROM journal WHERE session = ? "
        "ORDER BY seq DESC LIMIT 1 OFFSET ?)",
        (session, session, KEEP_PER_SESSION),
    )


def newest(conn: sqlite3.Connection, session: str, limit: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT at, method, path, status, trace_id, idempotency_key, api_key FROM journal "
        "WHERE session = ? ORDER BY seq DESC LIMIT ?",
        (session, limit),
    )
    return [
        {
            "at": to_iso(at),
            "method": method,
            "path": path,
            "status": status,
            "traceId": trace_id,
            "idempotencyKey": key,
            "apiKey": api_key,
        }
        for at, method, path, status, trace_id, key, api_key in rows
    ]
