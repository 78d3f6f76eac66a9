"""Fault injection: matching requests fail with a status, lose their connection, or wait a while first.

A fault rule hits the next `count` matching requests, or each one with probability `rate`, or both (each
with probability `rate`, at most `count` times). Its draws come from its own seed, so a run that sends the
same requests in the same order sees the same hits. Rules are capped per session so that a stranger
cannot grow the store, and the HTTP layer decides what a hit looks like on the wire.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from dataclasses import dataclass
from typing import Any

from mock_server.domain.errors import validation_error

MAX_PENDING = 256
"""Pending rules per session: far more than a test scenario needs, small enough to scan on every request."""

CONNECTION_KINDS = ("drop", "reset", "truncate")
RETRY_AFTER_STATUSES = (429, 503, 504)
DEFAULT_RETRY_AFTER = 1
_COLUMNS = "id, status, connection, retry_after, latency_ms, remaining, rate, seed, draws, hits, method, path_prefix"


@dataclass(frozen=True)
class Fault:
    """What one hit does to one request."""

    id: int
    status: int | None
    connection: str | None
    retry_after: int | None
    latency_ms: int


@dataclass(frozen=True)
class FaultRule:
    """A rule as the control API describes it (already validated against the control schema)."""

    status: int | None = None
    connection: str | None = None
    retry_after: int | None = None
    latency_ms: int = 0
    count: int | None = None
    rate: float | None = None
    seed: int | None = None
    method: str | None = None
    path_prefix: str | None = None

    @classmethod
    def from_request(cls, body: dict[str, Any]) -> FaultRule:
        status = body.get("status")
        retry_after = body.get("retryAfter")
        if retry_after is None and status in RETRY_AFTER_STATUSES:
            retry_after = DEFAULT_RETRY_AFTER
        rate = body.get("rate")
        return cls(
            status=status,
            connection=body.get("connection"),
            retry_after=retry_after,
            latency_ms=body.get("latencyMs", 0),
            # Neither count nor rate: the next request only. Rate alone: until deleted.
            count=body.get("count", 1 if rate is None else None),
            rate=None if rate is None else float(rate),
            seed=body.get("seed"),
            method=(body.get("method") or "").upper() or None,
            path_prefix=body.get("pathPrefix"),
        )


def add(conn: sqlite3.Connection, session: str, rule: FaultRule) -> dict[str, Any]:
    """Store a rule and return its view; past `MAX_PENDING` pending rules the rule is refused."""
    (pending_count,) = conn.execute("SELECT count(*) FROM faults WHERE session = ?", (session,)).fetchone()
    if pending_count >= MAX_PENDING:
        raise validation_error(
            f"faults: at most {MAX_PENDING} pending faults per session; delete one with "
            "DELETE /__mock/faults/{id} or all with DELETE /__mock/faults",
            message="Too many pending faults in this session.",
        )
    seed = rule.seed if rule.seed is not None else secrets.randbits(31)
    cursor = conn.execute(
        "INSERT INTO faults (session, status, connection, retry_after, latency_ms, remaining, rate, seed, draws, "
        "hits, method, path_prefix) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?)",
        (
            session,
            rule.status,
            rule.connection,
            rule.retry_after,
            rule.latency_ms,
            rule.count,
            rule.rate,
            seed,
            rule.method,
            rule.path_prefix,
        ),
    )
    return _one(conn, session, int(cursor.lastrowid or 0)) or {}


def any_pending(conn: sqlite3.Connection, session: str) -> bool:
    return conn.execute("SELECT 1 FROM faults WHERE session = ? LIMIT 1", (session,)).fetchone() is not None


def take(conn: sqlite3.Connection, session: str, method: str, path: str) -> Fault | None:
    """The first matching rule (oldest first) that hits this request, with one use consumed.

    Call inside a write transaction: a rule with a rate records its draw even when it misses, so that
    concurrent requests (and workers) never reuse a draw.
    """
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM faults WHERE session = ? AND (remaining IS NULL OR remaining > 0) "
        "AND (method IS NULL OR method = ?) AND (path_prefix IS NULL OR substr(?, 1, length(path_prefix)) = "
        "path_prefix) ORDER BY id",
        (session, method.upper(), path),
    ).fetchall()
    for fid, status, connection, retry_after, latency_ms, _remaining, rate, seed, draws, *_ in rows:
        if rate is not None:
            conn.execute("UPDATE faults SET draws = draws + 1 WHERE id = ?", (fid,))
            if _draw(seed, draws) >= rate:
                continue
        conn.execute("UPDATE faults SET hits = hits + 1, remaining = remaining - 1 WHERE id = ?", (fid,))
        conn.execute("DELETE FROM faults WHERE id = ? AND remaining <= 0", (fid,))
        return Fault(fid, status, connection, retry_after, latency_ms)
    return None


def _draw(seed: int, n: int) -> float:
    """The rule's n-th draw in [0, 1): a hash of (seed, n), the same in every process and run."""
    digest = hashlib.blake2b(f"{seed}:{n}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def pending(conn: sqlite3.Connection, session: str) -> list[dict[str, Any]]:
    rows = conn.execute(f"SELECT {_COLUMNS} FROM faults WHERE session = ? ORDER BY id", (session,))
    return [_view(row) for row in rows]


def remove(conn: sqlite3.Connection, session: str, fault_id: int) -> dict[str, Any] | None:
    """Delete one rule; its last view, or None when the session has no such rule."""
    view = _one(conn, session, fault_id)
    if view is not None:
        conn.execute("DELETE FROM faults WHERE session = ? AND id = ?", (session, fault_id))
    return view


def clear(conn: sqlite3.Connection, session: str) -> None:
    conn.execute("DELETE FROM faults WHERE session = ?", (session,))


def _one(conn: sqlite3.Connection, session: str, fault_id: int) -> dict[str, Any] | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM faults WHERE session = ? AND id = ?", (session, fault_id)).fetchone()
    return None if row is None else _view(row)


def _view(row: tuple[Any, ...]) -> dict[str, Any]:
    fid, status, connection, retry_after, latency_ms, remaining, rate, seed, _draws, hits, method, prefix = row
    return {
        "id": fid,
        "status": status,
        "connection": connection,
        "retryAfter": retry_after,
        "latencyMs": latency_ms,
        "remaining": remaining,
        "rate": rate,
        "seed": seed,
        "hits": hits,
        "method": method,
        "pathPrefix": prefix,
    }
