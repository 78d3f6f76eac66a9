"""What every request of one app needs: the store, the rate limiter and the config, reachable from the scope."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mock_server.config import MockConfig
from mock_server.domain.access import Caller
from mock_server.domain.fixtures import load_fixtures
from mock_server.domain.ratelimit import RateLimit, RateLimiter
from mock_server.domain.retention import Retention
from mock_server.domain.sessions import DEFAULT_SESSION, ensure_session, install_base_fixtures
from mock_server.domain.store import Store
from mock_server.http.envelope import EnvelopeError

CALLER = "sonarly.caller"
RUNTIME_KEY = "sonarly.runtime"
SESSION_KEY = "sonarly.session"
SESSION_HEADER = "x-mock-session"
SESSION_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")


@dataclass
class Runtime:
    config: MockConfig
    store: Store
    limiter: RateLimiter
    retention: Retention
    open_sessions: set[str] = field(default_factory=set)

    @classmethod
    def start(cls, config: MockConfig) -> Runtime:
        store = Store(Path(config.state) if config.state else None)
        fixtures = load_fixtures(Path(config.data) if config.data else None)
        with store.transaction() as conn:
            install_base_fixtures(conn, fixtures)
        limiter = RateLimiter(RateLimit.parse(config.rate_limit))
        return cls(config, store, limiter, Retention(sent_seconds=config.sent_retention_seconds))

    def open_session(self, session: str) -> None:
        """Create the session on first use; sessions are never dropped (a reset recreates), so cache it."""
        if session not in self.open_sessions:
            with self.store.transaction() as conn:
                ensure_session(conn, session)
            self.open_sessions.add(session)


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


def session_from_header(value: str | None) -> str:
    if value is None:
        return DEFAULT_SESSION
    if not SESSION_NAME.fullmatch(value):
        raise EnvelopeError(
            400,
            "VALIDATION_ERROR",
            "The request is not valid.",
            "X-Mock-Session: must be 1-64 characters of letters, digits, '.', '_' or '-'",
        )
    return value
