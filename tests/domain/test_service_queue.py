"""service.queue_response on the demo data: idempotency, 422 unknown data, 409 prospect state, the 202 data."""

from __future__ import annotations

import re

import pytest

from mock_server.domain.clock import to_iso
from mock_server.domain.errors import IdempotencyConflict, InmailNotEligible, ProspectNotConnected, UnknownData

from .helpers import DM, INMAIL, OTHER_GROUP, WED_10AM, listed, queue


def test_a_direct_message_in_sending_hours_is_queued_now(store):
    data = queue(store, DM, "k1").data
    assert re.fullmatch(r"[0-9a-f]{24}", data["id"])
    assert data == {
        "id": data["id"],
        "status": "queued",
        "scheduledAt": to_iso(WED_10AM),
        "sentAt": None,
        "channel": "direct_message",
        "conversationId": "cnv_ada_lovelace",
        "messageId": None,
        "idempotencyKey": "k1",
        "deferred": False,
    }


def test_a_retry_with_the_same_key_and_body_replays_the_same_data(store):
    first = queue(store, DM, "k1")
    again = queue(store, {"message": DM["message"], "channel": "direct_message", "prospectId": DM["prospectId"]}, "k1")
    assert (first.replayed, again.replayed) == (False, True)
    assert again.data == first.data


def test_a_replay_schedules_nothing_new(store):
    queue(store, DM, "k1")
    queue(store, DM, "k1")
    assert len(listed(store)) == 1


def test_the_same_key_with_another_body_conflicts_and_schedules_nothing(store):
    queue(store, DM, "k1")
    with pytest.raises(IdempotencyConflict):
        queue(store, {**DM, "message": "a different message"}, "k1")
    assert [m["message"] for m in listed(store)] == [DM["message"]]


def test_a_failed_request_binds_no_key_so_a_fixed_retry_succeeds(store):
    with pytest.raises(UnknownData):
        queue(store, {**DM, "prospectId": "prs_nobody"}, "k1")
    fixed = queue(store, DM, "k1")
    assert not fixed.replayed
    assert fixed.data["idempotencyKey"] == "k1"
    assert len(listed(store)) == 1


def test_without_a_key_every_request_schedules_a_new_response(store):
    first, second = queue(store, DM).data, queue(store, DM).data
    assert first["id"] != second["id"]
    assert second["idempotencyKey"] is None
    assert len(listed(store)) == 2


def test_requests_without_a_key_respect_the_groups_gap(store):
    first, second = queue(store, DM).data, queue(store, DM).data
    assert (first["scheduledAt"], second["scheduledAt"]) == (to_iso(WED_10AM), to_iso(WED_10AM + 60))


@pytest.mark.parametrize(
    "body",
    [
        {**DM, "prospectId": "prs_nobody"},
        {**DM, "prospectId": "prs_linus_torvalds"},  # exists, but in ag_globex
        {**DM, "conversationId": "cnv_alan_turing"},  # another prospect's conversation
        {**DM, "conversationId": "cnv_linus_torvalds"},  # a conversation of another group
        {**DM, "conversationId": "cnv_nowhere"},
    ],
    ids=[
        "unknown-prospect",
        "prospect-of-other-group",
        "other-prospects-conversation",
        "other-groups-conversation",
        "unknown-conversation",
    ],
)
def test_data_unknown_to_the_account_group_is_a_422(store, body):
    with pytest.raises(UnknownData) as raised:
        queue(store, body)
    assert (raised.value.status, raised.value.code) == (422, "VALIDATION_ERROR")
    assert listed(store) == []


@pytest.mark.parametrize("prospect", ["prs_grace_hopper", "prs_barbara_liskov"], ids=["not-connected", "no-chat"])
def test_a_direct_message_needs_a_connected_prospect_with_a_chat(store, prospect):
    with pytest.raises(ProspectNotConnected) as raised:
        queue(store, {**DM, "prospectId": prospect})
    assert (raised.value.status, raised.value.code) == (409, "PROSPECT_NOT_CONNECTED")


@pytest.mark.parametrize(
    "prospect", ["prs_ada_lovelace", "prs_edsger_dijkstra"], ids=["has-conversation", "marked-ineligible"]
)
def test_an_inmail_needs_an_eligible_prospect_without_a_conversation(store, prospect):
    with pytest.raises(InmailNotEligible) as raised:
        queue(store, {**INMAIL, "prospectId": prospect})
    assert (raised.value.status, raised.value.code) == (409, "INMAIL_NOT_ELIGIBLE")


def test_unknown_data_is_reported_before_the_prospects_state(store):
    with pytest.raises(UnknownData):
        queue(store, {**INMAIL, "prospectId": "prs_ada_lovelace", "conversationId": "cnv_alan_turing"})


def test_a_direct_message_without_conversation_uses_the_prospects_own(store):
    data = queue(store, {"prospectId": "prs_alan_turing", "message": "Hello Alan"}).data
    assert data["conversationId"] == "cnv_alan_turing"


def test_a_direct_message_echoes_the_conversation_it_names(store):
    assert queue(store, {**DM, "conversationId": "cnv_ada_lovelace"}).data["conversationId"] == "cnv_ada_lovelace"


def test_an_inmail_has_no_conversation_yet(store):
    data = queue(store, INMAIL).data
    assert (data["channel"], data["conversationId"], data["status"]) == ("inmail", None, "queued")


def test_an_inmail_stores_its_subject_and_message(store):
    queue(store, INMAIL)
    [stored] = listed(store)
    assert (stored["subject"], stored["message"], stored["prospectId"]) == ("Hello", "Hi Grace", "prs_grace_hopper")


def test_the_other_account_group_schedules_in_its_own_time_zone(store):
    # 10:00 in New York is 16:00 in Berlin: inside ag_globex's 08:00-17:00 window.
    data = queue(store, {"prospectId": "prs_linus_torvalds", "message": "Hallo"}, group=OTHER_GROUP).data
    assert (data["status"], data["scheduledAt"]) == ("queued", to_iso(WED_10AM))
