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
import time
from dataclasses import dataclass
from typing import Any

from mock_server.domain import datasets
from mock_server.domain.clock import ClockState, to_iso
from mock_server.domain.datasets import Dataset
from mock_server.domain.errors import CatalogueError
from mock_server.domain.fixtures import Fixtures
from mock_server.storage.base import Tx
from mock_server.storage.executor import SESSION_TABLES
from mock_server.storage.rows_messages import QueueView

DEFAULT_SESSION = "default"
SWEEP_BATCH = 16
"""Expired sessions deleted per pass: a pass stays short however many expired at once."""
RETRY_WITHOUT_EXPIRY = 60
"""Retry-After past the cap when no session ever expires (only deleting one frees a place)."""


@dataclass(frozen=True, slots=True)
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


@dataclass(slots=True)  # per request: a frozen dataclass's init costs three times a plain one's
class OpenSession:
    name: str
    dataset: Dataset
    clock: ClockState


def install_base_fixtures(tx: Tx, fixtures: Fixtures, limits: SessionLimits | None = None) -> None:
    """Record what new and reset sessions start from, and the limits; existing sessions keep their data."""
    limits = limits or SessionLimits()
    tx.lock_registry()
    base = datasets.put(tx, fixtures)
    previous = tx.startup_dataset()
    tx.set_startup(base, limits.max_sessions, limits.idle_seconds)
    if previous is not None and previous != base:
        datasets.collect(tx, previous)
    if not tx.session_exists(DEFAULT_SESSION):
        tx.insert_session(DEFAULT_SESSION, time.time())


def dataset_of(tx: Tx, name: str) -> Dataset:
    """The session's dataset; for a session that does not exist (yet), the base dataset.

    Outside a transaction another process may move the session to another dataset and delete the old one
    between the two reads: then the second attempt reads the new one.
    """
    for attempt in range(3):
        try:
            return datasets.load(tx, tx.dataset_or_base(name))
        except LookupError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def open_session(tx: Tx, name: str, group_id: str, key: str | None) -> tuple[OpenSession, QueueView]:
    """The session's dataset and clock, creating the session if it does not exist (within the cap), with what
    queueing a response in `group_id` reads before it decides (`QueueView`), all in one statement."""
    view = tx.queue_view(name, group_id, key)
    if view is None:
        create(tx, name, time.time())
        view = tx.queue_view(name, group_id, key)
        assert view is not None, "created in this transaction"
    clock = ClockState(offset=view.clock_offset, frozen_at=view.clock_frozen_at)
    return OpenSession(name, datasets.load(tx, view.dataset), clock), view


def ensure_session(tx: Tx, name: str) -> None:
    """Create the session (within the cap) if it does not exist."""
    if not tx.session_exists(name):
        create(tx, name, time.time())


def touch(tx: Tx, name: str, now: float) -> list[str]:
    """Record a use of the session at wall-clock `now`, creating it if needed; returns the sessions expired
    on the way. A session idle past the limit that no sweep has deleted yet is expired here, not revived."""
    idle_seconds = tx.startup().idle_seconds
    last_used = tx.last_used(name)
    if last_used is not None and (name == DEFAULT_SESSION or idle_seconds is None or last_used >= now - idle_seconds):
        tx.set_last_used(name, now)
        return []
    expired = [name] if last_used is not None and drop_session(tx, name) else []
    return expired + create(tx, name, now)


def create(tx: Tx, name: str, now: float) -> list[str]:
    """Create the session on the base dataset; past the cap, first expire idle sessions, then refuse.

    Under the registry lock, so that replicas creating sessions at once count each other's (and one that
    another replica created meanwhile is simply there)."""
    tx.lock_registry()
    if tx.session_exists(name):
        return []
    startup = tx.startup()
    expired: list[str] = []
    if tx.count_sessions() >= startup.max_sessions:
        expired = expire_idle(tx, now)
        if tx.count_sessions() >= startup.max_sessions:
            raise SessionLimitReached(startup.max_sessions, _retry_after(tx, startup.idle_seconds, now))
    tx.insert_session(name, now)
    return expired


