"""Idempotency-Key: replay, conflict, canonical bodies, what binds a key, scope and 24-hour retention."""

from __future__ import annotations

import json

from helpers import (
    DM_BODY,
    INMAIL_BODY,
    add_fault,
    advance,
    assert_accepted,
    assert_error,
    bearer,
    envelope,
    freeze,
    group_path,
    list_messages,
    post,
)

from contract_rules import dm, inmail
from support.mock_fixtures import GLOBEX_KEY, OTHER_GROUP

WEDNESDAY_10_NY = "2026-04-29T14:00:00.000Z"
LINUS = {"prospectId": "prs_linus_torvalds", "message": "Hallo Linus"}


def test_replay_returns_the_original_data_with_a_new_trace_id(api, control):
    first = post(api, key="retry-1")
    data = assert_accepted(first)
    assert "idempotent-replayed" not in first.headers
    assert data["idempotencyKey"] == "retry-1"
    replay = post(api, key="retry-1")
    assert assert_accepted(replay) == data
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert envelope(replay)["traceId"] != envelope(first)["traceId"]
    assert len(list_messages(control)) == 1


def test_every_replay_is_marked_and_identical(api, control):
    data = assert_accepted(post(api, key="retry-n"))
    for _ in range(3):
        replay = post(api, key="retry-n")
        assert assert_accepted(replay) == data
        assert replay.headers.get("Idempotent-Replayed") == "true"
    assert len(list_messages(control)) == 1


def test_reordered_members_and_white_space_still_replay(api, control):
    data = assert_accepted(post(api, content=json.dumps(DM_BODY).encode(), key="canonical"))
    reordered = dict(reversed(list(DM_BODY.items())))
    spaced = json.dumps(reordered, indent=4, separators=(" ,  ", " :  ")).encode() + b"\n\n"
    replay = post(api, content=spaced, key="canonical")
    assert assert_accepted(replay) == data
    assert replay.headers.get("Idempotent-Replayed") == "true"
    escaped = json.dumps(DM_BODY, ensure_ascii=True).replace("T", "\\u0054").encode()
    assert assert_accepted(post(api, content=escaped, key="canonical")) == data
    assert len(list_messages(control)) == 1


def test_reordered_inmail_replays(api, control):
    data = assert_accepted(post(api, INMAIL_BODY, key="canonical-inmail"))
    reordered = {key: INMAIL_BODY[key] for key in sorted(INMAIL_BODY, reverse=True)}
    replay = post(api, reordered, key="canonical-inmail")
    assert assert_accepted(replay) == data
    assert replay.headers.get("Idempotent-Replayed") == "true"


def test_omitted_channel_equals_explicit_direct_message(api, control):
    data = assert_accepted(post(api, dm(), key="default-channel"))
    replay = post(api, dm(channel="direct_message"), key="default-channel")
    assert assert_accepted(replay) == data
    assert replay.headers.get("Idempotent-Replayed") == "true"
    # And the other way round, in a second key.
    other = assert_accepted(post(api, dm(channel="direct_message"), key="explicit-channel"))
    assert assert_accepted(post(api, dm(), key="explicit-channel")) == other
    assert len(list_messages(control)) == 2


def test_different_body_is_409_conflict_and_schedules_nothing(api, control):
    data = assert_accepted(post(api, key="conflict"))
    different = [dm(message="Something else"), dm(prospectId="prs_alan_turing"), inmail()]
    for body in different:
        response = post(api, body, key="conflict")
        assert_error(response, 409, "IDEMPOTENCY_CONFLICT")
        assert "idempotent-replayed" not in response.headers
    assert [message["id"] for message in list_messages(control)] == [data["id"]]
    assert assert_accepted(post(api, key="conflict")) == data, "the key still replays its original body"


def test_conflict_on_extra_member(api, control):
    assert_accepted(post(api, dm(), key="extra"))
    assert_error(post(api, dm(conversationId="cnv_ada_lovelace"), key="extra"), 409, "IDEMPOTENCY_CONFLICT")
    assert len(list_messages(control)) == 1


def test_invalid_body_with_used_key_is_400_not_409(api):
    """Request shape (400) is checked before idempotency."""
    assert_accepted(post(api, key="shape-first"))
    assert_error(post(api, dm(message=""), key="shape-first"), 400, "VALIDATION_ERROR")


def test_failed_422_does_not_bind_the_key(api, control):
    assert_error(post(api, dm(prospectId="prs_nobody"), key="fix-me"), 422, "VALIDATION_ERROR")
    fixed = post(api, dm(), key="fix-me")
    data = assert_accepted(fixed)
    assert "idempotent-replayed" not in fixed.headers
    assert assert_accepted(post(api, dm(), key="fix-me")) == data
    assert len(list_messages(control)) == 1


