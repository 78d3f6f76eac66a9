"""Sessions are created only by requests that pass the checks, are cheap, capped in number and expire.

Through HTTP, as a team sharing the mock would notice: `GET /__mock/sessions` lists what exists, a flood of
refused requests with new `X-Mock-Session` names adds nothing, past `--max-sessions` a new session is a 429
with `Retry-After`, and an idle session is gone with its state.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from helpers import assert_accepted, assert_error, assert_ok, bearer, post

from mock_server.domain.clock import from_iso
from support.mock_fixtures import API_KEY, OTHER_GROUP, READONLY_KEY
from support.mock_process import MockProcess


def names(control: httpx.Client) -> set[str]:
    return {s["name"] for s in assert_ok(control.get("/sessions"))["sessions"]}


def sessions_by_name(control: httpx.Client) -> dict[str, dict]:
    return {s["name"]: s for s in assert_ok(control.get("/sessions"))["sessions"]}


def fresh(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def plain(mock_url: str) -> Iterator[httpx.Client]:
    """A client of the shared mock without any session or key header."""
    with httpx.Client(base_url=mock_url, timeout=30.0) as client:
        yield client


@pytest.fixture
def admin(mock_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{mock_url}/__mock", timeout=30.0) as client:
        yield client


def test_refused_and_unrouted_requests_create_no_session(plain, admin):
    flood: list[str] = []
    for _ in range(75):
        for name, send in (
            (fresh("healthz"), lambda s: plain.get("/healthz", headers={"X-Mock-Session": s})),
            (fresh("notfound"), lambda s: plain.get("/v1/no/such/route", headers={"X-Mock-Session": s})),
            (fresh("badkey"), lambda s: post(plain, headers={"X-Mock-Session": s, **bearer("sk_test_nobody_x")})),
            (fresh("readonly"), lambda s: post(plain, headers={"X-Mock-Session": s, **bearer(READONLY_KEY)})),
        ):
            assert send(name).status_code in (200, 401, 403, 404)
            flood.append(name)
    accepted = fresh("writer")
    assert_accepted(post(plain, headers={"X-Mock-Session": accepted, **bearer(API_KEY)}))
    forbidden_group = fresh("othergroup")
    response = post(
        plain,
        path=f"/v1/accounts/{OTHER_GROUP}/messages/responses",
        headers={"X-Mock-Session": forbidden_group, **bearer(API_KEY)},
    )
    assert_error(response, 403, "FORBIDDEN")

    listed = names(admin)
    assert len(flood) == 300
    assert not listed & {*flood, forbidden_group}, "a refused or unrouted request created a session"
    assert accepted in listed


def test_a_new_session_authenticates_against_the_base_fixtures(plain, admin):
    """A key that exists only in one session's replaced fixtures opens no other session."""
    owner = fresh("owner")
    owner_control = {"X-Mock-Session": owner}
    document = assert_ok(admin.get("/fixtures", headers=owner_control))
    document["apiKeys"].append(
        {
            "key": "sk_test_only_in_owner",
            "name": "owner's key",
            "permissions": ["messages:write"],
            "accountGroups": ["ag_acme"],
        }
    )
    assert_ok(admin.put("/fixtures", json=document, headers=owner_control))
    assert_accepted(post(plain, headers={"X-Mock-Session": owner, **bearer("sk_test_only_in_owner")}))

    stranger = fresh("stranger")
    assert_error(
        post(plain, headers={"X-Mock-Session": stranger, **bearer("sk_test_only_in_owner")}), 401, "UNAUTHORIZED"
    )
    assert stranger not in names(admin)
    assert_accepted(post(plain, headers={"X-Mock-Session": stranger, **bearer(API_KEY)}))
    listed = sessions_by_name(admin)
    assert listed[stranger]["size"]["ownFixtures"] is False
    assert listed[owner]["size"]["ownFixtures"] is True


def test_sessions_are_listed_with_their_size_and_can_be_deleted(plain, admin):
    name = fresh("listed")
    headers = {"X-Mock-Session": name, **bearer(API_KEY)}
    started = time.time()
    assert_accepted(post(plain, headers=headers, key="k-1"))
    assert_accepted(post(plain, headers=headers, key="k-2"))
    entry = sessions_by_name(admin)[name]
    ended = time.time()
    assert entry["size"]["messages"] == 2
    assert entry["size"]["idempotencyKeys"] == 2
    assert entry["size"]["faults"] == 0
    assert entry["size"]["ownFixtures"] is False
    assert entry["created"] <= entry["lastUsed"]
    # Wall-clock times of this test's own requests (milliseconds shown), at any hour and across a new year
    assert started - 0.001 <= from_iso(entry["created"]) <= from_iso(entry["lastUsed"]) <= ended + 0.001, entry

    dropped = assert_ok(admin.delete(f"/sessions/{name}"))
    assert dropped == {"session": name, "outcome": "deleted"}
    assert name not in names(admin)
    error = assert_error(admin.delete(f"/sessions/{name}"), 404, "NOT_FOUND")
    assert name in error["message"]
    # The name is free again: the next authenticated request starts a new, empty session.
    assert "idempotent-replayed" not in post(plain, headers=headers, key="k-1").headers
    assert sessions_by_name(admin)[name]["size"]["messages"] == 1


