"""Stripe-style idempotency: one layer in front of scheduling, scoped to (session, account group, key).

Callers use it inside one store transaction, so "look up, else schedule and bind" is atomic: a
concurrent duplicate waits for the write lock and then finds the bound key and replays it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from mock_server.domain.errors import IdempotencyConflict

RETENTION_SECONDS = 24 * 3600
DEFAULT_CHANNEL = "direct_message"


def fingerprint(body: dict[str, Any]) -> str:
    """Canonical JSON with defaults applied: member order, white space and an omitted channel don't matter."""
    canonical = {"channel": DEFAULT_CHANNEL, **body}
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Replay:
    data: dict[str, Any]


class IdempotencyStore:
    def __init__(self, conn: sqlite3.Connection, session: str, group_id: str) -> None:
        self._conn = conn
        self._session = session
        self._group_id = group_id

    def lookup(self, key: str, body_fingerprint: str, now: float) -> Replay | None:
        """The original 202 data for a same-body retry; a conflict for a different body; None if unbound."""
        row = self._conn.execute(
            "SELECT fingerprint, response, expires_at FROM idempotency_keys "
            "WHERE session = ? AND group_id = ? AND key = ?",
            (self._session, self._group_id, key),
        ).fetchone()
        if row is None or row[2] <= now:
            return None
        if row[0] != body_fingerprint:
            raise IdempotencyConflict(
                "Idempotency-Key: already used with a different request body; use a new key for a new request"
            )
        return Replay(json.loads(row[1]))

    def bind(self, key: str, body_fingerprint: str, data: dict[str, Any], now: float) -> None:
        """Only a 202 binds a key, for RETENTION_SECONDS of the mock clock."""
        self._conn.execute(
            "INSERT INTO idempotency_keys (session, group_id, key, fingerprint, response, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (session, group_id, key) DO UPDATE SET "
            "fingerprint = excluded.fingerprint, response = excluded.response, expires_at = excluded.expires_at",
            (self._session, self._group_id, key, body_fingerprint, json.dumps(data), now + RETENTION_SECONDS),
        )
