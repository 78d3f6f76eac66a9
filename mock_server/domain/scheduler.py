"""Slot assignment: the earliest instant inside sending hours, after the group's gap, under the day's cap.

The scheduler is a FIFO per account group: each new slot is at least `min_gap_seconds` after the group's
previous slot, as the contract words it. It is a pure function of the schedule, the time and two lookups,
so it is tested without a database.

Sending hours are defined on the wall clock, not as two instants: the window of a local day is the set of
instants whose local wall time on that day is in [start, end). Mapping `start` and `end` to instants with
`datetime.combine(...).timestamp()` is wrong around DST changes: a start inside a spring-forward gap does
not exist and is pushed forward past `end`, and on a fall-back day a repeated hour occurs twice. So a window
is a tuple of *stretches* (half-open UTC intervals): empty when the whole window falls in a gap, two when
it covers the repeated hour partly, one otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from mock_server.domain.errors import NoSlotAvailable

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_DAYS_AHEAD = 400

Stretch = tuple[float, float]
"""A half-open interval [opens, closes) of UTC epoch seconds inside sending hours."""

# Every UTC offset in the tz database lies within +-16 h (LMT included); 26 h leaves room for any new one.
_OFFSET_BOUND = 26 * 3600
# Offset changes in the tz database are at least four days apart (measured over every zone: Africa/Freetown
# 1939, 95.7 h); sampling every 6 h therefore sees each change separately and bisection pins it to the second.
_SAMPLE_STEP = 6 * 3600
_UNIX_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


@dataclass(frozen=True, slots=True)
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
        for name, cap in self.daily_cap:  # asked on every request: no dict built for two pairs
            if name == channel:
                return cap
        return 0

    def is_sending_day(self, day: date) -> bool:
        return WEEKDAYS[day.weekday()] in self.days

    def window(self, day: date) -> tuple[Stretch, ...]:
        """The instants whose local wall time on local day `day` is in [start, end), as ordered stretches."""
        return _window(self.timezone, self.start, self.end, day)

    def local_day(self, instant: float) -> date:
        return datetime.fromtimestamp(instant, tz=self.zone).date()


@dataclass(slots=True)  # per request: a frozen dataclass's init costs three times a plain one's
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
    """The earliest slot `t >= now` that the contract allows; `sent_on_day` counts the channel's slots.

    The search starts a day before the local day of the earliest allowed instant: where a fall-back crosses
    midnight (America/Santiago, for one), the wall clock returns to the previous local day for an hour.
    `sent_on_day` (a database read) is asked only for days whose window still has room after that instant.
    """
    earliest = now if previous_slot is None else max(now, previous_slot + schedule.min_gap_seconds)
    earliest = _whole_millisecond_at_or_after(earliest)
    cap = schedule.cap(channel)
    day = schedule.local_day(earliest) - timedelta(days=1)
    for _ in range(MAX_DAYS_AHEAD + 1):
        at = _first_in(schedule.window(day), earliest) if schedule.is_sending_day(day) else None
        if at is not None and sent_on_day(day) < cap:
            return Slot(at=at, local_day=day, deferred=not _in_current_window(schedule, now, at))
        day = day + timedelta(days=1)
    raise NoSlotAvailable(f"channel {channel}: no sending day with free capacity within {MAX_DAYS_AHEAD} days")


def _first_in(stretches: tuple[Stretch, ...], earliest: float) -> float | None:
    for opens, closes in stretches:
        if earliest < closes:
            return max(earliest, opens)
    return None


def _whole_millisecond_at_or_after(instant: float) -> float:
    """Slots are shown with milliseconds; rounding up keeps `scheduledAt >= now` even after float error."""
    millis = math.ceil(instant * 1000)
    while millis / 1000 < instant:
        millis += 1
    return millis / 1000


def _in_current_window(schedule: SendingSchedule, now: float, at: float) -> bool:
    """True when `now` is inside sending hours of its local day and `at` is in the same unbroken stretch.

    A slot in a later stretch of the same day (after the repeated hour of a fall-back) waits through time
    outside sending hours, so it is `scheduled`, as a slot on a later day is.
    """
    today = schedule.local_day(now)
    if not schedule.is_sending_day(today):
        return False
    for opens, closes in schedule.window(today):
        if opens <= now < closes:
            return at < closes
    return False


@lru_cache(maxsize=4096)
def _window(timezone: str, start: time, end: time, day: date) -> tuple[Stretch, ...]:
    """Cached: every request of every group sharing a zone and hours asks for the same few days."""
    zone = ZoneInfo(timezone)
    opens_wall, closes_wall = _wall_seconds(day, start), _wall_seconds(day, end)
    stretches: list[Stretch] = []
    for first, last, offset in _constant_offset_pieces(zone, opens_wall - _OFFSET_BOUND, closes_wall + _OFFSET_BOUND):
        # Within a piece wall time = instant + offset, so the window is one interval clipped to the piece.
        opens, closes = float(max(first, opens_wall - offset)), float(min(last, closes_wall - offset))
        if opens >= closes:
            continue
        if stretches and stretches[-1][1] == opens:
            opens = stretches.pop()[0]
        stretches.append((opens, closes))
    return tuple(stretches)


def _wall_seconds(day: date, moment: time) -> int:
    """A local wall-clock time as if it were UTC epoch seconds: the instant is this minus the offset."""
    return (day.toordinal() - _UNIX_EPOCH_ORDINAL) * 86400 + moment.hour * 3600 + moment.minute * 60 + moment.second


def _offset(zone: ZoneInfo, instant: int) -> int:
    offset = datetime.fromtimestamp(instant, tz=zone).utcoffset()
    return 0 if offset is None else int(offset.total_seconds())


def _constant_offset_pieces(zone: ZoneInfo, lo: int, hi: int) -> list[tuple[int, int, int]]:
    """[lo, hi) cut at every UTC offset change, as (first, end, offset); changes fall on whole seconds."""
    pieces: list[tuple[int, int, int]] = []
    first, offset = lo, _offset(zone, lo)
    sample = lo
    while sample < hi - 1:
        following = min(sample + _SAMPLE_STEP, hi - 1)
        following_offset = _offset(zone, following)
        if following_offset != offset:
            change = _change_between(zone, sample, following, following_offset)
            pieces.append((first, change, offset))
            first, offset = change, following_offset
        sample = following
    pieces.append((first, hi, offset))
    return pieces


def _change_between(zone: ZoneInfo, before: int, after: int, new_offset: int) -> int:
    """The first second in (before, after] with `new_offset`, given exactly one change in between."""
    while after - before > 1:
        middle = (before + after) // 2
        if _offset(zone, middle) == new_offset:
            after = middle
        else:
            before = middle
    return after
