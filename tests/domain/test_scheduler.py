"""scheduler.next_slot: the earliest allowed slot, as a pure function of schedule, time and day counts."""

from __future__ import annotations

import math
from datetime import date

import pytest

from mock_server.domain.clock import to_iso
from mock_server.domain.errors import NoSlotAvailable
from mock_server.domain.scheduler import SendingSchedule, next_slot

from .helpers import WED_10AM, local

NY = SendingSchedule(timezone="America/New_York")  # Mon-Fri 09:00-18:00, 100 DMs / 25 InMails, 60 s gap
EVERY_DAY_NY = SendingSchedule(timezone="America/New_York", days=("mon", "tue", "wed", "thu", "fri", "sat", "sun"))


def nothing_sent(day: date) -> int:
    return 0


def slot(now, channel="direct_message", previous=None, sent=nothing_sent, schedule=NY):
    return next_slot(schedule, now, channel, previous, sent)


def test_inside_sending_hours_the_slot_is_now_and_queued():
    result = slot(WED_10AM)
    assert result.at == WED_10AM
    assert (result.status, result.deferred, result.local_day) == ("queued", False, date(2024, 6, 12))


def test_before_opening_the_slot_is_todays_opening_and_deferred():
    result = slot(local(2024, 6, 12, 7, 30))
    assert result.at == local(2024, 6, 12, 9)
    assert (result.status, result.deferred) == ("scheduled", True)


def test_after_closing_the_slot_is_the_next_sending_days_opening():
    result = slot(local(2024, 6, 12, 18, 30))
    assert result.at == local(2024, 6, 13, 9)
    assert (result.status, result.deferred, result.local_day) == ("scheduled", True, date(2024, 6, 13))


def test_closing_time_itself_is_outside_the_window():
    assert slot(local(2024, 6, 12, 18)).at == local(2024, 6, 13, 9)


@pytest.mark.parametrize(
    "now",
    [local(2024, 6, 14, 18, 30), local(2024, 6, 15, 12), local(2024, 6, 16, 23, 59)],
    ids=["friday-evening", "saturday", "sunday-night"],
)
def test_a_weekend_moves_the_slot_to_mondays_opening(now):
    result = slot(now)
    assert result.at == local(2024, 6, 17, 9)
    assert result.deferred


def test_a_slot_is_at_least_the_gap_after_the_previous_slot():
    previous = WED_10AM + 30
    result = slot(WED_10AM, previous=previous)
    assert result.at == previous + 60
    assert not result.deferred, "a later slot in the current window is still queued"


def test_a_previous_slot_further_back_than_the_gap_does_not_delay():
    assert slot(WED_10AM, previous=WED_10AM - 3600).at == WED_10AM


def test_a_gap_that_crosses_closing_time_moves_to_the_next_opening():
    result = slot(local(2024, 6, 12, 17, 59), previous=local(2024, 6, 12, 17, 59, 30))
    assert result.at == local(2024, 6, 13, 9)
    assert result.deferred


def test_a_full_day_for_the_channel_moves_to_the_next_sending_day():
    def hundred_today(day):
        return 100 if day == date(2024, 6, 12) else 0

    result = slot(WED_10AM, sent=hundred_today)
    assert result.at == local(2024, 6, 13, 9)
    assert (result.deferred, result.local_day) == (True, date(2024, 6, 13))


def test_the_cap_applied_is_the_requested_channels_own():
    def twenty_five_today(day):
        return 25 if day == date(2024, 6, 12) else 0

    assert slot(WED_10AM, "direct_message", sent=twenty_five_today).at == WED_10AM, (
        "25 of 100 direct messages: room left"
    )
    assert slot(WED_10AM, "inmail", sent=twenty_five_today).local_day > date(2024, 6, 12), "25 of 25 InMails: full"


def test_every_day_full_for_the_whole_horizon_means_no_slot():
    with pytest.raises(NoSlotAvailable) as raised:
        slot(WED_10AM, sent=lambda day: 10**9)
    assert (raised.value.status, raised.value.code) == (500, "INTERNAL_ERROR"), "valid fixtures never get here"


@pytest.mark.parametrize(
    ("now", "expected_opening"),
    [
        # Spring forward on Sun 2024-03-10: Friday opens at 14:00Z (EST), Monday at 13:00Z (EDT).
        (local(2024, 3, 8, 7), "2024-03-08T14:00:00.000Z"),
        (local(2024, 3, 8, 19), "2024-03-11T13:00:00.000Z"),
        # Fall back on Sun 2024-11-03: Friday opens at 13:00Z (EDT), Monday at 14:00Z (EST).
        (local(2024, 11, 1, 7), "2024-11-01T13:00:00.000Z"),
        (local(2024, 11, 1, 19), "2024-11-04T14:00:00.000Z"),
    ],
)
def test_opening_stays_at_nine_local_on_both_sides_of_a_dst_change(now, expected_opening):
    assert to_iso(slot(now).at) == expected_opening


@pytest.mark.parametrize(
    ("now", "expected_opening"),
    [
        (local(2024, 3, 10, 0, 30), "2024-03-10T13:00:00.000Z"),  # 00:30 EST -> 09:00 EDT the same day
        (local(2024, 11, 3, 0, 30), "2024-11-03T14:00:00.000Z"),  # 00:30 EDT -> 09:00 EST the same day
    ],
    ids=["spring-forward-day", "fall-back-day"],
)
def test_on_the_day_of_a_dst_change_the_window_opens_at_nine_local(now, expected_opening):
    assert to_iso(slot(now, schedule=EVERY_DAY_NY).at) == expected_opening


def test_a_slot_is_rounded_up_to_a_whole_millisecond():
    result = slot(WED_10AM + 0.0004)
    assert result.at == WED_10AM + 0.001


@pytest.mark.parametrize("millis", [0, 449, 847, 999])
def test_a_slot_is_never_before_now_even_a_float_step_past_a_millisecond(millis):
    now = math.nextafter(WED_10AM + millis / 1000, math.inf)
    result = slot(now)
    assert result.at >= now, f"slot {result.at!r} is before now {now!r}"
    assert result.at == round(result.at, 3), "a whole millisecond"
    assert result.at - now < 0.001, "the nearest whole millisecond, not a later one"
