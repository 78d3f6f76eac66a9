"""The plain assertion functions, the invariants and the run-wide observers, on hand-made exchanges."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from faulty.harness import FIXTURES, run_kit, serving
from faulty.variants import mock

from conformance.assertions import (
    accepted,
    details_name,
    distinct_ids,
    one_id,
    rejected_with,
    replayed_or_in_use,
    same_data,
)
from conformance.contract import load_operation
from conformance.exchange import Exchange, Outgoing
from conformance.invariants import (
    channel_echoed,
    conversation_id_for_channel,
    envelope_consistent,
    error_code_for_status,
    idempotency_key_echoed,
    no_api_key,
    retry_after_valid,
    scheduled_at_not_before,
    sent_at_not_before_scheduled,
    sent_fields_match_status,
    status_matches_deferred,
    timestamps_in_utc_milliseconds,
    trace_id_unique,
)
from conformance.messages import Messages
from conformance.observers import OBSERVERS, Run, error_codes
from conformance.results import CheckFailed, CheckResult, Status
from conformance.scenarios import REGISTRY
from conformance.scenarios.conflicts import conflicting_bodies
from conformance.scenarios.methods import allow_lists, undocumented_methods
from conformance.scenarios.validation import details_probes
from conformance.settings import Settings
from conformance.spec_rules import body_validator, properties
from mock_server.domain import service
from openapi import CONTRACT_SPEC

NOW = datetime(2026, 4, 28, 15, 30, tzinfo=UTC)
OPERATION = load_operation(CONTRACT_SPEC)
SETTINGS = Settings("http://h", "sk_test_configured_key", "ag", "p")
ERROR = {"code": "VALIDATION_ERROR", "message": "m", "details": None}


def make(
    status: int = 202,
    data: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
    body: Any = None,
    key: str | None = "k1",
    headers: dict[str, str] | None = None,
    trace: str = "t1",
    auth: str | None = None,
) -> Exchange:
    request_body = json.dumps(body if body is not None else {"prospectId": "p", "message": "m"}).encode()
    request_headers = {"Idempotency-Key": key} if key else {}
    if auth:
        request_headers["Authorization"] = auth
    request = Outgoing("POST", "http://h/x", request_headers, request_body)
    envelope = {"success": status == 202, "data": data, "error": error, "traceId": trace}
    return Exchange(request, status, headers or {}, json.dumps(envelope).encode(), NOW, 0.01)


def data(**changes: Any) -> dict[str, Any]:
    return {
        "id": "a" * 24, "status": "queued", "scheduledAt": "2026-04-28T15:30:00.000Z", "sentAt": None,
        "channel": "direct_message", "conversationId": "c", "messageId": None, "idempotencyKey": "k1",
        "deferred": False, **changes,
    }  # fmt: skip


def fails(assertion: Callable[..., None], *args: Any) -> bool:
    try:
        assertion(*args, rule="r")
    except CheckFailed as failure:
        assert failure.violation.rule == "r"
        return True
    return False


def judged(name: str, exchanges: list[Exchange]) -> CheckResult:
    observer = next(observer for observer in OBSERVERS if observer.name == name)
    result = CheckResult(name, observer.rule, "observed")
    observer.judge(Run(exchanges, OPERATION, SETTINGS), result)
    return result


def test_rejected_with_needs_status_and_code() -> None:
    assert not fails(rejected_with, make(400, error=ERROR), {400, 422}, "VALIDATION_ERROR")
    assert fails(rejected_with, make(400, error={**ERROR, "code": "BAD"}), {400}, "VALIDATION_ERROR")
    assert fails(rejected_with, make(500, error=ERROR), {400, 422}, "VALIDATION_ERROR")


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


def test_details_must_name_the_field_in_words() -> None:
    named = make(400, error={**ERROR, "details": "subject: required when channel is inmail\nmessage: too long"})
    assert not fails(details_name, named, "Subject")
    assert not fails(details_name, named, "message")
    assert fails(details_name, named, "prospectId")
    assert fails(details_name, make(400, error=ERROR), "subject")  # details null names nothing
    assert fails(details_name, make(400, error={**ERROR, "details": "invalid request"}), "subject")


def test_details_probes_break_every_member_and_the_key_once() -> None:
    settings = replace(SETTINGS, conversation_id="c", inmail_prospect_id="q")
    probes = details_probes(OPERATION, Messages(settings))
    assert [probe.names for probe in probes] == [*properties(OPERATION), "Idempotency-Key"]
    validator = body_validator(OPERATION)
    assert all(not validator.is_valid(probe.body) for probe in probes[:-1])
    assert validator.is_valid(probes[-1].body) and len(probes[-1].key or "") == 256
    assert all(probe.expect == {(400, "VALIDATION_ERROR")} for probe in probes)


def test_concurrent_duplicate_outcomes() -> None:
    assert not fails(replayed_or_in_use, make(409, error={"code": "IDEMPOTENCY_KEY_IN_USE"}))
    assert fails(replayed_or_in_use, make(409, error={"code": "IDEMPOTENCY_CONFLICT"}))


@pytest.mark.parametrize(
    ("scheduled", "skew", "failing"),
    [
        ("2026-04-28T15:29:56.000Z", 5, False),
        ("2026-04-28T15:29:54.000Z", 5, True),
        ("2026-04-28T15:29:15.000Z", 60, False),  # a staging clock 45 s behind passes the default tolerance
        ("2026-04-28T15:28:59.000Z", 60, True),
        ("2026-05-01T09:00:00.000Z", 0, False),
    ],
)
def test_scheduled_at_allows_the_configured_clock_skew(scheduled: str, skew: float, failing: bool) -> None:
    assert fails(scheduled_at_not_before, make(data=data(scheduledAt=scheduled)), NOW, skew) is failing


def test_sent_at_and_echoes() -> None:
    assert fails(sent_at_not_before_scheduled, make(data=data(sentAt="2026-04-28T15:29:00.000Z")))
    assert not fails(sent_at_not_before_scheduled, make(data=data(sentAt="2026-04-28T15:30:00.000Z")))
    inmail = {"prospectId": "p", "message": "m", "channel": "inmail", "subject": "s"}
    assert fails(channel_echoed, make(data=data(), body=inmail))
    assert not fails(channel_echoed, make(data=data()))  # omitted channel means direct_message
    assert fails(idempotency_key_echoed, make(data=data(idempotencyKey=None)))
    assert not fails(idempotency_key_echoed, make(data=data(idempotencyKey=None), key=None))


def test_status_deferred_and_sent_fields_agree() -> None:
    assert not fails(status_matches_deferred, make(data=data(status="scheduled", deferred=True)))
    assert fails(status_matches_deferred, make(data=data(status="scheduled", deferred=False)))
    assert fails(status_matches_deferred, make(data=data(status="queued", deferred=True)))
    sent = data(status="sent", sentAt="2026-04-28T15:30:00.000Z", messageId="msg")
    assert not fails(status_matches_deferred, make(data={**sent, "deferred": True}))  # sent says nothing of it
    assert not fails(sent_fields_match_status, make(data=sent))
    assert fails(sent_fields_match_status, make(data={**sent, "messageId": None}))
    assert fails(sent_fields_match_status, make(data=data(messageId="msg")))  # not sent, yet a messageId


def test_timestamps_must_be_utc_with_milliseconds() -> None:
    assert not fails(timestamps_in_utc_milliseconds, make(data=data()))
    for stamp in ("2026-04-28T15:30:00Z", "2026-04-28T15:30:00.000+00:00", "2026-04-28T11:30:00.000-04:00"):
        assert fails(timestamps_in_utc_milliseconds, make(data=data(scheduledAt=stamp))), stamp
    assert fails(timestamps_in_utc_milliseconds, make(data=data(sentAt="2026-04-28T15:30:00.5Z")))


def test_conversation_id_follows_the_channel() -> None:
    given = {"prospectId": "p", "message": "m", "conversationId": "c"}
    assert not fails(conversation_id_for_channel, make(data=data(), body=given))
    assert fails(conversation_id_for_channel, make(data=data(conversationId="other"), body=given))
    assert fails(conversation_id_for_channel, make(data=data(conversationId=None)))  # direct, none given
    assert not fails(conversation_id_for_channel, make(data=data(conversationId="found")))
    inmail = {"prospectId": "p", "message": "m", "channel": "inmail", "subject": "s"}
    assert fails(conversation_id_for_channel, make(data=data(channel="inmail"), body=inmail))
    assert not fails(conversation_id_for_channel, make(data=data(channel="inmail", conversationId=None), body=inmail))


def test_envelope_consistency() -> None:
    assert not fails(envelope_consistent, make(data=data()))
    assert not fails(
        envelope_consistent, make(405, error={"code": "METHOD_NOT_ALLOWED", "message": "m", "details": "x"})
    )
    assert fails(envelope_consistent, make(400, error={**ERROR, "code": ""}))
    assert fails(envelope_consistent, make(400, error={**ERROR, "details": 3}))
    assert fails(envelope_consistent, make(data=data(), trace=""))
    assert fails(envelope_consistent, make(202, data=None))
    raw = make(400, error=ERROR)
    assert fails(envelope_consistent, replace(raw, body=raw.body.replace(b'"data": null', b'"data": {}')))
    assert fails(envelope_consistent, replace(raw, body=b"Method Not Allowed"))


def test_error_codes_come_from_the_spec() -> None:
    codes = error_codes(OPERATION)
    assert codes[400] == codes[422] == {"VALIDATION_ERROR"}
    assert codes[409] == {
        "PROSPECT_NOT_CONNECTED",
        "INMAIL_NOT_ELIGIBLE",
        "IDEMPOTENCY_CONFLICT",
        "IDEMPOTENCY_KEY_IN_USE",
    }
    assert (codes[401], codes[403], codes[429]) == ({"UNAUTHORIZED"}, {"FORBIDDEN"}, {"RATE_LIMITED"})
    assert (codes[500], codes[502]) == ({"INTERNAL_ERROR"}, {"UPSTREAM_ERROR"})
    assert 202 not in codes and 405 not in codes
    assert fails(error_code_for_status, make(429, error={**ERROR, "code": "TOO_MANY"}), codes)
    assert not fails(error_code_for_status, make(405, error={**ERROR, "code": "ANYTHING"}), codes)


def test_no_api_key_in_body_or_headers() -> None:
    keys = {"sk_test_secret_value"}
    assert fails(no_api_key, make(401, error={**ERROR, "details": "key sk_test_secret_value unknown"}), keys)
    assert fails(no_api_key, make(401, error=ERROR, headers={"www-authenticate": "sk_test_secret_value"}), keys)
    assert not fails(no_api_key, make(401, error=ERROR), keys)


def test_observer_collects_every_key_the_kit_sent() -> None:
    rejected = "sk_live_conformance_unknown_0123"
    leaking = make(401, error={**ERROR, "details": f"unknown {rejected}"}, auth=f"Token {rejected}")
    assert judged("security.api_key_not_echoed", [leaking]).status is Status.FAILED
    configured = make(403, error={**ERROR, "details": SETTINGS.api_key})
    assert judged("security.api_key_not_echoed", [configured]).status is Status.FAILED
    assert judged("security.api_key_not_echoed", [make(401, error=ERROR, auth="Bearer")]).status is Status.PASSED


def test_trace_ids_and_retry_after() -> None:
    first = make(trace="same")
    seen = {"same": first}
    assert not fails(trace_id_unique, first, seen)
    assert fails(trace_id_unique, make(trace="same"), seen)
    assert not fails(retry_after_valid, make(429, headers={"retry-after": "2"}))
    for value in (None, "0", "1.5", "soon"):
        headers: dict[str, str] = {} if value is None else {"retry-after": value}
        assert fails(retry_after_valid, make(429, headers=headers)) is True, value


FRESH = "conformance-replay-" + "0" * 32
REPLAYED = {"idempotent-replayed": "true"}


@pytest.mark.parametrize(
    ("first", "second", "status"),
    [
        ({}, REPLAYED, Status.PASSED),
        ({}, {}, Status.FAILED),  # the replay does not say so
        (REPLAYED, REPLAYED, Status.FAILED),  # the first 202 claims to be a replay
    ],
)
def test_replayed_header_marks_every_replay_and_no_original(
    first: dict[str, str], second: dict[str, str], status: Status
) -> None:
    exchanges = [make(data=data(), key=FRESH, headers=first), make(data=data(), key=FRESH, headers=second, trace="t2")]
    assert judged("idempotency.replayed_header", exchanges).status is status


def test_replayed_header_ignores_keys_an_earlier_run_may_have_bound() -> None:
    reused = make(data=data(), key="k" * 40, headers=REPLAYED)
    assert judged("idempotency.replayed_header", [reused]).count == 0
    keyless = make(data=data(idempotencyKey=None), key=None, headers=REPLAYED)
    assert judged("idempotency.replayed_header", [keyless]).status is Status.FAILED


def test_a_429_must_not_bind_the_key() -> None:
    limited = make(429, error={**ERROR, "code": "RATE_LIMITED"}, key=FRESH)
    conflict = make(409, error={**ERROR, "code": "IDEMPOTENCY_CONFLICT"}, key=FRESH, trace="t2")
    after_429 = replace(conflict, rate_limited=(limited,))
    assert judged("idempotency.rate_limited_binds_no_key", [after_429]).status is Status.FAILED
    other_body = make(data=data(), key=FRESH, body={"prospectId": "p", "message": "other"}, trace="t0")
    other_body = replace(other_body, started_at=NOW.replace(minute=0))
    legit = replace(after_429, started_at=NOW.replace(minute=59))
    assert judged("idempotency.rate_limited_binds_no_key", [other_body, legit]).status is Status.PASSED


def test_conflict_bodies_cover_every_member_and_stay_valid() -> None:
    original = {"prospectId": "prs_a", "message": "Hello there.", "conversationId": "cnv_a"}
    bodies = dict(conflicting_bodies(OPERATION, original))
    assert {"message with one inner space doubled", "message with a trailing space", "conversationId removed"} <= set(
        bodies
    )
    changed = {label.split(" ")[0] for label in bodies}
    assert changed >= {"prospectId", "message", "channel", "conversationId"}
    inmail = next(body for label, body in bodies.items() if label.startswith("channel"))
    assert inmail["channel"] == "inmail" and "subject" in inmail and "conversationId" not in inmail
    without = dict(conflicting_bodies(OPERATION, {"prospectId": "prs_a", "message": "Hi."}))
    assert any(label.startswith("conversationId added") for label in without)
    subject = dict(conflicting_bodies(OPERATION, {**inmail, "message": "Hi."}, members=("subject",)))
    assert any(label.startswith("subject changed") for label in subject)


def test_methods_probe_every_undocumented_method_and_read_allow() -> None:
    assert undocumented_methods(("POST",)) == ["GET", "PUT", "DELETE", "PATCH"]
    error = {"code": "METHOD_NOT_ALLOWED", "message": "m", "details": None}
    get = make(405, error=error, headers={"allow": "POST"})
    get = replace(get, request=replace(get.request, method="GET"))
    assert not fails(allow_lists, get, ("POST",))
    assert not fails(allow_lists, replace(get, headers={"allow": "OPTIONS, post"}), ("POST",))
    assert fails(allow_lists, replace(get, headers={}), ("POST",))
    assert fails(allow_lists, replace(get, headers={"allow": "GET, POST"}), ("POST",))
    assert fails(allow_lists, replace(get, status=404), ("POST",))


def test_the_prospect_state_scenario_runs_first() -> None:
    assert REGISTRY[0].name == "state.prospect_not_connected"


def test_a_second_run_after_the_inmail_was_sent_skips_only_that_state_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An earlier run's InMail, once sent, gives the InMail prospect a conversation: a data condition.

    The mock keeps such a prospect "not connected"; a server where the InMail's conversation counts as a
    chat (which the contract allows) then accepts a direct message to it, and the kit must not go red.
    """
    original = service._prospect

    def chat_counts(conn: Any, *where: Any) -> service.ProspectState:
        state = original(conn, *where)
        return replace(state, connected=state.connected or bool(state.conversations))

    monkeypatch.setattr(service, "_prospect", chat_counts)
    only = ("--profile", "quick", "--only", "state.*", "--only", "data.*", "--only", "idempotency.conflict_inmail")
    with serving(mock()) as base_url:
        first = run_kit(base_url, tmp_path, *only)
        httpx.post(base_url + "/__mock/clock/advance", json={"seconds": 3 * 86400}).raise_for_status()
        second = run_kit(base_url, tmp_path, *only)
    assert first.exit_code == 0, first.output
    assert re.search(r"state\.prospect_not_connected .*passed", first.output)
    assert second.exit_code == 0, second.output
    assert re.search(r"state\.prospect_not_connected .*skipped .*already has", second.output)
    assert re.search(r"idempotency\.conflict_inmail .*skipped .*already has", second.output)
    assert re.search(r"state\.inmail_not_eligible .*passed", second.output)
    assert re.search(r"state\.foreign_conversation .*passed", second.output)


def test_an_ineligible_inmail_fixture_is_skipped_and_a_403_needs_its_fixture(tmp_path: Path) -> None:
    """A 409 INMAIL_NOT_ELIGIBLE to the InMail fixture is a data condition: the check says so instead of
    passing, and the run stays green and complete; the 403 part of binds_no_key runs only with its key."""
    fixtures = {name: value for name, value in FIXTURES.items() if name != "restricted_api_key"}
    fixtures["inmail_prospect_id"] = FIXTURES["prospect_id"]  # has a chat: never eligible for an InMail
    only = ("--profile", "quick", "--only", "data.inmail_accepted", "--only", "idempotency.failed_request_binds_no_key")
    with serving(mock()) as base_url:
        run = run_kit(base_url, tmp_path, *only, fixtures=fixtures)
    assert run.exit_code == 0, run.output
    assert re.search(r"data\.inmail_accepted .*skipped .*already has a conversation", run.output)
    assert re.search(r"idempotency\.failed_request_binds_no_key .*passed .* 8 ", run.output), run.output
