"""Rate limiting on a dedicated mock started with `--rate-limit 2/s` (burst of 2, per API key and session)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from helpers import assert_accepted, assert_error, bearer, group_path, list_messages, post

from contract_rules import dm
from support.mock_fixtures import GLOBEX_KEY, OTHER_GROUP, READONLY_KEY
from support.mock_process import MockProcess

MALFORMED = b'{"prospectId": '
LINUS = {"prospectId": "prs_linus_torvalds", "message": "Hallo Linus"}


@pytest.fixture(scope="module")
def limited_url() -> Iterator[str]:
    with MockProcess("--rate-limit", "2/s") as server:
        yield server.base_url


def exhaust(client: httpx.Client, **kwargs) -> httpx.Response:
    """Send until the first 429 (at most 10 requests) and return it."""
    for _ in range(10):
        response = post(client, **kwargs)
        if response.status_code == 429:
            return response
    raise AssertionError("no 429 after 10 requests at 2/s")


def retry_after(response: httpx.Response) -> int:
    value = response.headers.get("Retry-After", "")
    assert value.isdigit(), f"Retry-After must be whole seconds, got {value!r}"
    assert int(value) >= 1
    return int(value)


def test_burst_gets_429_with_retry_after_then_succeeds_after_waiting(limited_url, new_session):
    api, control = new_session(limited_url)
    responses = [post(api) for _ in range(5)]
    statuses = [response.status_code for response in responses]
    assert statuses[:2] == [202, 202], statuses
    assert 429 in statuses, statuses
    limited = next(response for response in responses if response.status_code == 429)
    assert_error(limited, 429, "RATE_LIMITED")
    wait = retry_after(limited)
    time.sleep(wait + 0.05)
    assert_accepted(post(api))
    assert len(list_messages(control)) == statuses.count(202) + 1


def test_buckets_are_per_api_key(limited_url, new_session):
    api, _ = new_session(limited_url)
    exhaust(api)
    assert_accepted(post(api, LINUS, path=group_path(OTHER_GROUP), headers=bearer(GLOBEX_KEY)))


def test_buckets_are_per_session(limited_url, new_session):
    api, _ = new_session(limited_url)
    other_api, _ = new_session(limited_url)
    exhaust(api)
    assert_accepted(post(other_api))


def test_limited_request_binds_no_key(limited_url, new_session):
    api, control = new_session(limited_url)
    exhaust(api)
    limited = post(api, dm(message="first body"), key="limited-key")
    assert_error(limited, 429, "RATE_LIMITED")
    time.sleep(retry_after(limited) + 0.05)
    retried = post(api, dm(message="second body"), key="limited-key")
    data = assert_accepted(retried)
    assert "idempotent-replayed" not in retried.headers
    keyed = [m for m in list_messages(control) if m["idempotencyKey"] == "limited-key"]
    assert [m["id"] for m in keyed] == [data["id"]]


def test_order_of_checks_401_then_403_then_429_then_400(limited_url, new_session, recorded_exchanges):
    api, _ = new_session(limited_url)
    exhaust(api)
    session = api.headers["X-Mock-Session"]
    with recorded_exchanges.client(base_url=limited_url, headers={"X-Mock-Session": session}) as anonymous:
        assert_error(post(anonymous, content=MALFORMED), 401, "UNAUTHORIZED")
    assert_error(post(api, content=MALFORMED, headers=bearer("sk_test_unknown")), 401, "UNAUTHORIZED")
    assert_error(post(api, content=MALFORMED, path=group_path(OTHER_GROUP)), 403, "FORBIDDEN")
    assert_error(post(api, content=MALFORMED, headers=bearer(READONLY_KEY)), 403, "FORBIDDEN")
    limited = post(api, content=MALFORMED)
    assert_error(limited, 429, "RATE_LIMITED")
    time.sleep(retry_after(limited) + 0.05)
    assert_error(post(api, content=MALFORMED), 400, "VALIDATION_ERROR")


def test_reset_refills_the_bucket(limited_url, new_session):
    api, control = new_session(limited_url)
    exhaust(api)
    assert control.post("/reset").status_code == 200
    assert_accepted(post(api))
