"""Forgetting on schedule: expired idempotency keys, long-sent messages and past day counters.

Each pass deletes a bounded batch through an index, so it costs the same at 200 or 200,000 rows, and
the database reuses the freed pages: under a steady load the state file stops growing once retention is reached.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from mock_server.storage.base import Tx

BATCH = 200
PASS_EVERY = 50


@dataclass(frozen=True, slots=True)
class Retention:
    """How long sent messages stay listed (mock clock); keys always last 24 h after their 202."""

    sent_seconds: float = 7 * 24 * 3600


_requests = itertools.count(1)


def due() -> bool:
    """True on every PASS_EVERY-th request of this process: purging needs no more than that."""
    return next(_requests) % PASS_EVERY == 0


def purge(tx: Tx, session: str, now: float, retention: Retention) -> int:
    """Delete one batch of each kind of expired row; returns how many rows went."""
    two_days_ago = (datetime.fromtimestamp(now, tz=UTC) - timedelta(days=2)).date().isoformat()
    return (
        tx.purge_keys(session, now, BATCH)
        + tx.purge_sent(session, now - retention.sent_seconds, BATCH)
        + tx.purge_day_counts(session, two_days_ago, BATCH)
    )
