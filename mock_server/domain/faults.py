"""Fault injection: the next N matching requests fail with a chosen status or wait a while first."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Fault:
    status: int | None
    latency_ms: int


def add(conn: sqlite3.Connection, session: str, spec: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO faults (session, status, latency_ms, remaining, method, path_prefix) VALUES (?, ?, ?, ?, ?, ?)",
        (
            session,
            spec.get("status"),
            spec.get("latencyMs", 0),
            spec.get("count", 1),
            (spec.get("method") or "").upper() or None,
            spec.get("pathPrefix"),
        ),
    )


def any_pending(conn: sqlite3.Connection, session: str) -> bool:
    return conn.execute("SELECT 1 FROM faults WHERE session = ? LIMIT 1", (session,)).fetchone() is not None


def take(conn: sqlite3.Connection, session: str, method: str, path: str) -> Fault | None:
    """Consume one use of the oldest matching fault, atomically within the caller's transaction."""
    row = conn.execute(
        "SELECT id, status, latency_ms FROM faults WHERE session = ? AND remaining > 0 "
        "AND (method IS NULL OR method = ?) AND (path_prefix IS NULL OR substr(?, 1, length(path_prefix)) = "
        "path_prefix) ORDER BY id LIMIT 1",
        (session, method.upper(), path),
    ).fetchone()
    if row is None:
        return None
    conn.execute("UPDATE faults SET remaining = remaining - 1 WHERE id = ?", (row[0],))
    conn.execute("DELETE FROM faults WHERE id = ? AND remaining <= 0", (row[0],))
    return Fault(status=row[1], latency_ms=row[2])


def pending(conn: sqlite3.Connection, session: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT id, status, latency_ms, remaining, method, path_prefix FROM faults WHERE session = ? ORDER BY id",
        (session,),
    )
    return [
        {
            "id": fid,
            "status": status,
            "latencyMs": latency,
            "remaining": remaining,
            "method": method,
            "pathPrefix": prefix,
        }
        for fid, status, latency, remaining, method, prefix in rows
    ]


def clear(conn: sqlite3.Connection, session: str) -> None:
    conn.execute("DELETE FROM faults WHERE session = ?", (session,))
