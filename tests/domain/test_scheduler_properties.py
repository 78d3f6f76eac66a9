"""scheduler.next_slot as a property: in any IANA zone, around any DST change, no slot is ever outside the
window, before the gap, over the cap, before `now` or out of order.

Each example simulates an account group's book (its previous slot and per-day counts per channel) over a
sequence of messages, as MessageBook does, and checks every slot against an oracle that knows nothing of the
scheduler's stretches: the slot's local wall time, read back with `datetime.fromtimestamp`.
"""

from __future__ import annotations

import math
import zoneinfo
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import lru_cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_server.domain.scheduler import WEEKDAYS, SendingSchedule, next_slot

NAMED_ZONES = (
    "America/New_York",
    "Europe/Berlin",
    "America/Santiago",  # fall-back crosses midnight: 24:00 -> 23:00 of the day before
    "Australia/Lord_Howe",  # a 30-minute DST change
    "Asia/Kathmandu",  # +05:45, and a 15-minute change in 1986
    "Pacific/Apia",  # skipped 2011-12-30 entirely
    "America/St_Johns",  # -03:30 with DST
    "UTC",
)
ALL_ZONES = tuple(sorted(zoneinfo.available_timezones()))
CHANNELS = ("direct_message", "inmail")
FIRST_YEAR, LAST_YEAR = 1970, 8999  # the mock clock's range


def _offset(zone: zoneinfo.ZoneInfo, instant: int) -> float:
    offset = datetime.fromtimestamp(instant, tz=zone).utcoffset()
    assert offset is not None
    return offset.total_seconds()


@lru_cache(maxsize=1024)
def transitions(zone_name: str, year: int) -> tuple[int, ...]:
    """The instants of `year` where the zone's UTC offset changes, by an hourly scan and bisection."""
    zone = zoneinfo.ZoneInfo(zone_name)
    start = int(datetime(year, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime(year + 1, 1, 1, tzinfo=UTC).timestamp())
    found = []
    for before in range(start, end, 3600):
        after = before + 3600
        if _offset(zone, before) != _offset(zone, after):
            while after - before > 1:
                middle = (before + after) // 2
                before, after = (middle, after) if _offset(zone, middle) == _offset(zone, before) else (before, middle)
            found.append(after)
    return tuple(found)


@dataclass(frozen=True)
class Scenario:
    schedule: SendingSchedule
    now: float
    steps: tuple[tuple[float, str], ...]  # (seconds the clock moves before the message, channel)


def minutes(count: int) -> time:
    return time(count // 60, count % 60)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    zone_name = draw(st.one_of(st.sampled_from(NAMED_ZONES), st.sampled_from(ALL_ZONES)))
    zone = zoneinfo.ZoneInfo(zone_name)
    year = draw(st.one_of(st.integers(FIRST_YEAR, 2040), st.sampled_from((2100, 2500, LAST_YEAR))))
    changes = transitions(zone_name, year)
    if changes and draw(st.integers(0, 9)) > 0:
        change = draw(st.sampled_from(changes))
        now = change + draw(st.integers(-3 * 86400_000, 3 * 86400_000)) / 1000
        # Windows near the change's wall time land inside the gap or the repeated hour.
        wall = datetime.fromtimestamp(change - 1, tz=zone)
        start = max(0, min(1438, wall.hour * 60 + wall.minute + draw(st.integers(-90, 90))))
        length = draw(st.integers(1, 150))
    else:
        first = datetime(year, 1, 1, tzinfo=UTC).timestamp()
        now = first + draw(st.integers(0, 364 * 86400_000)) / 1000
        start = draw(st.integers(0, 1438))
        length = draw(st.integers(1, 1439))
    end = min(1439, start + length)
    days = draw(st.sets(st.sampled_from(WEEKDAYS), min_size=1))
    caps = (("direct_message", draw(st.integers(1, 5))), ("inmail", draw(st.integers(1, 5))))
    gap = draw(st.one_of(st.sampled_from((0.0, 60.0, 3600.0, 86400.0)), st.floats(0, 86400, allow_nan=False)))
    schedule = SendingSchedule(
        timezone=zone_name,
        days=tuple(d for d in WEEKDAYS if d in days),
        start=minutes(start),
        end=minutes(end),
        daily_cap=caps,
        min_gap_seconds=gap,
    )
    moves = st.one_of(st.just(0.0), st.integers(0, 6 * 3600_000).map(lambda ms: ms / 1000))
    steps = draw(st.lists(st.tuples(moves, st.sampled_from(CHANNELS)), min_size=1, max_size=12))
    return Scenario(schedule, now, tuple(steps))


class Oracle:
    """What the contract says about one instant, read from the wall clock alone."""

    def __init__(self, schedule: SendingSchedule) -> None:
        self.schedule = schedule
        self.zone = zoneinfo.ZoneInfo(schedule.timezone)

    def local(self, instant: float) -> datetime:
        return datetime.fromtimestamp(instant, tz=self.zone)

    def in_window(self, instant: float) -> bool:
        local = self.local(instant)
        in_hours = self.schedule.start <= local.time() < self.schedule.end
        return in_hours and WEEKDAYS[local.weekday()] in self.schedule.days

    def usable(self, instant: float, channel: str, counts: Counter[tuple[date, str]]) -> bool:
        day = self.local(instant).date()
        return self.in_window(instant) and counts[(day, channel)] < self.schedule.cap(channel)


def whole_millisecond_at_or_after(instant: float) -> float:
    millis = math.ceil(instant * 1000)
    while millis / 1000 < instant:
        millis += 1
    return millis / 1000


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_no_slot_is_outside_the_window_before_the_gap_or_over_the_cap(scenario: Scenario) -> None:
    schedule, oracle = scenario.schedule, Oracle(scenario.schedule)
    counts: Counter[tuple[date, str]] = Counter()
    previous: float | None = None
    now = scenario.now
    for move, channel in scenario.steps:
        now += move
        slot = next_slot(schedule, now, channel, previous, lambda day, ch=channel: counts[(day, ch)])
        local = oracle.local(slot.at)
        seen = f"slot {local.isoformat()} for now {oracle.local(now).isoformat()}"

        assert slot.at >= now, seen
        assert previous is None or slot.at >= previous + schedule.min_gap_seconds, f"{seen}: inside the gap"
        assert oracle.in_window(slot.at), f"{seen}: outside {schedule.start}-{schedule.end} on {schedule.days}"
        assert slot.local_day == local.date(), f"{seen}: counted on {slot.local_day}"
        assert counts[(slot.local_day, channel)] < schedule.cap(channel), f"{seen}: over the {channel} cap"

        lower = whole_millisecond_at_or_after(
            now if previous is None else max(now, previous + schedule.min_gap_seconds)
        )
        if oracle.usable(lower, channel, counts):
            assert slot.at == lower, f"{seen}: {oracle.local(lower).isoformat()} was allowed and earlier"
        else:
            assert not oracle.usable(slot.at - 0.001, channel, counts), f"{seen}: not the earliest (not an opening)"
        if not slot.deferred:
            assert oracle.in_window(now) and oracle.local(now).date() == slot.local_day, f"{seen}: queued"
        elif slot.at == now:
            assert not oracle.in_window(now), f"{seen}: sent right now inside sending hours, yet deferred"

        counts[(slot.local_day, channel)] += 1
        previous = slot.at
