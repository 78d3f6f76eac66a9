"""The mock clock: real time shifted by an offset, or frozen at an instant. One per session."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache


@dataclass(slots=True)  # per request: a frozen dataclass's init costs three times a plain one's
class ClockState:
    """Stored as two numbers so that every worker sharing the database computes the same `now`."""

    offset: float = 0.0
    frozen_at: float | None = None

    def now(self, real: float | None = None) -> float:
        if self.frozen_at is not None:
            return self.frozen_at
        return (time.time() if real is None else real) + self.offset

    @property
    def frozen(self) -> bool:
        return self.frozen_at is not None

    def set_to(self, instant: float, real: float | None = None) -> ClockState:
        if self.frozen:
            return ClockState(offset=self.offset, frozen_at=instant)
        return ClockState(offset=instant - (time.time() if real is None else real))

    def advance(self, seconds: float) -> ClockState:
        if self.frozen_at is not None:
            return ClockState(offset=self.offset, frozen_at=self.frozen_at + seconds)
        return ClockState(offset=self.offset + seconds)

    def freeze(self, real: float | None = None) -> ClockState:
        return ClockState(offset=self.offset, frozen_at=self.now(real))

    def unfreeze(self, real: float | None = None) -> ClockState:
        if self.frozen_at is None:
            return self
        return ClockState(offset=self.frozen_at - (time.time() if real is None else real))


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC).timestamp()
LATEST = datetime(9000, 1, 1, tzinfo=UTC).timestamp()


def to_iso(instant: float) -> str:
    """UTC with milliseconds and `Z`, the contract's timestamp format."""
    day, millis = divmod(round(instant * 1000), 86_400_000)
    seconds, millis = divmod(millis, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{_day_text(day)}T{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}Z"


@lru_cache(maxsize=64)
def _day_text(day: int) -> str:
    """`YYYY-MM-DD` of a UTC day (1970-9000: four-digit years). Every 202 formats its slot, and a day holds
    hundreds of slots: the date is formatted once a day, the time of day with integers (gmtime and strftime
    for each cost half of an accepted request's formatting)."""
    return time.strftime("%Y-%m-%d", time.gmtime(day * 86_400))


def from_iso(text: str) -> float:
    """Parse an RFC 3339 timestamp within 1970..9000 (a naive one is UTC); ValueError otherwise."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    instant = moment.timestamp()
    if not EARLIEST <= instant < LATEST:
        raise ValueError(f"{text} is outside 1970-01-01..9000-01-01")
    return instant