def test_failed_400_and_409_do_not_bind_the_key(api, control):
    assert_error(post(api, dm(message=" "), key="fix-400"), 400, "VALIDATION_ERROR")
    assert "idempotent-replayed" not in post(api, dm(), key="fix-400").headers
    assert_error(post(api, dm(prospectId="prs_barbara_liskov"), key="fix-409"), 409, "PROSPECT_NOT_CONNECTED")
    fixed = post(api, dm(), key="fix-409")
    assert_accepted(fixed)
    assert "idempotent-replayed" not in fixed.headers
    assert len(list_messages(control)) == 2


def test_a_429_does_not_bind_the_key(api, control):
    add_fault(control, status=429, count=1)
    assert_error(post(api, dm(message="first try"), key="limited"), 429, "RATE_LIMITED")
    retried = post(api, dm(message="a different body"), key="limited")
    data = assert_accepted(retried)
    assert "idempotent-replayed" not in retried.headers
    assert [message["id"] for message in list_messages(control)] == [data["id"]]


def test_keys_are_scoped_per_account_group(api, control):
    acme = assert_accepted(post(api, key="shared-key"))
    globex_response = post(api, LINUS, key="shared-key", path=group_path(OTHER_GROUP), headers=bearer(GLOBEX_KEY))
    globex = assert_accepted(globex_response)
    assert "idempotent-replayed" not in globex_response.headers
    assert globex["id"] != acme["id"]
    assert assert_accepted(post(api, key="shared-key")) == acme
    globex_replay = post(api, LINUS, key="shared-key", path=group_path(OTHER_GROUP), headers=bearer(GLOBEX_KEY))
    assert assert_accepted(globex_replay) == globex
    assert len(list_messages(control)) == 1
    assert len(list_messages(control, OTHER_GROUP)) == 1


def test_key_is_kept_24_hours_by_the_mock_clock(api, control):
    freeze(control, WEDNESDAY_10_NY)
    first = assert_accepted(post(api, dm(), key="day-old"))
    advance(control, 86_399)
    assert_error(post(api, dm(message="new body"), key="day-old"), 409, "IDEMPOTENCY_CONFLICT")
    assert assert_accepted(post(api, dm(), key="day-old")) == first
    advance(control, 1)
    later = post(api, dm(message="new body"), key="day-old")
    data = assert_accepted(later)
    assert "idempotent-replayed" not in later.headers
    assert data["id"] != first["id"]
    assert data["idempotencyKey"] == "day-old"


def test_expired_key_with_the_same_body_schedules_again(api, control):
    freeze(control, WEDNESDAY_10_NY)
    first = assert_accepted(post(api, key="expires"))
    advance(control, 86_400)
    again = post(api, key="expires")
    assert assert_accepted(again)["id"] != first["id"]
    assert "idempotent-replayed" not in again.headers
    assert len(list_messages(control)) == 2


def test_keyless_requests_each_schedule_a_new_response(api, control):
    ids = [assert_accepted(post(api))["id"] for _ in range(3)]
    assert len(set(ids)) == 3
    assert all(len(i) == 24 and all(c in "0123456789abcdef" for c in i) for i in ids), ids
    assert sorted(message["id"] for message in list_messages(control)) == sorted(ids)


def test_distinct_keys_schedule_distinct_responses(api, control):
    first = assert_accepted(post(api, key="key-a"))
    second = assert_accepted(post(api, key="key-b"))
    assert first["id"] != second["id"]
    assert (first["idempotencyKey"], second["idempotencyKey"]) == ("key-a", "key-b")


def test_keys_are_case_sensitive(api, control):
    assert_accepted(post(api, key="Retry-Case"))
    other = post(api, dm(message="other"), key="retry-case")
    assert_accepted(other)
    assert "idempotent-replayed" not in other.headers


def test_replay_after_the_message_was_sent_returns_the_original_data(api, control):
    freeze(control, WEDNESDAY_10_NY)
    data = assert_accepted(post(api, key="sent-later"))
    assert (data["status"], data["sentAt"], data["messageId"]) == ("queued", None, None)
    assert advance(control, 120)["now"] == "2026-04-29T14:02:00.000Z"
    [stored] = list_messages(control, status="sent")
    assert stored["id"] == data["id"]
    replay = post(api, key="sent-later")
    assert assert_accepted(replay) == data
    assert replay.headers.get("Idempotent-Replayed") == "true"


def test_replay_of_a_sent_inmail_is_not_a_409(api, control):
    """Idempotency runs before the prospect-state rules: the InMail made Grace ineligible, the replay still works."""
    freeze(control, WEDNESDAY_10_NY)
    data = assert_accepted(post(api, INMAIL_BODY, key="inmail-once"))
    advance(control, 60)
    assert_error(post(api, INMAIL_BODY), 409, "INMAIL_NOT_ELIGIBLE")
    replay = post(api, INMAIL_BODY, key="inmail-once")
    assert assert_accepted(replay) == data
    assert replay.headers.get("Idempotent-Replayed") == "true"
