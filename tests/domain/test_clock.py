"""clock.ClockState and the contract's timestamp format."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mock_server.domain.clock import LATEST, ClockState, from_iso, to_iso

REAL = 1_000_000.0  # the injected wall clock


def test_an_unfrozen_clock_is_real_time_plus_its_offset():
    clock = ClockState(offset=30.0)
    assert not clock.frozen
    assert clock.now(real=REAL) == REAL + 30
    assert clock.now(real=REAL + 5) == REAL + 35, "an unfrozen clock runs with real time"


def test_a_frozen_clock_does_not_move_with_real_time():
    clock = ClockState(frozen_at=500.0)
    assert clock.frozen
    assert clock.now(real=REAL) == clock.now(real=REAL + 3600) == 500.0


def test_set_to_on_a_running_clock_jumps_and_keeps_running():
    clock = ClockState().set_to(2_000_000.0, real=REAL)
    assert not clock.frozen
    assert clock.now(real=REAL) == 2_000_000.0
    assert clock.now(real=REAL + 10) == 2_000_010.0


def test_set_to_on_a_frozen_clock_stays_frozen_at_the_new_instant():
    clock = ClockState(frozen_at=500.0).set_to(9_000.0, real=REAL)
    assert clock.frozen
    assert clock.now(real=REAL + 99) == 9_000.0


def test_advance_moves_a_running_clock_forward():
    clock = ClockState(offset=5.0).advance(60)
    assert not clock.frozen
    assert clock.now(real=REAL) == REAL + 65


def test_advance_moves_a_frozen_clock_and_keeps_it_frozen():
    clock = ClockState(frozen_at=500.0).advance(60)
    assert clock.frozen
    assert clock.now(real=REAL) == 560.0


def test_freeze_stops_the_clock_where_it_was():
    clock = ClockState(offset=30.0).freeze(real=REAL)
    assert clock.frozen
    assert clock.now(real=REAL + 100) == REAL + 30


def test_unfreeze_resumes_from_the_frozen_instant_without_a_jump():
    clock = ClockState(frozen_at=500.0).unfreeze(real=REAL)
    assert not clock.frozen
    assert clock.now(real=REAL) == 500.0
    assert clock.now(real=REAL + 7) == 507.0


def test_freeze_then_unfreeze_later_loses_the_frozen_interval():
    clock = ClockState(offset=0.0).freeze(real=REAL).unfreeze(real=REAL + 100)
    assert clock.now(real=REAL + 100) == REAL, "time stood still while frozen"


def test_unfreezing_a_running_clock_changes_nothing():
    clock = ClockState(offset=12.0)
    assert clock.unfreeze(real=REAL) == clock


@pytest.mark.parametrize(
    ("instant", "text"),
    [
        (0.0, "1970-01-01T00:00:00.000Z"),
        (1718200800.5, "2024-06-12T14:00:00.500Z"),
        (1718200800.123, "2024-06-12T14:00:00.123Z"),
        (1718200800.9996, "2024-06-12T14:00:01.000Z"),  # rounds to the nearest millisecond, carrying
    ],
)
def test_to_iso_is_utc_with_milliseconds_and_z(instant, text):
    assert to_iso(instant) == text


@given(st.floats(min_value=0, max_value=LATEST - 1, allow_nan=False))
def test_to_iso_writes_what_datetime_writes(instant):
    millis = round(instant * 1000)
    moment = datetime.fromtimestamp(millis // 1000, tz=UTC).replace(microsecond=millis % 1000 * 1000)
    assert to_iso(instant) == moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("2024-06-12T14:00:00.123Z", 1718200800.123),
        ("2024-06-12T14:00:00.123z", 1718200800.123),
        ("2024-06-12T16:00:00.123+02:00", 1718200800.123),
        ("1970-01-01T00:00:00Z", 0.0),
    ],
)
def test_from_iso_reads_rfc3339_timestamps(text, instant):
    assert from_iso(text) == pytest.approx(instant, abs=1e-6)


def test_from_iso_reads_a_naive_timestamp_as_utc():
    assert from_iso("2024-06-12T14:00:00") == from_iso("2024-06-12T14:00:00Z")


@pytest.mark.parametrize(
    "text",
    ["1969-12-31T23:59:59.999Z", "9000-01-01T00:00:00Z", "8999-12-31T23:00:00-02:00", "9999-12-31T23:59:59Z"],
)
def test_from_iso_refuses_instants_outside_1970_to_9000(text):
    with pytest.raises(ValueError, match="outside"):
        from_iso(text)


def test_from_iso_accepts_the_last_millisecond_before_9000():
    assert from_iso("8999-12-31T23:59:59.999Z") == pytest.approx(LATEST - 0.001, abs=1e-4)


def test_from_iso_refuses_text_that_is_not_a_timestamp():
    with pytest.raises(ValueError):
        from_iso("next tuesday")


@pytest.mark.parametrize(
    "text",
    [
        "2031-02-28T23:59:59.042Z",
        "2250-01-01T00:00:01.998Z",  # far-future instants are coarser floats: floor division loses a millisecond
        "6056-10-31T04:43:03.861Z",
        "8999-12-31T23:59:59.999Z",
    ],
)
def test_iso_round_trip_is_exact_to_the_millisecond_up_to_9000(text):
    assert to_iso(from_iso(text)) == text
