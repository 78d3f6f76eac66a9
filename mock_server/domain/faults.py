"""Fault injection: matching requests fail with a status, lose their connection, or wait a while first.

A fault rule hits the next `count` matching requests, or each one with probability `rate`, or both (each
with probability `rate`, at most `count` times). Its draws come from its own seed, so a run that sends the
same requests in the same order sees the same hits. Rules are capped per session so that a stranger
cannot grow the store, and the HTTP layer decides what a hit looks like on the wire.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from mock_server.domain.errors import validation_error
from mock_server.storage.base import Tx
from mock_server.storage.rows_journal import FaultRow

MAX_PENDING = 256
"""Pending rules per session: far more than a test scenario needs, small enough to scan on every request."""

CONNECTION_KINDS = ("drop", "reset", "truncate")
RETRY_AFTER_STATUSES = (429, 503, 504)
DEFAULT_RETRY_AFTER = 1


@dataclass(frozen=True, slots=True)
class Fault:
    """What one hit does to one request."""

    id: int
    status: int | None
    connection: str | None
    retry_after: int | None
    latency_ms: int


@dataclass(frozen=True, slots=True)
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


def add(tx: Tx, session: str, rule: FaultRule) -> dict[str, Any]:
    """Store a rule and return its view; past `MAX_PENDING` pending rules the rule is refused."""
    if tx.count_faults(session) >= MAX_PENDING:
        raise validation_error(
            f"faults: at most {MAX_PENDING} pending faults per session; delete one with "
            "DELETE /__mock/faults/{id} or all with DELETE /__mock/faults",
            message="Too many pending faults in this session.",
        )
    seed = rule.seed if rule.seed is not None else secrets.randbits(31)
    row = FaultRow(
        0,
        rule.status,
        rule.connection,
        rule.retry_after,
        rule.latency_ms,
        rule.count,
        rule.rate,
        seed,
        0,
        0,
        rule.method,
        rule.path_prefix,
    )
    fault_id = tx.insert_fault(session, row)
    return _view(row._replace(id=fault_id))


def any_pending(tx: Tx, session: str) -> bool:
    return tx.any_fault(session)


def take(tx: Tx, session: str, method: str, path: str) -> Fault | None:
    """The first matching rule (oldest first) that hits this request, with one use consumed.

    Call inside a write transaction of the session: a rule with a rate records its draw even when it misses,
    so that concurrent requests (and workers, and replicas) never reuse a draw.
    """
    for rule in tx.matching_faults(session, method.upper(), path):
        if rule.rate is not None:
            tx.count_draw(rule.id)
            if _draw(rule.seed, rule.draws) >= rule.rate:
                continue
        tx.use_fault(rule.id)
        return Fault(rule.id, rule.status, rule.connection, rule.retry_after, rule.latency_ms)
    return None


def _draw(seed: int, n: int) -> float:
    """The rule's n-th draw in [0, 1): a hash of (seed, n), the same in every process and run."""
    digest = hashlib.blake2b(f"{seed}:{n}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def pending(tx: Tx, session: str) -> list[dict[str, Any]]:
    return [_view(row) for row in tx.faults(session)]


def remove(tx: Tx, session: str, fault_id: int) -> dict[str, Any] | None:
    """Delete one rule; its last view, or None when the session has no such rule."""
    row = tx.fault(session, fault_id)
    if row is None:
        return None
    tx.delete_fault(session, fault_id)
    return _view(row)


def clear(tx: Tx, session: str) -> None:
    tx.clear_session(session, ["faults"])


def _view(row: FaultRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "status": row.status,
        "connection": row.connection,
        "retryAfter": row.retry_after,
        "latencyMs": row.latency_ms,
        "remaining": row.remaining,
        "rate": row.rate,
        "seed": row.seed,
        "hits": row.hits,
        "method": row.method,
        "pathPrefix": row.path_prefix,
    }
