"""The scheduler on the session's mock clock: ag_acme is America/New_York, Mon-Fri 09:00-18:00, gap 60 s."""

from __future__ import annotations

import copy
import re

import pytest
from helpers import (
    INMAIL_BODY,
    advance,
    assert_accepted,
    assert_error,
    assert_ok,
    fixtures,
    freeze,
    list_messages,
    post,
    replace_fixtures,
)

from contract_rules import dm, inmail
from support.mock_fixtures import GROUP, INMAIL_PROSPECT

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
WEDNESDAY_10_NY = "2026-04-29T14:00:00.000Z"  # EDT, UTC-4
THURSDAY_09_NY = "2026-04-30T13:00:00.000Z"


def assert_slot(data, scheduled_at, *, deferred):
    assert TIMESTAMP.match(data["scheduledAt"]), data
    assert data["scheduledAt"] == scheduled_at, data
    assert data["deferred"] is deferred, data
    assert data["status"] == ("scheduled" if deferred else "queued"), data
    assert (data["sentAt"], data["messageId"]) == (None, None), data


def with_caps(control, **caps):
    """Replace the session's fixtures with the demo data, ag_acme's daily caps changed."""
    document = copy.deepcopy(fixtures(control))
    [acme] = [group for group in document["accountGroups"] if group["id"] == GROUP]
    acme["schedule"]["dailyCap"].update(caps)
    replaced = replace_fixtures(control, document)
    [stored] = [group for group in replaced["accountGroups"] if group["id"] == GROUP]
    assert stored["schedule"]["dailyCap"] == acme["schedule"]["dailyCap"]


def test_freezing_a_running_clock_in_one_call_stops_it_exactly_at_now(api, control):
    """The documented call `PUT /__mock/clock {"now": X, "frozen": true}`: the clock then reads X, and a
    response accepted inside sending hours is scheduled at X, not a millisecond later."""
    clock = assert_ok(control.put("/clock", json={"now": WEDNESDAY_10_NY, "frozen": True}))
    assert (clock["now"], clock["frozen"]) == (WEDNESDAY_10_NY, True)
    assert_slot(assert_accepted(post(api)), WEDNESDAY_10_NY, deferred=False)


def test_inside_sending_hours_is_queued_now(api, control):
    freeze(control, WEDNESDAY_10_NY)
    data = assert_accepted(post(api))
    assert_slot(data, WEDNESDAY_10_NY, deferred=False)


def test_next_request_is_queued_one_gap_later(api, control):
    freeze(control, WEDNESDAY_10_NY)
    assert_slot(assert_accepted(post(api)), WEDNESDAY_10_NY, deferred=False)
    assert_slot(assert_accepted(post(api)), "2026-04-29T14:01:00.000Z", deferred=False)
    assert_slot(assert_accepted(post(api, INMAIL_BODY)), "2026-04-29T14:02:00.000Z", deferred=False)


def test_gap_counts_from_the_previous_slot_not_from_now(api, control):
    freeze(control, WEDNESDAY_10_NY)
    assert_accepted(post(api))
    advance(control, 30)
    assert_slot(assert_accepted(post(api)), "2026-04-29T14:01:00.000Z", deferred=False)
    advance(control, 120)  # now 14:02:30, more than a gap after the 14:01 slot
    assert_slot(assert_accepted(post(api)), "2026-04-29T14:02:30.000Z", deferred=False)


@pytest.mark.parametrize(
    ("now", "slot"),
    [
        pytest.param("2026-04-30T00:00:00.000Z", THURSDAY_09_NY, id="wednesday_20h_to_thursday_09h"),
        pytest.param("2026-04-29T11:00:00.000Z", "2026-04-29T13:00:00.000Z", id="wednesday_07h_to_09h_same_day"),
        pytest.param("2026-04-29T22:00:00.000Z", THURSDAY_09_NY, id="wednesday_18h_end_is_exclusive"),
        pytest.param("2026-05-02T14:00:00.000Z", "2026-05-04T13:00:00.000Z", id="saturday_to_monday_09h"),
        pytest.param("2026-05-03T23:30:00.000Z", "2026-05-04T13:00:00.000Z", id="sunday_19h30_to_monday"),
        pytest.param("2026-05-01T23:00:00.000Z", "2026-05-04T13:00:00.000Z", id="friday_19h_to_monday"),
        pytest.param("2026-01-17T01:00:00.000Z", "2026-01-19T14:00:00.000Z", id="winter_time_friday_20h_est"),
        pytest.param("2026-03-07T17:00:00.000Z", "2026-03-09T13:00:00.000Z", id="over_the_dst_change"),
    ],
)
def test_outside_sending_hours_is_deferred_to_the_next_window(api, control, now, slot):
    freeze(control, now)
    assert_slot(assert_accepted(post(api)), slot, deferred=True)
    assert_slot(assert_accepted(post(api, INMAIL_BODY)), slot.replace(":00:00.", ":01:00."), deferred=True)


