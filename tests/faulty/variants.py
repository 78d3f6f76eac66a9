"""The faulty variants: the real mock with exactly one rule broken, by a wrapper or one patched component.

Each variant names the kit check that must catch it. None re-implements the API: every variant is the
real mock (`create_app`) with one seam bent, so the correct behaviour around the fault stays the mock's.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.types import ASGIApp

from faulty import variants_semantic
from faulty.fault import Fault, binds_key_after, mock, with_data, wrap_outcomes
from faulty.middleware import CountInFlight, RewriteResponse, ShortCircuit
from mock_server.domain import access, idempotency, service
from mock_server.domain.errors import MockError, validation_error
from mock_server.domain.idempotency import IdempotencyStore, Replay, fingerprint
from mock_server.domain.service import Outcome
from mock_server.domain.sessions import read_clock
from mock_server.http import envelope, handlers, security

# --- authentication and authorization -------------------------------------------------------------------


def any_key_accepted(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    writer = access.Caller("anyone", "digest", frozenset({access.REQUIRED_PERMISSION}), frozenset({"ag_acme"}))
    monkeypatch.setattr(security, "authenticate", lambda conn, session, token: writer)
    return mock()


def validation_before_auth(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    def malformed(_: Any, body: bytes) -> MockError | None:
        try:
            json.loads(body)
        except ValueError:
            return validation_error("body: not valid JSON")
        return None

    return ShortCircuit(mock(), malformed)


def foreign_group_allowed(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    def permission_only(caller: access.Caller, group_id: str) -> None:
        if access.REQUIRED_PERMISSION not in caller.permissions:
            raise access.AccessDenied("This API key lacks the permission messages:write.")

    monkeypatch.setattr(security, "authorize", permission_only)
    return mock()


def permission_ignored(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    def group_only(caller: access.Caller, group_id: str) -> None:
        if group_id not in caller.account_groups:
            raise access.AccessDenied("This API key has no access to this account group.")

    monkeypatch.setattr(security, "authorize", group_only)
    return mock()


# --- idempotency -----------------------------------------------------------------------------------------


def replay_schedules_again(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    original = IdempotencyStore.lookup

    def lookup(self: IdempotencyStore, key: str, body_fingerprint: str, now: float) -> Replay | None:
        original(self, key, body_fingerprint, now)  # conflicts are still detected
        return None

    monkeypatch.setattr(IdempotencyStore, "lookup", lookup)
    return mock()


def replay_with_other_data(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    wrap_outcomes(monkeypatch, lambda o, _: with_data(o, messageId="msg_replayed") if o.replayed else o)
    return mock()


def conflict_replays(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    original = IdempotencyStore.lookup

    def lookup(self: IdempotencyStore, key: str, body_fingerprint: str, now: float) -> Replay | None:
        bound = self._tx.bound_key(self._session, self._group_id, key)
        return original(self, key, bound.fingerprint if bound else body_fingerprint, now)

    monkeypatch.setattr(IdempotencyStore, "lookup", lookup)
    return mock()


def order_sensitive_fingerprint(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    monkeypatch.setattr(service, "fingerprint", lambda body: json.dumps(body))
    return mock()


def failed_request_binds_key(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    return binds_key_after({400, 422})


def concurrent_duplicates_race(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    """Check-then-act in two transactions: the classic race a real idempotency layer can have.

    The window between the check and the binding opens only while a duplicate is in flight, so the
    variant stays fast for sequential requests and the race shows however loaded the machine is. The
    mock's Flask handlers run in threads (its default ASGI endpoint runs on the event loop, where no
    two requests ever overlap), as a threaded real server would.
    """
    original, skip = handlers.queue_response, threading.local()
    real_lookup = IdempotencyStore.lookup
    in_flight: Counter[str] = Counter()

    def lookup(self: IdempotencyStore, key: str, body_fingerprint: str, now: float) -> Replay | None:
        return None if getattr(skip, "on", False) else real_lookup(self, key, body_fingerprint, now)

    def racy(store: Any, session: str, group_id: str, body: dict, key: str | None, *rest: Any, **named: Any) -> Outcome:
        if key is not None:
            with store.transaction() as conn:
                clock = read_clock(conn, session)
                replay = IdempotencyStore(conn, session, group_id).lookup(key, fingerprint(body), clock.now())
            if replay is not None:
                return Outcome(replay.data, replayed=True, clock=clock)
            if in_flight[key] > 1:
                time.sleep(1.0)
        skip.on = True
        try:
            return original(store, session, group_id, body, key, *rest, **named)
        finally:
            skip.on = False

    monkeypatch.setattr(IdempotencyStore, "lookup", lookup)
    monkeypatch.setattr(handlers, "queue_response", racy)
    return CountInFlight(mock(flask_handlers=True), in_flight)


def keyless_deduplicated(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    original = handlers.queue_response

    def by_body(
        store: Any, session: str, group_id: str, body: dict, key: str | None, *rest: Any, **named: Any
    ) -> Outcome:
        outcome = original(
            store, session, group_id, body, key or f"keyless-{idempotency.fingerprint(body)}", *rest, **named
        )
        return Outcome({**outcome.data, "idempotencyKey": key}, outcome.replayed and key is not None, outcome.clock)

    monkeypatch.setattr(handlers, "queue_response", by_body)
    return mock()


# --- response data ---------------------------------------------------------------------------------------


def channel_not_echoed(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    wrap_outcomes(monkeypatch, lambda o, _: with_data(o, channel="direct_message"))
    return mock()


def idempotency_key_not_echoed(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    wrap_outcomes(monkeypatch, lambda o, _: with_data(o, idempotencyKey=None))
    return mock()


def scheduled_in_the_past(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    """scheduledAt an hour before the request itself, whatever slot the scheduler picked.

    Shifting the real slot back would stay in the future whenever the demo group defers to its next
    sending window (nights and weekends in New York), so the fault is anchored to the request's time.
    """

    def shift(outcome: Outcome, _: str | None) -> Outcome:
        when = datetime.now(UTC) - timedelta(hours=1)
        return with_data(outcome, scheduledAt=when.isoformat(timespec="milliseconds")[:-6] + "Z")

    wrap_outcomes(monkeypatch, shift)
    return mock()


def constant_trace_id(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    monkeypatch.setattr(envelope, "new_trace_id", lambda: "0123456789abcdef01234567")
    return mock()


def unknown_prospect_is_404(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    return RewriteResponse(mock(), lambda _, status, headers: (404 if status == 422 else status, headers))


def retry_after_missing(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    def strip(_: Any, status: int, headers: list) -> tuple[int, list]:
        return status, [(k, v) for k, v in headers if k.lower() != b"retry-after"]

    return RewriteResponse(mock(rate_limit="40/s"), strip)


FAULTS = (
    Fault("any_key_accepted", "auth.unknown_key", any_key_accepted),
    Fault("validation_before_auth", "auth.before_validation", validation_before_auth),
    Fault("foreign_group_allowed", "auth.foreign_group", foreign_group_allowed),
    Fault("permission_ignored", "auth.restricted_key", permission_ignored),
    Fault("replay_schedules_again", "idempotency.replay", replay_schedules_again),
    Fault("replay_with_other_data", "idempotency.replay", replay_with_other_data),
    Fault("conflict_replays", "idempotency.conflict", conflict_replays),
    Fault("order_sensitive_fingerprint", "idempotency.replay_reordered", order_sensitive_fingerprint),
    Fault("failed_request_binds_key", "idempotency.failed_request_binds_no_key", failed_request_binds_key),
    Fault("concurrent_duplicates_race", "idempotency.concurrent_duplicates", concurrent_duplicates_race),
    Fault("keyless_deduplicated", "idempotency.keyless_distinct", keyless_deduplicated),
    Fault("channel_not_echoed", "data.channel_echoed", channel_not_echoed),
    Fault("idempotency_key_not_echoed", "data.idempotency_key_echoed", idempotency_key_not_echoed),
    Fault("scheduled_in_the_past", "data.scheduled_at", scheduled_in_the_past),
    Fault("constant_trace_id", "envelope.trace_id_distinct", constant_trace_id),
    Fault("unknown_prospect_is_404", "data.unknown_prospect", unknown_prospect_is_404),
    Fault("retry_after_missing", "rate_limit.retry_after", retry_after_missing),
    *variants_semantic.FAULTS,
)
