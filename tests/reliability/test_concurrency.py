"""Concurrency across two worker processes on one state file: one key, one message; many keys, clean slots.

The store takes SQLite's write lock up front for "look up, else schedule and bind", so concurrent
duplicates wait and replay (never a second message), and concurrent new requests get distinct slots that
keep the group's minimum gap. These tests release the requests together with a barrier.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import httpx
import pytest

from support.mock_fixtures import API_KEY, GROUP, RESPONSES_PATH
from support.mock_process import MockProcess

from .helpers import TIMEOUT, api_headers, assert_accepted, dm_body, list_messages, new_session

MIN_GAP_SECONDS = 60  # ag_acme's minGapSeconds in mock_server/data/demo.yaml
# Wednesday 2 December 2026, 10:00 in America/New_York (EST, UTC-5): inside ag_acme's Mon-Fri 09-18 window.
WEDNESDAY_10AM = "2026-12-02T15:00:00.000Z"


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    state: Path = tmp_path_factory.mktemp("concurrency") / "state.sqlite3"
    with MockProcess("--workers", "2", "--state", str(state), "--rate-limit", "off") as server:
        yield server.base_url


def fire_together(base_url: str, count: int, request: Callable[[httpx.Client, int], httpx.Response]) -> list:
    """`count` requests from `count` threads, released at once; each thread has its own connection."""
    barrier = threading.Barrier(count, timeout=60)
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    with httpx.Client(base_url=base_url, timeout=60.0, limits=limits) as client:
        client.get("/healthz")

        def send(index: int) -> httpx.Response:
            barrier.wait()
            return request(client, index)

        with ThreadPoolExecutor(max_workers=count) as pool:
            return list(pool.map(send, range(count)))


def same_key_round(base_url: str, count: int) -> None:
    session, key = new_session("same-key"), f"same-{uuid.uuid4().hex}"
    body = dm_body("One key, many senders: exactly one message.")
    responses = fire_together(
        base_url,
        count,
        lambda client, _: client.post(RESPONSES_PATH, json=body, headers=api_headers(API_KEY, session, key)),
    )
    datas = [assert_accepted(response) for response in responses]
    assert len({data["id"] for data in datas}) == 1, f"several ids for one key: { ({d['id'] for d in datas}) }"
    assert all(data == datas[0] for data in datas), "every replay returns the original data"
    replays = [r for r in responses if r.headers.get("Idempotent-Replayed") == "true"]
    assert len(replays) == count - 1, f"{len(replays)} replays for {count} concurrent duplicates, not {count - 1}"
    assert [m["id"] for m in list_messages(base_url, session, GROUP)] == [datas[0]["id"]]


def different_keys_round(base_url: str, count: int) -> None:
    session = new_session("many-keys")
    _freeze(base_url, session, WEDNESDAY_10AM)
    responses = fire_together(
        base_url,
        count,
        lambda client, n: client.post(
            RESPONSES_PATH,
            json=dm_body(f"Distinct request {n}"),
            headers=api_headers(API_KEY, session, f"k-{n}-{uuid.uuid4().hex[:8]}"),
        ),
    )
    datas = [assert_accepted(response, replayed=False) for response in responses]
    assert len({data["id"] for data in datas}) == count, "distinct keys must schedule distinct messages"
    now = _millis(WEDNESDAY_10AM)
    slots = sorted(_millis(data["scheduledAt"]) for data in datas)
    assert len(set(slots)) == count, f"two messages share a slot: {[d['scheduledAt'] for d in datas]}"
    assert slots[0] >= now, f"a slot before now: {slots[0]} < {now}"
    gaps = [later - earlier for earlier, later in pairwise(slots)]
    assert min(gaps) >= MIN_GAP_SECONDS * 1000, f"slots closer than the {MIN_GAP_SECONDS} s gap (ms): {gaps}"
    # The earliest-slot rule: each slot is exactly one gap after the previous one, the first within a second.
    assert set(gaps) == {MIN_GAP_SECONDS * 1000}, f"gaps (ms) between consecutive slots: {gaps}"
    assert slots[0] - now < 1000, f"the first slot should be now: {slots[0] - now} ms late"
    assert {data["status"] for data in datas} == {"queued"}, "slots in today's window are queued"
    assert {m["id"] for m in list_messages(base_url, session, GROUP)} == {d["id"] for d in datas}


def _millis(iso: str) -> int:
    """Exact integer milliseconds, so slot arithmetic has no float rounding."""
    return round(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def _freeze(base_url: str, session: str, instant: str) -> None:
    clock = httpx.put(
        f"{base_url}/__mock/clock",
        json={"now": instant, "frozen": True},
        headers={"X-Mock-Session": session},
        timeout=TIMEOUT,
    )
    assert clock.status_code == 200, clock.text


def test_fifty_concurrent_same_key_requests_across_two_workers_schedule_one_message(two_workers: str) -> None:
    same_key_round(two_workers, 50)


def test_thirty_concurrent_new_requests_get_distinct_slots_that_keep_the_gap(two_workers: str) -> None:
    different_keys_round(two_workers, 30)


def test_a_clock_frozen_at_an_instant_gives_that_very_instant_as_the_first_slot(two_workers: str) -> None:
    """PUT /__mock/clock {"now": T, "frozen": true} stops the clock at T itself, so the earliest slot is T."""
    session = new_session("exact-slot")
    _freeze(two_workers, session, WEDNESDAY_10AM)
    with httpx.Client(base_url=two_workers, timeout=TIMEOUT) as client:
        first = client.post(RESPONSES_PATH, json=dm_body("First of the day"), headers=api_headers(API_KEY, session))
        second = client.post(RESPONSES_PATH, json=dm_body("Second"), headers=api_headers(API_KEY, session))
    assert assert_accepted(first)["scheduledAt"] == WEDNESDAY_10AM
    assert assert_accepted(second)["scheduledAt"] == "2026-12-02T15:01:00.000Z"


@pytest.mark.nightly
def test_many_rounds_of_concurrent_duplicates_schedule_one_message_each(two_workers: str) -> None:
    for _ in range(20):
        same_key_round(two_workers, 50)


@pytest.mark.nightly
def test_ninety_concurrent_new_requests_keep_the_gap_repeatedly(two_workers: str) -> None:
    for _ in range(5):
        different_keys_round(two_workers, 90)  # under ag_acme's daily cap of 100 direct messages
