"""The plain assertion functions and run-wide observers, on hand-made exchanges."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from conformance.assertions import accepted, distinct_ids, one_id, rejected_with, replayed_or_in_use, same_data
from conformance.exchange import Exchange, Outgoing
from conformance.observers import (
    channel_echoed,
    idempotency_key_echoed,
    retry_after_valid,
    scheduled_at_not_before,
    sent_at_not_before_scheduled,
    trace_id_unique,
)
from conformance.results import CheckFailed

NOW = datetime(2026, 4, 28, 15, 30, tzinfo=UTC)


def make(status=202, data=None, error=None, body=None, key="k1", headers=None, trace="t1") -> Exchange:
    request_body = json.dumps(body if body is not None else {"prospectId": "p", "message": "m"}).encode()
    request = Outgoing("POST", "http://h/x", {"Idempotency-Key": key} if key else {}, request_body)
    envelope = {"success": status == 202, "data": data, "error": error, "traceId": trace}
    return Exchange(request, status, headers or {}, json.dumps(envelope).encode(), NOW, 0.01)


def data(**changes):
    return {
        "id": "a" * 24, "status": "queued", "scheduledAt": "2026-04-28T15:30:00.000Z", "sentAt": None,
        "channel": "direct_message", "conversationId": "c", "messageId": None, "idempotencyKey": "k1",
        "deferred": False, **changes,
    }  # fmt: skip


def fails(assertion, *args) -> bool:
    try:
        assertion(*args, rule="r")
    except CheckFailed as failure:
        assert failure.violation.rule == "r"
        return True
    return False


def test_rejected_with_needs_status_and_code() -> None:
    error = {"code": "VALIDATION_ERROR", "message": "m", "details": None}
    assert not fails(rejected_with, make(400, error=error), {400, 422}, "VALIDATION_ERROR")
    assert fails(rejected_with, make(400, error={**error, "code": "BAD"}), {400}, "VALIDATION_ERROR")
    assert fails(rejected_with, make(500, error=error), {400, 422}, "VALIDATION_ERROR")


def test_accepted_tolerates_only_the_inmail_data_condition() -> None:
    ineligible = make(409, error={"code": "INMAIL_NOT_ELIGIBLE", "message": "m", "details": None})
    assert not fails(accepted, ineligible, True)
    assert fails(accepted, ineligible, False)
    assert fails(accepted, make(409, error={"code": "PROSPECT_NOT_CONNECTED"}), True)


def test_same_data_distinct_and_one_id() -> None:
    first = make(data=data())
    assert not fails(same_data, first, make(data=data(), trace="t2"))
    assert fails(same_data, first, make(data=data(id="b" * 24)))
    assert fails(distinct_ids, [first, make(data=data())])
    assert not fails(distinct_ids, [first, make(data=data(id="b" * 24))])
    assert fails(one_id, [first, make(data=data(id="b" * 24))])


def test_concurrent_duplicate_outcomes() -> None:
    assert not fails(replayed_or_in_use, make(409, error={"code": "IDEMPOTENCY_KEY_IN_USE"}))
    assert fails(replayed_or_in_use, make(409, error={"code": "IDEMPOTENCY_CONFLICT"}))


@pytest.mark.parametrize(
    ("scheduled", "failing"),
    [("2026-04-28T15:29:56.000Z", False), ("2026-04-28T15:29:54.000Z", True), ("2026-05-01T09:00:00.000Z", False)],
)
def test_scheduled_at_allows_five_seconds_of_skew(scheduled, failing) -> None:
    assert fails(scheduled_at_not_before, make(data=data(scheduledAt=scheduled)), NOW) is failing


def test_sent_at_and_echoes() -> None:
    assert fails(sent_at_not_before_scheduled, make(data=data(sentAt="2026-04-28T15:29:00.000Z")))
    assert not fails(sent_at_not_before_scheduled, make(data=data(sentAt="2026-04-28T15:30:00.000Z")))
    inmail = {"prospectId": "p", "message": "m", "channel": "inmail", "subject": "s"}
    assert fails(channel_echoed, make(data=data(), body=inmail))
    assert not fails(channel_echoed, make(data=data()))  # omitted channel means direct_message
    assert fails(idempotency_key_echoed, make(data=data(idempotencyKey=None)))
    assert not fails(idempotency_key_echoed, make(data=data(idempotencyKey=None), key=None))


def test_trace_ids_and_retry_after() -> None:
    first = make(trace="same")
    seen = {"same": first}
    assert not fails(trace_id_unique, first, seen)
    assert fails(trace_id_unique, make(trace="same"), seen)
    assert not fails(retry_after_valid, make(429, headers={"retry-after": "2"}))
    for value in (None, "0", "1.5", "soon"):
        headers = {} if value is None else {"retry-after": value}
        assert fails(retry_after_valid, make(429, headers=headers)) is True, value
