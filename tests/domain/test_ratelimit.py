"""ratelimit: parsing the limit, and token buckets per session and per caller on injected time."""

from __future__ import annotations

import pytest

from mock_server.domain.ratelimit import RateLimit, RateLimiter


@pytest.mark.parametrize(
    ("text", "per_second", "burst"),
    [
        ("10/s", 10.0, 10),
        ("120/m", 2.0, 2),
        ("30/m", 0.5, 1),
        ("5", 5.0, 5),
        (" 2/SEC ", 2.0, 2),
        ("90/min", 1.5, 2),
        ("7200/h", 2.0, 2),
        ("1/h", 1 / 3600, 1),
        ("100000/s", 100000.0, 100000),
    ],
)
def test_a_limit_parses_to_a_rate_and_one_seconds_burst(text, per_second, burst):
    assert RateLimit.parse(text) == RateLimit(per_second=per_second, burst=burst)


@pytest.mark.parametrize("text", ["off", "OFF", " none ", "0"])
def test_off_means_no_limit(text):
    assert RateLimit.parse(text) is None


@pytest.mark.parametrize("text", ["10/d", "ten/s", "/s", "nan/s", "1/s/s", ""])
def test_a_malformed_limit_is_a_value_error_that_shows_the_syntax(text):
    with pytest.raises(ValueError, match=r"use N/s, N/m, N/h \(a number N\) or off"):
        RateLimit.parse(text)


@pytest.mark.parametrize("text", ["0/s", "-1/s", "5e-324/s", "0.9/h", "100001/s", "6000001/m"])
def test_a_limit_outside_one_an_hour_to_100000_a_second_is_a_value_error(text):
    with pytest.raises(ValueError, match="must be from 1/h to 100000/s"):
        RateLimit.parse(text)


@pytest.mark.parametrize("text", ["inf/s", "1e400/m", "-inf/h"])
def test_an_infinite_limit_is_a_value_error(text):
    with pytest.raises(ValueError, match="must be from 1/h to 100000/s"):
        RateLimit.parse(text)


def test_the_slowest_limit_asks_to_retry_within_the_hour():
    bucket = limiter("1/h")
    assert bucket.retry_after("s1", "key", now=0.0) is None
    assert bucket.retry_after("s1", "key", now=0.0) == 3600


def limiter(text):
    return RateLimiter(RateLimit.parse(text))


def test_without_a_limit_nothing_is_ever_limited():
    unlimited = RateLimiter(None)
    assert all(unlimited.retry_after("s1", "key", now=0.0) is None for _ in range(1000))


def test_a_burst_is_allowed_then_the_next_request_is_limited():
    bucket = limiter("3/s")
    assert [bucket.retry_after("s1", "key", now=0.0) for _ in range(4)] == [None, None, None, 1]


def test_retry_after_is_a_whole_number_of_seconds_at_least_one():
    bucket = limiter("1000/s")
    for _ in range(1000):
        bucket.retry_after("s1", "key", now=0.0)
    wait = bucket.retry_after("s1", "key", now=0.0)
    assert isinstance(wait, int)
    assert wait == 1


@pytest.mark.parametrize(("text", "expected"), [("1/m", 60), ("7/m", 9), ("30/m", 2)])
def test_retry_after_rounds_the_refill_time_up(text, expected):
    bucket = limiter(text)
    bucket.retry_after("s1", "key", now=0.0)
    assert bucket.retry_after("s1", "key", now=0.0) == expected


@pytest.mark.parametrize("text", ["1/m", "7/m", "30/m", "3/s"])
def test_waiting_retry_after_seconds_is_enough(text):
    bucket = limiter(text)
    while (wait := bucket.retry_after("s1", "key", now=0.0)) is None:
        pass
    assert bucket.retry_after("s1", "key", now=float(wait)) is None


def test_the_bucket_refills_with_time():
    bucket = limiter("1/s")
    assert bucket.retry_after("s1", "key", now=100.0) is None
    assert bucket.retry_after("s1", "key", now=100.5) == 1
    assert bucket.retry_after("s1", "key", now=101.0) is None


def test_buckets_are_per_session():
    bucket = limiter("1/m")
    bucket.retry_after("s1", "key", now=0.0)
    assert bucket.retry_after("s2", "key", now=0.0) is None


def test_buckets_are_per_caller():
    bucket = limiter("1/m")
    bucket.retry_after("s1", "key-a", now=0.0)
    assert bucket.retry_after("s1", "key-b", now=0.0) is None


def test_reset_refills_only_that_sessions_buckets():
    bucket = limiter("1/m")
    for session in ("s1", "s2"):
        bucket.retry_after(session, "key", now=0.0)
    bucket.reset("s1")
    assert bucket.retry_after("s1", "key", now=0.0) is None
    assert bucket.retry_after("s2", "key", now=0.0) == 60


def test_buckets_of_callers_that_went_away_are_dropped_once_the_dict_is_large():
    bucket = limiter("1/s")
    for number in range(RateLimiter.PRUNE_AT):
        bucket.retry_after(f"gone-{number}", "key", now=0.0)
    assert len(bucket) == RateLimiter.PRUNE_AT, "nothing pruned until the dict passes its size"
    bucket.retry_after("late", "key", now=2.0)  # every "gone-*" bucket has refilled by now
    assert len(bucket) == 1, "only the bucket still short of tokens is kept"
    assert bucket.retry_after("late", "key", now=2.0) == 1, "the kept bucket keeps its count"
    assert bucket.retry_after("gone-0", "key", now=2.0) is None, "a dropped bucket was full anyway"


def test_pruning_keeps_buckets_that_are_still_limiting():
    bucket = limiter("1/m")
    for number in range(RateLimiter.PRUNE_AT + 5):
        bucket.retry_after(f"s{number}", "key", now=float(number) / 1000)
    assert len(bucket) == RateLimiter.PRUNE_AT + 5, "none had refilled: none dropped"
    assert bucket.retry_after("s0", "key", now=10.0) == 50, "s0 is still limited after pruning was tried"
