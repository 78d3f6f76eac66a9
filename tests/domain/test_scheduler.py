"""scheduler.next_slot: the earliest allowed slot, as a pure function of schedule, time and day counts."""

from __future__ import annotations

import math
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

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


EVERY_DAY = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def hours(zone: str, start: str, end: str, days: tuple[str, ...] = EVERY_DAY, gap: float = 60.0) -> SendingSchedule:
    return SendingSchedule(
        timezone=zone, days=days, start=time.fromisoformat(start), end=time.fromisoformat(end), min_gap_seconds=gap
    )


def wall(instant: float, zone: str) -> str:
    """The local wall time of an instant with its offset, as a person reads the slot."""
    return datetime.fromtimestamp(instant, tz=ZoneInfo(zone)).isoformat()


def burst(schedule: SendingSchedule, now: float, count: int) -> list[str]:
    """Queue `count` direct messages at `now`, keeping the book (previous slot, day counts) as the store does."""
    counts: dict[date, int] = {}
    previous, slots = None, []
    for _ in range(count):
        result = slot(now, previous=previous, sent=lambda day: counts.get(day, 0), schedule=schedule)
        counts[result.local_day] = counts.get(result.local_day, 0) + 1
        previous = result.at
        slots.append(wall(result.at, schedule.timezone))
    return slots


@pytest.mark.parametrize(
    ("zone", "start", "end", "gap_day", "expected_first"),
    [
        # Measured: these windows gave 03:00-03:40 local on the gap day (the 02:xx start moved past the end).
        ("America/New_York", "02:00", "02:59", date(2026, 3, 8), "2026-03-09T02:00:00-04:00"),
        ("Europe/Berlin", "02:00", "02:59", date(2026, 3, 29), "2026-03-30T02:00:00+02:00"),
        ("America/Santiago", "00:00", "00:59", date(2026, 9, 6), "2026-09-07T00:00:00-03:00"),
    ],
    ids=["new-york", "berlin", "santiago"],
)
def test_a_window_inside_the_spring_forward_gap_is_empty_that_day(zone, start, end, gap_day, expected_first):
    schedule = hours(zone, start, end)
    assert schedule.window(gap_day) == (), "no instant of that day has a wall time inside the window"
    midnight_before = local(gap_day.year, gap_day.month, gap_day.day, 0, zone=ZoneInfo(zone)) - 3600
    slots = burst(schedule, midnight_before, 41)
    assert slots[0] == expected_first
    assert all(s.startswith(f"{expected_first[:14]}") for s in slots), "every slot inside the next day's window"
    assert not any(s.startswith(gap_day.isoformat()) for s in slots)


def test_a_window_that_starts_inside_the_gap_opens_when_the_clock_jumps_past_its_start():
    schedule = hours("America/New_York", "02:30", "04:00")
    (stretch,) = schedule.window(date(2026, 3, 8))
    assert (wall(stretch[0], schedule.timezone), wall(stretch[1], schedule.timezone)) == (
        "2026-03-08T03:00:00-04:00",
        "2026-03-08T04:00:00-04:00",
    )


def test_a_window_across_the_gap_is_an_hour_shorter_in_real_time():
    (stretch,) = hours("America/New_York", "01:30", "03:30").window(date(2026, 3, 8))
    assert stretch[1] - stretch[0] == 3600


def test_a_thirty_minute_dst_gap_in_lord_howe():
    schedule = hours("Australia/Lord_Howe", "02:00", "02:45")
    (stretch,) = schedule.window(date(2026, 10, 4))
    assert wall(stretch[0], schedule.timezone) == "2026-10-04T02:30:00+11:00"
    assert stretch[1] - stretch[0] == 15 * 60
    assert hours("Australia/Lord_Howe", "02:00", "02:30").window(date(2026, 10, 4)) == ()


def test_the_repeated_hour_of_a_fall_back_day_is_inside_the_window_twice():
    schedule = hours("America/New_York", "01:00", "01:30", gap=15 * 60)
    first, second = schedule.window(date(2026, 11, 1))
    assert (wall(first[0], schedule.timezone), wall(second[0], schedule.timezone)) == (
        "2026-11-01T01:00:00-04:00",
        "2026-11-01T01:00:00-05:00",
    )
    now = local(2026, 11, 1, 1, 20)
    result = slot(now, previous=now, schedule=schedule)
    assert wall(result.at, schedule.timezone) == "2026-11-01T01:00:00-05:00", "the second 01:00, not tomorrow"
    assert (result.local_day, result.deferred) == (date(2026, 11, 1), True), "it waits through 01:30-02:00 EDT"


def test_a_fall_back_across_midnight_returns_to_the_previous_local_day():
    # Goose Bay, 2000-10-29 00:01 ADT: the clocks went back to 23:01 AST on Saturday the 28th.
    schedule = hours("America/Goose_Bay", "23:00", "23:59", days=("sat",))
    now = local(2000, 10, 29, 0, 0, 30, zone=ZoneInfo("America/Goose_Bay"))
    result = slot(now, schedule=schedule)
    assert wall(result.at, schedule.timezone) == "2000-10-28T23:01:00-04:00"
    assert result.local_day == date(2000, 10, 28), "counted on the Saturday its wall clock shows"


def test_a_day_the_zone_skipped_has_no_window():
    # Samoa moved across the date line: Thursday 2011-12-29 23:59:59 was followed by Saturday 00:00.
    schedule = hours("Pacific/Apia", "00:00", "23:59", days=("fri",))
    assert schedule.window(date(2011, 12, 30)) == ()
    result = slot(local(2011, 12, 29, 12, zone=ZoneInfo("Pacific/Apia")), schedule=schedule)
    assert wall(result.at, schedule.timezone) == "2012-01-06T00:00:00+14:00"
