"""Slot assignment: the earliest instant inside sending hours, after the group's gap, under the day's cap.

The scheduler is a FIFO per account group: each new slot is at least `min_gap_seconds` after the group's
previous slot, as the contract words it. It is a pure function of the schedule, the time and two lookups,
so it is tested without a database.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mock_server.domain.errors import NoSlotAvailable

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_DAYS_AHEAD = 400


@dataclass(frozen=True)
class SendingSchedule:
    timezone: str = "UTC"
    days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    start: time = time(9, 0)
    end: time = time(18, 0)
    daily_cap: tuple[tuple[str, int], ...] = (("direct_message", 100), ("inmail", 25))
    min_gap_seconds: float = 60.0

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def cap(self, channel: str) -> int:
        return dict(self.daily_cap).get(channel, 0)

    def is_sending_day(self, day: date) -> bool:
        return WEEKDAYS[day.weekday()] in self.days

    def window(self, day: date) -> tuple[float, float]:
        """The sending window of a local day, as UTC epoch seconds."""
        zone = self.zone
        opens = datetime.combine(day, self.start, tzinfo=zone).timestamp()
        closes = datetime.combine(day, self.end, tzinfo=zone).timestamp()
        return opens, closes

    def local_day(self, instant: float) -> date:
        return datetime.fromtimestamp(instant, tz=self.zone).date()


@dataclass(frozen=True)
class Slot:
    at: float
    local_day: date
    deferred: bool

    @property
    def status(self) -> str:
        return "scheduled" if self.deferred else "queued"


def next_slot(
    schedule: SendingSchedule,
    now: float,
    channel: str,
    previous_slot: float | None,
    sent_on_day: Callable[[date], int],
) -> Slot:
    """The earliest slot `t >= now` that the contract allows; `sent_on_day` counts the channel's slots."""
    candidate = now if previous_slot is None else max(now, previous_slot + schedule.min_gap_seconds)
    candidate = _whole_millisecond_at_or_after(candidate)
    cap = schedule.cap(channel)
    day = schedule.local_day(candidate)
    for _ in range(MAX_DAYS_AHEAD):
        opens, closes = schedule.window(day)
        usable = schedule.is_sending_day(day) and candidate < closes and sent_on_day(day) < cap
        if usable:
            at = max(candidate, opens)
            return Slot(at=at, local_day=day, deferred=not _in_current_window(schedule, now, at))
        day = day + timedelta(days=1)
    raise NoSlotAvailable(f"channel {channel}: no sending day with free capacity within {MAX_DAYS_AHEAD} days")


def _whole_millisecond_at_or_after(instant: float) -> float:
    """Slots are shown with milliseconds; rounding up keeps `scheduledAt >= now` even after float error."""
    millis = math.ceil(instant * 1000)
    while millis / 1000 < instant:
        millis += 1
    return millis / 1000


def _in_current_window(schedule: SendingSchedule, now: float, at: float) -> bool:
    """True when `now` is inside today's sending window and `at` falls in that same window."""
    today = schedule.local_day(now)
    if not schedule.is_sending_day(today):
        return False
    opens, closes = schedule.window(today)
    return opens <= now < closes and at < closes
