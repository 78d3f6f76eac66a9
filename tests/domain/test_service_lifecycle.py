"""After acceptance: sending when the mock clock reaches the slot, key expiry, caps, groups and sessions."""

from __future__ import annotations

import copy
import re

import pytest

from mock_server.domain.clock import to_iso
from mock_server.domain.errors import IdempotencyConflict, InmailNotEligible
from mock_server.domain.fixtures import load_fixtures, parse_fixtures
from mock_server.domain.idempotency import RETENTION_SECONDS
from mock_server.domain.sessions import replace_fixtures

from .helpers import DM, GROUP, INMAIL, OTHER_GROUP, SESSION, WED_10AM, advance, freeze, listed, local, queue, send_due

LINUS = {"prospectId": "prs_linus_torvalds", "message": "Hallo Linus"}


def test_a_response_is_sent_when_the_clock_reaches_its_slot(store):
    data = queue(store, DM).data
    advance(store, 1)
    assert send_due(store) == 1
    [sent] = listed(store)
    assert (sent["id"], sent["status"]) == (data["id"], "sent")
    assert sent["sentAt"] == sent["scheduledAt"] == data["scheduledAt"]
    assert re.fullmatch(r"[0-9a-f]{24}", sent["messageId"])


def test_a_response_is_not_sent_before_its_slot(store):
    freeze(store, local(2024, 6, 12, 7))
    data = queue(store, DM).data
    assert (data["status"], data["scheduledAt"]) == ("scheduled", to_iso(local(2024, 6, 12, 9)))
    advance(store, 2 * 3600 - 1)
    assert send_due(store) == 0
    assert [m["status"] for m in listed(store)] == ["scheduled"]


def test_a_sent_inmail_opens_the_prospects_conversation(store):
    queue(store, INMAIL)
    advance(store, 1)
    send_due(store)
    [sent] = listed(store)
    assert sent["conversationId"] is not None
    assert sent["conversationId"].startswith("cnv_")


def test_after_an_inmail_is_sent_the_prospect_is_no_longer_inmail_eligible(store):
    queue(store, INMAIL)
    advance(store, 1)
    send_due(store)
    with pytest.raises(InmailNotEligible):
        queue(store, {**INMAIL, "message": "A second InMail"})


def test_a_queued_request_sends_what_is_due_first(store):
    queue(store, INMAIL)
    advance(store, 120)
    with pytest.raises(InmailNotEligible):
        queue(store, {**INMAIL, "message": "A second InMail"})


def test_a_replay_after_sending_returns_the_original_202_data(store):
    first = queue(store, DM, "k1").data
    advance(store, 1)
    send_due(store)
    again = queue(store, DM, "k1")
    assert again.replayed
    assert again.data == first
    assert again.data["sentAt"] is None


def test_a_key_is_still_bound_just_before_24_hours_of_mock_clock(store):
    queue(store, DM, "k1")
    advance(store, RETENTION_SECONDS - 1)
    with pytest.raises(IdempotencyConflict):
        queue(store, {**DM, "message": "another"}, "k1")


def test_a_key_is_free_again_after_24_hours_of_mock_clock(store):
    first = queue(store, DM, "k1").data
    advance(store, RETENTION_SECONDS)
    reused = queue(store, {**DM, "message": "another"}, "k1")
    assert not reused.replayed
    assert reused.data["id"] != first["id"]


def test_the_same_key_in_two_account_groups_never_interacts(store):
    acme = queue(store, DM, "shared").data
    globex = queue(store, LINUS, "shared", group=OTHER_GROUP)
    assert not globex.replayed, "a key bound in ag_acme must not conflict in ag_globex"
    assert queue(store, DM, "shared").data == acme
    assert queue(store, LINUS, "shared", group=OTHER_GROUP).data == globex.data


def test_account_groups_keep_separate_gaps(store):
    queue(store, DM)
    globex = queue(store, LINUS, group=OTHER_GROUP).data
    assert globex["scheduledAt"] == to_iso(WED_10AM), "ag_acme's previous slot must not delay ag_globex"


def test_sessions_do_not_share_keys(store):
    queue(store, DM, "k1", session="s1")
    freeze(store, WED_10AM, session="s2")
    other = queue(store, {**DM, "message": "another"}, "k1", session="s2")
    assert not other.replayed


def test_sessions_do_not_share_scheduled_responses(store):
    queue(store, DM, session="s1")
    freeze(store, WED_10AM, session="s2")
    assert listed(store, session="s2") == []


def test_sessions_do_not_share_conversations_opened_by_inmails(store):
    queue(store, INMAIL, session="s1")
    advance(store, 1, session="s1")
    send_due(store, session="s1")
    freeze(store, WED_10AM + 1, session="s2")
    assert queue(store, INMAIL, session="s2").data["channel"] == "inmail", "Grace is still eligible in s2"


def test_sessions_have_their_own_clocks(store):
    freeze(store, local(2024, 6, 12, 7), session="s2")
    assert queue(store, DM, session="s1").data["status"] == "queued"
    assert queue(store, DM, session="s2").data["status"] == "scheduled"


@pytest.fixture
def one_inmail_a_day(store):
    """ag_acme with a daily cap of one InMail (100 direct messages), in SESSION."""
    document = copy.deepcopy(load_fixtures().document)
    acme = next(g for g in document["accountGroups"] if g["id"] == GROUP)
    acme["schedule"]["dailyCap"] = {"direct_message": 100, "inmail": 1}
    with store.transaction() as conn:
        replace_fixtures(conn, SESSION, parse_fixtures(document))
    return store


def test_a_second_inmail_over_the_days_cap_moves_to_the_next_day(one_inmail_a_day):
    queue(one_inmail_a_day, INMAIL)
    data = queue(one_inmail_a_day, {**INMAIL, "prospectId": "prs_katherine_johnson"}).data
    assert (data["status"], data["deferred"]) == ("scheduled", True)
    assert data["scheduledAt"] == to_iso(local(2024, 6, 13, 9))


def test_a_full_inmail_day_does_not_hold_back_direct_messages(one_inmail_a_day):
    queue(one_inmail_a_day, INMAIL)
    data = queue(one_inmail_a_day, DM).data
    assert (data["status"], data["scheduledAt"]) == ("queued", to_iso(WED_10AM + 60))


def test_a_response_deferred_by_a_cap_holds_back_later_ones_of_the_group(one_inmail_a_day):
    queue(one_inmail_a_day, INMAIL)
    queue(one_inmail_a_day, {**INMAIL, "prospectId": "prs_katherine_johnson"})  # Thursday 09:00
    data = queue(one_inmail_a_day, DM).data
    assert data["scheduledAt"] == to_iso(local(2024, 6, 13, 9, 1)), "FIFO: at least the gap after the previous slot"
    assert data["deferred"]
