"""A replica killed, the database restarted, both under load: no 202 is lost, no key stored twice.

The load keeps going through the failure with the retries a client makes (`load.py`); afterwards every
acknowledged key must replay its original data through the replicas that are left, and the group's list
must hold exactly one message per stored key.
"""

from __future__ import annotations

import time
import uuid

import httpx
from reliability.helpers import assert_accepted, assert_error, assert_stored_once, dm_body

from support.mock_fixtures import GROUP

from .conftest import Fleet
from .helpers import TIMEOUT, WEDNESDAY_10_NY, assert_replays, describe, freeze, post_response
from .load import Load

BEFORE, AFTER = 60, 60  # 202s before the failure, and after it (or after recovery)
DOWNTIME = 1.5  # seconds the database stays down, at least
RECOVERY = 30.0  # seconds the fleet gets to find the database again


def test_kill_9_of_one_replica_under_load_loses_and_duplicates_nothing(fleet: Fleet, session: str) -> None:
    freeze(fleet.urls[0], session, WEDNESDAY_10_NY)
    victim, survivors = fleet.replicas[2], fleet.urls[:2]
    load = Load(session, list(fleet.urls)).start()
    try:
        load.wait_acked(BEFORE)
        victim.kill()
        load.drain(victim.base_url)
        load.wait_acked(len(load.acked) + AFTER)
    finally:
        load.finish()

    assert not load.unexpected and not load.unanswered, load.summary()
    assert_replays(survivors, session, load.acked)
    listed = assert_stored_once(survivors[1], session, GROUP, load.acked, load.sent)
    assert len(listed) >= len(load.acked), load.summary()


def _assert_database_down(fleet: Fleet) -> None:
    """While the database is down each replica lives (`/healthz` 200) but is not ready (`/readyz` 503)."""
    for url in fleet.urls:
        ready = httpx.get(f"{url}/readyz", timeout=TIMEOUT)
        assert_error(ready, 503, "SERVICE_UNAVAILABLE")
        assert ready.headers.get("retry-after"), describe(ready)
        health = httpx.get(f"{url}/healthz", timeout=TIMEOUT)
        assert health.status_code == 200, describe(health)
        assert health.json()["data"]["database"]["reachable"] is False, describe(health)


def _wait_ready(fleet: Fleet) -> None:
    deadline = time.monotonic() + RECOVERY
    waiting = list(fleet.urls)
    while waiting and time.monotonic() < deadline:
        waiting = [url for url in waiting if httpx.get(f"{url}/readyz", timeout=TIMEOUT).status_code != 200]
        time.sleep(0.2)
    assert not waiting, f"not ready {RECOVERY}s after the database came back: {waiting}"


def test_a_database_restart_under_load_gives_503s_never_a_500_and_the_fleet_recovers(
    fleet: Fleet, session: str
) -> None:
    freeze(fleet.urls[0], session, WEDNESDAY_10_NY)
    load = Load(session, list(fleet.urls)).start()
    try:
        load.wait_acked(BEFORE)
        stopped = time.monotonic()
        fleet.cluster.stop("fast")
        try:
            _assert_database_down(fleet)
            time.sleep(max(0.0, DOWNTIME - (time.monotonic() - stopped)))
        finally:
            fleet.cluster.start()
        _wait_ready(fleet)
        load.wait_acked(len(load.acked) + AFTER, timeout=RECOVERY)
    finally:
        load.finish()

    assert not load.unexpected and not load.unanswered, load.summary()
    assert load.unavailable, f"no request met the database down, so it was not restarted under load: {load.summary()}"
    assert all(replica.process and replica.process.poll() is None for replica in fleet.replicas), "a replica died"
    fresh_keys = {f"after-{n}-{uuid.uuid4().hex[:8]}": url for n, url in enumerate(fleet.urls)}
    with httpx.Client(timeout=TIMEOUT) as client:
        for key, url in fresh_keys.items():
            assert_accepted(post_response(client, url, session, key, dm_body(f"After the restart {key}")), False)
    assert_replays(fleet.urls, session, load.acked)
    assert_stored_once(fleet.urls[0], session, GROUP, load.acked, set(load.sent) | set(fresh_keys))