def test_deleting_an_invalid_session_name_or_fault_id_is_400_naming_it(admin):
    """The fuzz test of the control API leaves these two out of its rejection check (see its config)."""
    error = assert_error(admin.delete("/sessions/has space"), 400, "VALIDATION_ERROR")
    assert "name" in error["details"]
    for fault_id in ("abc", "0", "1.5", "-3", "9" * 17):
        error = assert_error(admin.delete(f"/faults/{fault_id}"), 400, "VALIDATION_ERROR")
        assert error["details"].startswith("faultId: "), error


@pytest.fixture(scope="module")
def capped() -> Iterator[MockProcess]:
    """A mock that holds at most three sessions (`default` and two more), behind a control token."""
    with MockProcess("--rate-limit", "off", "--max-sessions", "3", "--control-token", "ctl-secret-1") as server:
        yield server


def test_past_the_cap_a_new_session_is_429_with_retry_after(capped):
    control = httpx.Client(base_url=f"{capped.base_url}/__mock", headers=bearer("ctl-secret-1"), timeout=30.0)
    api = httpx.Client(base_url=capped.base_url, headers=bearer(API_KEY), timeout=30.0)
    with control, api:
        for name in ("first", "second"):
            assert_accepted(post(api, headers={"X-Mock-Session": name}))
        for response in (
            post(api, headers={"X-Mock-Session": "third"}),
            control.get("/clock", headers={"X-Mock-Session": "third"}),
        ):
            error = assert_error(response, 429, "RATE_LIMITED")
            assert "3" in error["details"] and "DELETE /__mock/sessions/{name}" in error["details"]
            assert 1 <= int(response.headers["retry-after"]) <= 24 * 3600
        assert names(control) == {"default", "first", "second"}
        assert_accepted(post(api, headers={"X-Mock-Session": "first"}))  # existing sessions keep working

        assert_ok(control.delete("/sessions/second"))
        assert_accepted(post(api, headers={"X-Mock-Session": "third"}))
        assert names(control) == {"default", "first", "third"}


def test_session_operations_need_the_control_token(capped):
    with httpx.Client(base_url=f"{capped.base_url}/__mock", timeout=30.0) as control:
        assert_error(control.get("/sessions"), 401, "UNAUTHORIZED")
        assert_error(control.delete("/sessions/first"), 401, "UNAUTHORIZED")


def test_deleting_default_resets_it(capped):
    control = httpx.Client(base_url=f"{capped.base_url}/__mock", headers=bearer("ctl-secret-1"), timeout=30.0)
    api = httpx.Client(base_url=capped.base_url, headers=bearer(API_KEY), timeout=30.0)
    with control, api:
        assert_ok(control.put("/clock", json={"now": "2026-04-29T14:00:00.000Z", "frozen": True}))
        assert_accepted(post(api))
        assert assert_ok(control.delete("/sessions/default")) == {"session": "default", "outcome": "reset"}
        assert "default" in names(control)
        assert assert_ok(control.get("/clock"))["frozen"] is False
        assert assert_ok(control.get("/accounts/ag_acme/messages"))["messages"] == []


def test_an_idle_session_expires_with_its_state():
    with MockProcess("--rate-limit", "off", "--session-idle", "1") as server:
        control = httpx.Client(base_url=f"{server.base_url}/__mock", timeout=30.0)
        api = httpx.Client(base_url=server.base_url, headers=bearer(API_KEY), timeout=30.0)
        with control, api:
            assert_accepted(post(api, headers={"X-Mock-Session": "idle"}, key="once"))
            busy_end = time.monotonic() + 2.0
            assert_accepted(post(api, headers={"X-Mock-Session": "busy"}, key="k0"))
            count = 1
            while time.monotonic() < busy_end:
                time.sleep(0.2)
                assert_accepted(post(api, headers={"X-Mock-Session": "busy"}, key=f"k{count}"))
                count += 1
            listed = sessions_by_name(control)
            assert "idle" not in listed, "a session unused for longer than --session-idle is gone"
            assert listed["busy"]["size"]["messages"] == count, "a session in use does not expire"
            assert "default" in listed, "`default` never expires"
            again = post(api, headers={"X-Mock-Session": "idle"}, key="once")
            assert_accepted(again)
            assert "idempotent-replayed" not in again.headers, "the expired session's keys went with it"


def test_a_session_costs_rows_not_a_copy_of_the_fixtures(tmp_path: Path):
    """With 5,000 prospects, each new session adds a few rows, not a copy of the data (1.25 MB before)."""
    demo = yaml.safe_load((Path(__file__).parents[2] / "mock_server" / "data" / "demo.yaml").read_text())
    demo["accountGroups"][0]["prospects"] += [
        {"id": f"prs_bulk_{i}", "name": f"Bulk {i}", "connected": True, "conversations": [f"cnv_bulk_{i}"]}
        for i in range(5000)
    ]
    data, state = tmp_path / "big.yaml", tmp_path / "state.db"
    data.write_text(yaml.safe_dump(demo))
    with MockProcess("--rate-limit", "off", "--data", str(data), "--state", str(state)) as server:
        with httpx.Client(base_url=server.base_url, headers=bearer(API_KEY), timeout=30.0) as api:
            assert_accepted(post(api, headers={"X-Mock-Session": "warm-up"}))
            before = sum(p.stat().st_size for p in tmp_path.glob("state.db*"))
            for index in range(100):
                assert_accepted(post(api, headers={"X-Mock-Session": f"s{index}"}))
            after = sum(p.stat().st_size for p in tmp_path.glob("state.db*"))
    assert (after - before) / 100 < 64 * 1024, f"{(after - before) / 100:.0f} bytes per session"
