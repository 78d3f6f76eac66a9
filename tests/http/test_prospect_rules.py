"""Rules that need stored data (422) and rules about the prospect's state (409)."""

from __future__ import annotations

import pytest
from helpers import assert_accepted, assert_details_name, assert_error, list_messages, post

from contract_rules import dm, inmail
from support.mock_fixtures import CONVERSATION, PROSPECT


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param(dm(prospectId="prs_nobody"), "prospectId", id="unknown_prospect"),
        pytest.param(inmail(prospectId="prs_nobody"), "prospectId", id="unknown_prospect_inmail"),
        pytest.param(dm(prospectId="prs_linus_torvalds"), "prospectId", id="prospect_of_another_group"),
        pytest.param(dm(conversationId="cnv_nobody"), "conversationId", id="unknown_conversation"),
        pytest.param(dm(conversationId="cnv_alan_turing"), "conversationId", id="conversation_of_another_prospect"),
        pytest.param(dm(conversationId="cnv_linus_torvalds"), "conversationId", id="conversation_of_another_group"),
    ],
)
def test_unknown_data_is_422(api, control, body, field):
    error = assert_error(post(api, body), 422, "VALIDATION_ERROR")
    assert_details_name(error, field)
    assert list_messages(control) == []


def test_422_for_unknown_prospect_wins_over_the_conversation_check(api):
    error = assert_error(post(api, dm(prospectId="prs_nobody", conversationId=CONVERSATION)), 422, "VALIDATION_ERROR")
    assert_details_name(error, "prospectId")


@pytest.mark.parametrize(
    "prospect",
    [
        pytest.param("prs_barbara_liskov", id="connected_without_chat"),
        pytest.param("prs_grace_hopper", id="not_connected"),
        pytest.param("prs_edsger_dijkstra", id="not_connected_inmail_ineligible"),
    ],
)
def test_direct_message_to_prospect_without_chat_is_409(api, control, prospect):
    assert_error(post(api, dm(prospectId=prospect)), 409, "PROSPECT_NOT_CONNECTED")
    assert list_messages(control) == []


@pytest.mark.parametrize(
    "prospect",
    [
        pytest.param(PROSPECT, id="has_a_conversation"),
        pytest.param("prs_alan_turing", id="has_a_conversation_2"),
        pytest.param("prs_edsger_dijkstra", id="marked_ineligible"),
    ],
)
def test_inmail_to_ineligible_prospect_is_409(api, control, prospect):
    assert_error(post(api, inmail(prospectId=prospect)), 409, "INMAIL_NOT_ELIGIBLE")
    assert list_messages(control) == []


def test_400_wins_over_422_and_409(api):
    error = assert_error(post(api, dm(prospectId="prs_nobody", message="")), 400, "VALIDATION_ERROR")
    assert_details_name(error, "message")
    assert_error(post(api, inmail(prospectId=PROSPECT, subject="")), 400, "VALIDATION_ERROR")


def test_422_wins_over_409(api):
    """An unknown conversation is 422 even for a prospect who could not get a direct message at all."""
    error = assert_error(
        post(api, dm(prospectId="prs_grace_hopper", conversationId="cnv_nobody")), 422, "VALIDATION_ERROR"
    )
    assert_details_name(error, "conversationId")


def test_eligible_targets_are_accepted(api):
    """The positive side of each rule: the existing chat is used, an InMail has no conversation yet."""
    direct = assert_accepted(post(api, dm()))
    assert (direct["channel"], direct["conversationId"]) == ("direct_message", CONVERSATION)
    explicit = assert_accepted(post(api, dm(conversationId=CONVERSATION)))
    assert explicit["conversationId"] == CONVERSATION
    mail = assert_accepted(post(api, inmail(prospectId="prs_katherine_johnson")))
    assert (mail["channel"], mail["conversationId"]) == ("inmail", None)
