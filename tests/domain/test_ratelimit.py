"""ratelimit: parsing the limit, and token buckets per session and per caller on injected time."""

from __future__ import annotations

import pytest

from mock_server.domain.ratelimit import RateLimit, RateLimiter


@pytest.mark.parametrize(
    ("text", "per_second", "burst"),
    [("10/s", 10.0, 10), ("120/m", 2.0, 2), ("30/m", 0.5, 1), ("5", 5.0, 5), (" 2/SEC ", 2.0, 2), ("90/min", 1.5, 2)],
)
def test_a_limit_parses_to_a_rate_and_one_seconds_burst(text, per_second, burst):
    assert RateLimit.parse(text) == RateLimit(per_second=per_second, burst=burst)


@pytest.mark.parametrize("text", ["off", "OFF", " none ", "0"])
def test_off_means_no_limit(text):
    assert RateLimit.parse(text) is None


@pytest.mark.parametrize("text", ["10/h", "ten/s", "0/s", "-1/s", "/s", "nan/s"])
def test_a_malformed_limit_is_a_value_error(text):
    with pytest.raises(ValueError):
        RateLimit.parse(text)


@pytest.mark.parametrize("text", ["inf/s", "1e400/m"])
def test_an_infinite_limit_is_a_value_error(text):
    with pytest.raises(ValueError):
        RateLimit.parse(text)


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