def test_window_start_is_inclusive(api, control):
    freeze(control, "2026-04-29T13:00:00.000Z")  # Wednesday 09:00 New York
    assert_slot(assert_accepted(post(api)), "2026-04-29T13:00:00.000Z", deferred=False)


def test_gap_that_spills_past_the_window_defers_to_the_next_day(api, control):
    freeze(control, "2026-04-29T21:59:30.000Z")  # Wednesday 17:59:30 New York
    assert_slot(assert_accepted(post(api)), "2026-04-29T21:59:30.000Z", deferred=False)
    assert_slot(assert_accepted(post(api)), THURSDAY_09_NY, deferred=True)
    assert_slot(assert_accepted(post(api)), "2026-04-30T13:01:00.000Z", deferred=True)


def test_daily_direct_message_cap_defers_to_the_next_day(api, control):
    freeze(control, WEDNESDAY_10_NY)
    with_caps(control, direct_message=2)
    assert_slot(assert_accepted(post(api)), WEDNESDAY_10_NY, deferred=False)
    assert_slot(assert_accepted(post(api)), "2026-04-29T14:01:00.000Z", deferred=False)
    assert_slot(assert_accepted(post(api)), THURSDAY_09_NY, deferred=True)
    assert_slot(assert_accepted(post(api)), "2026-04-30T13:01:00.000Z", deferred=True)
    assert_slot(assert_accepted(post(api)), "2026-05-01T13:00:00.000Z", deferred=True)
    statuses = [message["status"] for message in list_messages(control)]
    assert statuses.count("scheduled") == 3, statuses


def test_daily_cap_is_per_channel(api, control):
    """With room for one InMail a day, the second InMail waits for tomorrow; direct messages do not."""
    freeze(control, WEDNESDAY_10_NY)
    with_caps(control, inmail=1)
    assert_slot(assert_accepted(post(api, dm())), WEDNESDAY_10_NY, deferred=False)
    assert_slot(assert_accepted(post(api, INMAIL_BODY)), "2026-04-29T14:01:00.000Z", deferred=False)
    assert_slot(assert_accepted(post(api, dm())), "2026-04-29T14:02:00.000Z", deferred=False)
    second_inmail = assert_accepted(post(api, inmail(prospectId="prs_katherine_johnson")))
    assert_slot(second_inmail, THURSDAY_09_NY, deferred=True)


def test_message_is_sent_when_the_clock_passes_its_slot(api, control):
    freeze(control, "2026-04-30T00:00:00.000Z")  # Wednesday 20:00 New York
    data = assert_accepted(post(api))
    assert_slot(data, THURSDAY_09_NY, deferred=True)
    assert [m["id"] for m in list_messages(control, status="scheduled")] == [data["id"]]
    assert list_messages(control, status="sent") == []
    assert advance(control, 13 * 3600 - 1)["sent"] == 0
    assert list_messages(control, status="sent") == []
    clock = advance(control, 2)
    assert (clock["now"], clock["sent"]) == ("2026-04-30T13:00:01.000Z", 1)
    [sent] = list_messages(control, status="sent")
    assert (sent["id"], sent["status"], sent["channel"]) == (data["id"], "sent", "direct_message")
    assert sent["sentAt"] == sent["scheduledAt"] == THURSDAY_09_NY
    assert isinstance(sent["messageId"], str) and sent["messageId"]
    assert list_messages(control, status="scheduled") == []


def test_queued_message_is_sent_at_its_slot_and_later_ones_wait(api, control):
    freeze(control, WEDNESDAY_10_NY)
    first = assert_accepted(post(api))
    second = assert_accepted(post(api))
    advance(control, 30)
    assert [m["id"] for m in list_messages(control, status="sent")] == [first["id"]]
    assert [m["id"] for m in list_messages(control, status="queued")] == [second["id"]]
    advance(control, 30)
    assert {m["id"] for m in list_messages(control, status="sent")} == {first["id"], second["id"]}


def test_sent_inmail_makes_the_prospect_ineligible_for_another(api, control):
    freeze(control, WEDNESDAY_10_NY)
    assert_accepted(post(api, INMAIL_BODY))
    advance(control, 1)
    [sent] = list_messages(control, status="sent")
    assert sent["channel"] == "inmail" and sent["messageId"]
    assert_error(post(api, inmail(message="Following up")), 409, "INMAIL_NOT_ELIGIBLE")
    [acme] = [group for group in fixtures(control)["accountGroups"] if group["id"] == GROUP]
    [grace] = [prospect for prospect in acme["prospects"] if prospect["id"] == INMAIL_PROSPECT]
    assert grace["conversations"], "a sent InMail creates the prospect's conversation"


def test_scheduled_inmail_keeps_the_prospect_eligible_until_sent(api, control):
    freeze(control, "2026-04-30T00:00:00.000Z")
    assert_accepted(post(api, INMAIL_BODY))
    assert_accepted(post(api, inmail(message="A second thought")))
