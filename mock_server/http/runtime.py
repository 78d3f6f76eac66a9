"""What every request of one app needs: the store, the rate limiter and the config, reachable from the scope."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mock_server.config import MockConfig
from mock_server.domain.access import Caller
from mock_server.domain.errors import validation_error
from mock_server.domain.fixtures import load_fixtures
from mock_server.domain.ratelimit import RateLimit, RateLimiter
from mock_server.domain.retention import Retention
from mock_server.domain.sessions import (
    DEFAULT_SESSION,
    SessionLimits,
    ensure_session,
    expire_idle,
    install_base_fixtures,
    touch,
)
from mock_server.storage import Store, Tx, open_store

CALLER = "sonarly.caller"
FAULT_EXTENSION = "sonarly.fault"
"""`scope["extensions"]` key holding the id of the fault that hit this request, for logs and the journal."""
RUNTIME_KEY = "sonarly.runtime"
SESSION_KEY = "sonarly.session"
SESSION_HEADER = "x-mock-session"
SESSION_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")


TOUCH_EVERY = 30.0
"""Seconds between two writes of a session's last use by one process (shorter for a short idle limit)."""
SWEEP_EVERY = 60.0
"""Seconds between two passes over idle sessions by one process (shorter for a short idle limit)."""


@dataclass
class Runtime:
    config: MockConfig
    store: Store
    limiter: RateLimiter
    retention: Retention
    limits: SessionLimits = field(default_factory=SessionLimits)
    _touched: dict[str, float] = field(default_factory=dict)
    _next_sweep: float = 0.0

    @classmethod
    def start(cls, config: MockConfig) -> Runtime:
        """Open the store (StateFileError if the state file is unusable) and install the base fixtures."""
        fixtures = load_fixtures(Path(config.data) if config.data else None)
        store = open_store(config.state, pool_size=config.db_pool_size, timeout=config.db_timeout_seconds)
        limits = SessionLimits.of(config.max_sessions, config.session_idle_seconds)
        with store.transaction() as tx:
            install_base_fixtures(tx, fixtures, limits)
        limiter = RateLimiter(RateLimit.parse(config.rate_limit))
        return cls(config, store, limiter, Retention(sent_seconds=config.sent_retention_seconds), limits)

    def admit(self, session: str) -> None:
        """An authenticated API request or a control call uses the session: create it if needed (429 past
        the cap) and record its use. A process writes a session's last use at most once per touch period,
        so the hot path stays free of writes; idle sessions are swept on the same write, now and then."""
        if self.admitted_recently(session):
            return
        now = time.monotonic()
        sweep = now >= self._next_sweep
        with self.store.transaction(session) as tx:
            expired = expire_idle(tx, time.time()) if sweep else []
            expired += touch(tx, session, time.time())
        if sweep:
            self._next_sweep = now + min(SWEEP_EVERY, self._touch_every)
        for name in expired:
            self.forget(name)
        if len(self._touched) > 2 * self.limits.max_sessions:
            self._touched = {name: at for name, at in self._touched.items() if now - at < self._touch_every}
        self._touched[session] = now

    def admitted_recently(self, session: str) -> bool:
        """This process admitted the session within the touch period: `admit` would not write now."""
        last = self._touched.get(session)
        return last is not None and time.monotonic() - last < self._touch_every

    def forget(self, session: str) -> None:
        """The session was dropped or reset: its next use writes again, its rate-limit buckets start full."""
        self._touched.pop(session, None)
        self.limiter.reset(session)

    @property
    def _touch_every(self) -> float:
        idle = self.limits.idle_seconds
        return TOUCH_EVERY if idle is None else min(TOUCH_EVERY, idle / 4)


@contextmanager
def session_transaction(scope: Mapping[str, Any]) -> Iterator[tuple[Tx, str]]:
    """One transaction in the caller's session, for a control call: the call admits the session first
    (created if new, 429 past the cap), and the session is created again if another worker dropped it since."""
    runtime, session = runtime_of(scope), session_of(scope)
    runtime.admit(session)
    with runtime.store.transaction(session) as tx:
        ensure_session(tx, session)
        yield tx, session


def operation_id(scope: Mapping[str, Any]) -> str | None:
    """The operation connexion routed this request to (None before routing or for unknown routes)."""
    return scope.get("extensions", {}).get("connexion_routing", {}).get("operation_id")


def caller_of(scope: Mapping[str, Any]) -> Caller | None:
    """The API key the security layer authenticated (even if it was then refused with a 403), if any."""
    return scope.get("extensions", {}).get(CALLER)


def runtime_of(scope: Mapping[str, Any]) -> Runtime:
    return scope[RUNTIME_KEY]


def session_of(scope: Mapping[str, Any]) -> str:
    return scope.get(SESSION_KEY, DEFAULT_SESSION)


def first_values(headers: Iterable[tuple[bytes, bytes]], names: frozenset[bytes]) -> dict[bytes, str]:
    """The first value of each of `names` (lower case, as ASGI gives header names) the request has, as Starlette's
    `Headers.get` reads it, in one pass: a `Headers` walks the list again for every lookup."""
    found: dict[bytes, str] = {}
    for name, value in headers:
        if name in names and name not in found:
            found[name] = value.decode("latin-1")
    return found


def session_from_header(value: str | None) -> str:
    if value is None:
        return DEFAULT_SESSION
    if not SESSION_NAME.fullmatch(value):
        raise validation_error("X-Mock-Session: must be 1-64 characters of letters, digits, '.', '_' or '-'")
    return value
