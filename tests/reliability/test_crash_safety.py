"""Crash safety: `kill -9` the mock mid-load on a state file, restart it, and lose or duplicate nothing.

Every key that got a 202 before the crash must replay, after the restart, the very same data (same id)
with `Idempotent-Replayed: true`, and the group's message list holds each acknowledged id exactly once.
A request that got no answer may or may not have been committed, but never twice: replaying it after the
restart either finds its message or schedules it once.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.mock_fixtures import API_KEY, GROUP, RESPONSES_PATH
from support.mock_process import MockProcess

from .helpers import TIMEOUT, api_headers, assert_accepted, assert_stored_once, dm_body, new_session

LOAD_THREADS = 8


@dataclass
class Load:
    """What the clients saw while the mock ran: acknowledged keys, unanswered keys, other statuses."""

    session: str
    acked: dict[str, tuple[dict[str, str], dict[str, Any]]] = field(default_factory=dict)
    unanswered: dict[str, dict[str, str]] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    progress: threading.Condition = field(default_factory=threading.Condition)

    @property
    def sent(self) -> int:
        return len(self.acked) + len(self.unanswered) + len(self.unexpected)


def _worker(base_url: str, load: Load, thread: int, budget: int, stop: threading.Event) -> None:
    with httpx.Client(base_url=base_url, timeout=TIMEOUT) as client:
        for index in range(budget):
            if stop.is_set():
                return
            key = f"{load.session}-t{thread}-{index}"
            body = dm_body(f"Crash-safety message {key}")
            try:
                response = client.post(RESPONSES_PATH, json=body, headers=api_headers(API_KEY, load.session, key))
            except httpx.TransportError:
                with load.lock:
                    load.unanswered[key] = body
                return  # the server is gone: this thread's load ends here
            with load.lock:
                if response.status_code == 202:
                    load.acked[key] = (body, response.json()["data"])
                else:
                    load.unexpected.append(f"{key}: {response.status_code} {response.text[:300]}")
            with load.progress:
                load.progress.notify_all()


def load_and_kill(server: MockProcess, session: str, budget: int, kill_after: int) -> Load:
    """Unique-key load from LOAD_THREADS threads; SIGKILL the mock once `kill_after` requests got a 202."""
    load, stop = Load(session), threading.Event()
    per_thread = -(-budget // LOAD_THREADS)
    threads = [
        threading.Thread(target=_worker, args=(server.base_url, load, n, per_thread, stop), daemon=True)
        for n in range(LOAD_THREADS)
    ]
    for thread in threads:
        thread.start()
    with load.progress:
        load.progress.wait_for(lambda: len(load.acked) >= kill_after or not any(t.is_alive() for t in threads), 120)
    server.kill()
    stop.set()
    for thread in threads:
        thread.join(timeout=TIMEOUT + 5)
    assert not any(t.is_alive() for t in threads), "a load thread hung after the crash"
    assert not load.unexpected, f"non-202 answers under load: {load.unexpected[:5]}"
    assert len(load.acked) >= kill_after, f"only {len(load.acked)} 202s before the crash"
    assert load.sent < budget, "the load ended before the crash: the kill was not mid-load"
    return load


def _replay_all(base_url: str, session: str, keyed: dict[str, dict[str, str]]) -> dict[str, httpx.Response]:
    """Send each (key, body) again, LOAD_THREADS at a time, through one shared client."""
    limits = httpx.Limits(max_connections=LOAD_THREADS)
    with httpx.Client(base_url=base_url, timeout=TIMEOUT, limits=limits) as client:

        def replay(key: str) -> httpx.Response:
            return client.post(RESPONSES_PATH, json=keyed[key], headers=api_headers(API_KEY, session, key))

        with ThreadPoolExecutor(max_workers=LOAD_THREADS) as pool:
            return dict(zip(keyed, pool.map(replay, keyed), strict=True))


def assert_listed_once(base_url: str, load: Load) -> dict[str, str]:
    """The list holds each acknowledged id once, no id twice, no key twice; returns key -> listed id."""
    return assert_stored_once(base_url, load.session, GROUP, load.acked, set(load.acked) | set(load.unanswered))


def assert_recovered(base_url: str, load: Load) -> None:
    """After the restart: every 202 replays its data; unanswered keys schedule at most once; list is exact."""
    listed_before = assert_listed_once(base_url, load)
    replies = _replay_all(base_url, load.session, {key: body for key, (body, _) in load.acked.items()})
    wrong = []
    for key, (_, data) in load.acked.items():
        reply = replies[key]
        if reply.status_code != 202 or reply.headers.get("Idempotent-Replayed") != "true":
            wrong.append(f"{key}: {reply.status_code} replayed={reply.headers.get('Idempotent-Replayed')}")
        elif reply.json()["data"] != data:
            wrong.append(f"{key}: replayed {reply.json()['data']} instead of {data}")
    assert not wrong, f"{len(wrong)} of {len(load.acked)} acknowledged keys did not replay: {wrong[:5]}"
    for key, reply in _replay_all(base_url, load.session, load.unanswered).items():
        data = assert_accepted(reply)
        if key in listed_before:
            assert reply.headers.get("Idempotent-Replayed") == "true", f"{key} was committed: it must replay"
            assert data["id"] == listed_before[key], key
        else:
            assert reply.headers.get("Idempotent-Replayed") is None, f"{key} was never committed: {reply.text}"
    final = assert_listed_once(base_url, load)
    assert set(final) == set(load.acked) | set(load.unanswered), "every key is scheduled exactly once in the end"


def _serve_args(state: Path, workers: int) -> tuple[str, ...]:
    return ("--state", str(state), "--workers", str(workers), "--rate-limit", "off")


def crash_cycles(state: Path, workers: int, cycles: int, budget: int, kill_after: int) -> int:
    """Run `cycles` of load, kill -9 and restart on one state file; check every cycle so far after each."""
    loads: list[Load] = []
    server = MockProcess(*_serve_args(state, workers)).start()
    try:
        for cycle in range(cycles):
            load = load_and_kill(server, new_session(f"crash{cycle}"), budget, kill_after)
            loads.append(load)
            server = MockProcess(*_serve_args(state, workers)).start()
            assert_recovered(server.base_url, load)
            for earlier in loads[:-1]:
                assert_listed_once(server.base_url, earlier)  # an older cycle survives the newer crashes
        return sum(len(load.acked) for load in loads)
    finally:
        server.stop()


@pytest.mark.parametrize("workers", [1, 2])
def test_kill_9_mid_load_loses_and_duplicates_nothing(tmp_path: Path, workers: int) -> None:
    acknowledged = crash_cycles(tmp_path / "state.sqlite3", workers, cycles=1, budget=400, kill_after=200)
    assert acknowledged >= 200


@pytest.mark.nightly
@pytest.mark.parametrize("workers", [1, 2])
def test_repeated_kill_9_cycles_lose_and_duplicate_nothing(tmp_path: Path, workers: int) -> None:
    acknowledged = crash_cycles(tmp_path / "state.sqlite3", workers, cycles=6, budget=960, kill_after=600)
    assert acknowledged >= 3600
