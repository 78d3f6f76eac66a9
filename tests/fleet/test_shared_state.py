"""What one replica does, the others see: idempotency keys, slots, the clock and fixtures live in the database.

Each test spreads its requests over the three replicas and reads the outcome back through another one,
so a guarantee that held only inside one process would fail here.
"""

from __future__ import annotations

import copy
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import httpx
from reliability.helpers import assert_accepted, assert_error, dm_body, list_messages

from support.mock_fixtures import GROUP

from .conftest import Fleet
from .helpers import TIMEOUT, WEDNESDAY_10_NY, control, describe, freeze, post_response

SAME_KEY_REQUESTS = 100
CAP, GAP_SECONDS, DIFFERENT_KEYS = 5, 600, 12
WEDNESDAY_20_NY = "2026-04-30T00:00:00.000Z"  # after ag_acme's sending hours: a response waits for Thursday
THURSDAY_09_NY = "2026-04-30T13:00:00.000Z"


def _burst(urls: list[str], session: str, requests: list[tuple[str, dict[str, str]]]) -> list[httpx.Response]:
    """Send every (key, body) at once, request i through replica i mod 3, released by one barrier."""
    barrier = threading.Barrier(len(requests))

    def send(numbered: tuple[int, tuple[str, dict[str, str]]]) -> httpx.Response:
        number, (key, body) = numbered
        with httpx.Client(timeout=TIMEOUT) as client:
            barrier.wait()
            return post_response(client, urls[number % len(urls)], session, key, body)

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(send, enumerate(requests)))


def test_a_hundred_concurrent_duplicates_over_three_replicas_store_one_message(fleet: Fleet, session: str) -> None:
    key, body = f"dup-{uuid.uuid4().hex}", dm_body("One message, whichever replica answers.")
    responses = _burst(fleet.urls, session, [(key, body)] * SAME_KEY_REQUESTS)

    assert not [r for r in responses if r.status_code >= 500], [describe(r) for r in responses if r.status_code >= 500]
    accepted = [r for r in responses if r.status_code == 202]
    for refused in (r for r in responses if r.status_code != 202):
        assert_error(refused, 409, "IDEMPOTENCY_KEY_IN_USE")
    assert accepted, "no duplicate got a 202"
    datas = [assert_accepted(r) for r in accepted]
    assert all(data == datas[0] for data in datas), f"different data for one key: {datas}"
    first = [r for r in accepted if r.headers.get("idempotent-replayed") != "true"]
    assert len(first) == 1, f"{len(first)} answers were not marked as replays: {[describe(r) for r in first]}"
    # The 409s were told to retry: through any replica, they now get the replay.
    with httpx.Client(timeout=TIMEOUT) as client:
        for url in fleet.urls:
            assert assert_accepted(post_response(client, url, session, key, body), replayed=True) == datas[0]
    assert [m["id"] for m in list_messages(fleet.urls[2], session, GROUP)] == [datas[0]["id"]]


def _expected_slots() -> list[str]:
    """CAP slots a day, GAP_SECONDS apart: Wednesday from 10:00 New York, then from 09:00 on the next days."""
    day_starts = [WEDNESDAY_10_NY, THURSDAY_09_NY, "2026-05-01T13:00:00.000Z"]
    slots = []
    for start in day_starts:
        first = datetime.fromisoformat(start.replace("Z", "+00:00"))
        slots += [(first + timedelta(seconds=GAP_SECONDS * n)).strftime("%Y-%m-%dT%H:%M:%S.000Z") for n in range(CAP)]
    return slots[:DIFFERENT_KEYS]


def _with_cap_and_gap(base_url: str, session: str) -> None:
    document = copy.deepcopy(control(base_url, session, "GET", "/fixtures"))
    [acme] = [group for group in document["accountGroups"] if group["id"] == GROUP]
    acme["schedule"]["dailyCap"]["direct_message"] = CAP
    acme["schedule"]["minGapSeconds"] = GAP_SECONDS
    control(base_url, session, "PUT", "/fixtures", document)


