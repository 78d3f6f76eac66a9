"""Stripe-style idempotency: one layer in front of scheduling, scoped to (session, account group, key).

Callers use it inside one store transaction, so "look up, else schedule and bind" is atomic: a
concurrent duplicate waits for the write lock and then finds the bound key and replays it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

from mock_server.domain.errors import IdempotencyConflict
from mock_server.jsontext import compact
from mock_server.storage.base import Tx
from mock_server.storage.rows_messages import BoundKey

RETENTION_SECONDS = 24 * 3600
DEFAULT_CHANNEL = "direct_message"


def fingerprint(body: dict[str, Any]) -> str:
    """Canonical JSON with defaults applied: member order, white space and an omitted channel don't matter."""
    canonical = {"channel": DEFAULT_CHANNEL, **body}
    return hashlib.sha256(compact(canonical, sort_keys=True)).hexdigest()


@dataclass(frozen=True, slots=True)
class Replay:
    data: dict[str, Any]


class IdempotencyStore:
    """The keys of one account group in one session. `read` is a key and its binding (None: unbound) that the
    caller has already read in this transaction (`Tx.queue_view`): looking that key up costs no statement."""

    def __init__(self, tx: Tx, session: str, group_id: str, read: tuple[str, BoundKey | None] | None = None) -> None:
        self._tx = tx
        self._session = session
        self._group_id = group_id
        self._read = read

    def lookup(self, key: str, body_fingerprint: str, now: float) -> Replay | None:
        """The original 202 data for a same-body retry; a conflict for a different body; None if unbound."""
        if self._read is not None and self._read[0] == key:
            bound = self._read[1]
        else:
            bound = self._tx.bound_key(self._session, self._group_id, key)
        if bound is None or bound.expires_at <= now:
            return None
        if bound.fingerprint != body_fingerprint:
            raise IdempotencyConflict(
                "Idempotency-Key: already used with a different request body; use a new key for a new request"
            )
        return Replay(orjson.loads(bound.response))

    def bind(self, key: str, body_fingerprint: str, data: dict[str, Any], now: float) -> None:
        """Only a 202 binds a key, for RETENTION_SECONDS of the mock clock."""
        bound = BoundKey(body_fingerprint, compact(data).decode(), now + RETENTION_SECONDS)
        self._tx.bind_key(self._session, self._group_id, key, bound)
