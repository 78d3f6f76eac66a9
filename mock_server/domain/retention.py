"""Forgetting on schedule: expired idempotency keys, long-sent messages and past day counters.

Each pass deletes a bounded batch through an index, so it costs the same at 200 or 200,000 rows, and
SQLite reuses the freed pages: under a steady load the state file stops growing once retention is reached.
"""

from __future__ import annotations

import itertools
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

BATCH = 200
PASS_EVERY = 50


@dataclass(frozen=True)
class Retention:
    """How long sent messages stay listed (mock clock); keys always last 24 h after their 202."""

    sent_seconds: float = 7 * 24 * 3600


_requests = itertools.count(1)


def due() -> bool:
    """True on every PASS_EVERY-th request of this process: purging needs no more than that."""
    return next(_requests) % PASS_EVERY == 0


def purge(conn: sqlite3.Connection, session: str, now: float, retention: Retention) -> int:
    """Delete one batch of each kind of expired row; returns how many rows went."""
    deleted = conn.execute(
        "DELETE FROM idempotency_keys WHERE rowid IN (SELECT rowid FROM idempotency_keys "
        "WHERE session = ? AND expires_at <= ? LIMIT ?)",
        (session, now, BATCH),
    ).rowcount
    deleted += conn.execute(
        "DELETE FROM messages WHERE rowid IN (SELECT rowid FROM messages "
        "WHERE session = ? AND sent_at IS NOT NULL AND sent_at <= ? LIMIT ?)",
        (session, now - retention.sent_seconds, BATCH),
    ).rowcount
    two_days_ago = (datetime.fromtimestamp(now, tz=UTC) - timedelta(days=2)).date().isoformat()
    deleted += conn.execute(
        "DELETE FROM day_counts WHERE rowid IN (SELECT rowid FROM day_counts "
        "WHERE session = ? AND local_day < ? LIMIT ?)",
        (session, two_days_ago, BATCH),
    ).rowcount
    return deleted