def test_concurrent_different_keys_over_three_replicas_respect_the_gap_and_the_daily_cap(
    fleet: Fleet, session: str
) -> None:
    """Whatever the order the replicas take them in, the slots are exactly the group's schedule."""
    _with_cap_and_gap(fleet.urls[0], session)
    freeze(fleet.urls[1], session, WEDNESDAY_10_NY)
    requests = [(f"slot-{n}-{uuid.uuid4().hex[:8]}", dm_body(f"Message {n}")) for n in range(DIFFERENT_KEYS)]
    datas = [assert_accepted(r, replayed=False) for r in _burst(fleet.urls, session, requests)]

    assert len({data["id"] for data in datas}) == DIFFERENT_KEYS, f"ids repeat: {[d['id'] for d in datas]}"
    assert sorted(data["scheduledAt"] for data in datas) == _expected_slots(), sorted(d["scheduledAt"] for d in datas)
    for data in datas:
        assert data["deferred"] is (data["scheduledAt"] not in _expected_slots()[:CAP]), data
    listed = list_messages(fleet.urls[2], session, GROUP)
    assert sorted((m["id"], m["scheduledAt"]) for m in listed) == sorted((d["id"], d["scheduledAt"]) for d in datas)


def test_a_clock_change_through_one_replica_is_seen_by_the_others(fleet: Fleet, session: str) -> None:
    freeze(fleet.urls[0], session, WEDNESDAY_20_NY)
    with httpx.Client(timeout=TIMEOUT) as client:
        data = assert_accepted(post_response(client, fleet.urls[1], session, None, dm_body("Tomorrow morning")))
    assert (data["scheduledAt"], data["deferred"]) == (THURSDAY_09_NY, True), data
    for url in fleet.urls:
        clock = control(url, session, "GET", "/clock")
        assert (clock["now"], clock["frozen"]) == (WEDNESDAY_20_NY, True), f"{url}: {clock}"

    advanced = control(fleet.urls[2], session, "POST", "/clock/advance", {"seconds": 13 * 3600})
    assert advanced["now"] == THURSDAY_09_NY, advanced
    for url in fleet.urls:
        clock = control(url, session, "GET", "/clock")
        assert (clock["now"], clock["frozen"]) == (THURSDAY_09_NY, True), f"{url}: {clock}"
        [message] = list_messages(url, session, GROUP)
        assert (message["id"], message["status"]) == (data["id"], "sent"), f"{url}: {message}"


FLEET_FIXTURES = {
    "accountGroups": [
        {
            "id": "ag_fleet",
            "name": "Fleet test group",
            "prospects": [{"id": "prs_fleet", "connected": True, "conversations": ["cnv_fleet"]}],
        }
    ],
    "apiKeys": [{"key": "sk_test_fleet_writer", "permissions": ["messages:write"], "accountGroups": ["ag_fleet"]}],
}


def test_fixtures_replaced_through_one_replica_are_served_by_the_others(fleet: Fleet, session: str) -> None:
    replaced = control(fleet.urls[0], session, "PUT", "/fixtures", FLEET_FIXTURES)
    body = {"prospectId": "prs_fleet", "message": "Served by the new fixtures."}
    with httpx.Client(timeout=TIMEOUT) as client:
        for url in fleet.urls[1:]:
            assert control(url, session, "GET", "/fixtures") == replaced, url
            headers = {"Authorization": "Bearer sk_test_fleet_writer", "X-Mock-Session": session}
            new_key = client.post(f"{url}/v1/accounts/ag_fleet/messages/responses", json=body, headers=headers)
            assert_accepted(new_key, replayed=False)
            old_key = post_response(client, url, session, None, dm_body("The demo key is gone."))
            assert old_key.status_code == 401, describe(old_key)
    assert len(list_messages(fleet.urls[0], session, "ag_fleet")) == 2