def expire_idle(tx: Tx, now: float, batch: int = SWEEP_BATCH) -> list[str]:
    """Drop up to `batch` sessions unused for longer than the idle limit (never `default`), skipping any that
    a request is using right now."""
    idle_seconds = tx.startup().idle_seconds
    if idle_seconds is None:
        return []
    tx.lock_registry()
    names = [name for name in tx.idle_sessions(now - idle_seconds, DEFAULT_SESSION, batch) if tx.try_lock_session(name)]
    for name in names:
        drop_session(tx, name)
    return names


def drop_session(tx: Tx, name: str) -> bool:
    """Delete the session and all its rows (`default` is reset instead); False if there is no such session.
    Call inside a transaction of that session (or after taking its lock)."""
    if name == DEFAULT_SESSION:
        reset_session(tx, name)
        return True
    tx.lock_registry()
    dataset_id = tx.delete_session(name)
    if dataset_id is None:
        return False
    tx.clear_session(name)
    datasets.collect(tx, dataset_id)
    return True


def reset_session(tx: Tx, name: str) -> None:
    """Back to the base dataset and real time, with no messages, keys, journal or faults."""
    ensure_session(tx, name)
    tx.clear_session(name)
    _point_at(tx, name, tx.startup().base_dataset)
    write_clock(tx, name, ClockState())


def replace_fixtures(tx: Tx, name: str, fixtures: Fixtures) -> None:
    """Swap the session's data; its scheduled responses and keys go too, since they refer to the old data.
    The clock, journal and faults stay."""
    ensure_session(tx, name)
    tx.clear_session(name, [t for t in SESSION_TABLES if t not in ("journal", "faults")])
    tx.lock_registry()
    _point_at(tx, name, datasets.put(tx, fixtures))


def clock_if_exists(tx: Tx, name: str) -> ClockState | None:
    """The session's clock, or None when there is no such session (one query for the journal's two needs)."""
    row = tx.session(name)
    return None if row is None else ClockState(offset=row.clock_offset, frozen_at=row.clock_frozen_at)


def read_clock(tx: Tx, name: str) -> ClockState:
    """The session's clock; real time for a session that does not exist (yet)."""
    return clock_if_exists(tx, name) or ClockState()


def write_clock(tx: Tx, name: str, clock: ClockState) -> None:
    tx.write_clock(name, clock.offset, clock.frozen_at)


def opened_conversations(tx: Tx, name: str) -> dict[tuple[str, str], list[str]]:
    """Conversations the session's sent InMails opened, by (group, prospect), oldest first."""
    opened: dict[tuple[str, str], list[str]] = {}
    for group_id, prospect_id, conversation_id in tx.opened_conversations(name):
        opened.setdefault((group_id, prospect_id), []).append(conversation_id)
    return opened


def fixtures_document(tx: Tx, name: str) -> dict[str, Any]:
    """The session's current data in the fixture-file format, conversations opened by sent InMails included."""
    document = dataset_of(tx, name).document()
    opened = opened_conversations(tx, name)
    for group in document["accountGroups"]:
        for prospect in group["prospects"]:
            prospect["conversations"].extend(opened.get((group["id"], prospect["id"]), []))
    return document


def list_sessions(tx: Tx) -> list[dict[str, Any]]:
    """Every session with its creation and last use (wall clock) and the rows it holds."""
    sizes = tx.session_sizes()
    base = tx.startup().base_dataset
    return [
        {
            "name": row.name,
            "created": to_iso(row.created),
            "lastUsed": to_iso(row.last_used),
            "size": {
                **{label: counts.get(row.name, 0) for label, counts in sizes.items()},
                "ownFixtures": row.dataset != base,
            },
        }
        for row in tx.listed_sessions()
    ]


def _retry_after(tx: Tx, idle_seconds: float | None, now: float) -> int:
    """Whole seconds until the least recently used session (not `default`) expires, at least 1."""
    oldest = tx.oldest_use(DEFAULT_SESSION)
    if idle_seconds is None or oldest is None:
        return RETRY_WITHOUT_EXPIRY
    return max(1, math.ceil(oldest + idle_seconds - now))


def _point_at(tx: Tx, name: str, dataset_id: str) -> None:
    row = tx.session(name)
    assert row is not None, "the caller ensured the session"
    if row.dataset != dataset_id:
        tx.lock_registry()
        tx.set_dataset(name, dataset_id)
        datasets.collect(tx, row.dataset)
