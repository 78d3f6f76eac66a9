"""Concurrent duplicates: the store's write lock, not timing, guarantees one scheduled response per key."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from support.mock_fixtures import API_KEY, GROUP, PROSPECT, RESPONSES_PATH
from support.mock_process import MockProcess

CONCURRENT = 20


def _fire_duplicates(base_url: str, session: str, count: int) -> list[httpx.Response]:
    """`count` requests with one key and one body, released together by a barrier."""
    key = f"dup-{uuid.uuid4().hex}"
    headers = {"Authorization": f"Bearer {API_KEY}", "X-Mock-Session": session, "Idempotency-Key": key}
    body = {"prospectId": PROSPECT, "message": "Following up on our call."}
    barrier = threading.Barrier(count)

    def send(_: int) -> httpx.Response:
        with httpx.Client(base_url=base_url, headers=headers, timeout=60.0) as client:
            barrier.wait()
            return client.post(RESPONSES_PATH, json=body)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(send, range(count)))


def _scheduled(base_url: str, session: str) -> list[dict]:
    response = httpx.get(f"{base_url}/__mock/accounts/{GROUP}/messages", headers={"X-Mock-Session": session})
    return response.json()["data"]["messages"]


def _assert_one_scheduled(base_url: str, session: str, responses: list[httpx.Response]) -> None:
    assert [r.status_code for r in responses] == [202] * len(responses), [r.text for r in responses]
    ids = {r.json()["data"]["id"] for r in responses}
    assert len(ids) == 1, f"{len(ids)} different ids for one Idempotency-Key: {ids}"
    replays = [r for r in responses if r.headers.get("Idempotent-Replayed") == "true"]
    assert len(replays) == len(responses) - 1, "every duplicate but the first must be marked as a replay"
    assert [m["id"] for m in _scheduled(base_url, session)] == list(ids)


def test_twenty_concurrent_duplicates_schedule_one_response(mock_url: str) -> None:
    session = f"dup-{uuid.uuid4().hex[:8]}"
    _assert_one_scheduled(mock_url, session, _fire_duplicates(mock_url, session, CONCURRENT))


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory):
    state = tmp_path_factory.mktemp("state") / "mock.sqlite3"
    with MockProcess("--workers", "2", "--state", str(state), "--rate-limit", "off") as server:
        yield server.base_url


def test_two_workers_on_one_state_file_schedule_one_response(two_workers: str) -> None:
    for round_number in range(3):
        session = f"dup2-{round_number}-{uuid.uuid4().hex[:8]}"
        _assert_one_scheduled(two_workers, session, _fire_duplicates(two_workers, session, CONCURRENT))
