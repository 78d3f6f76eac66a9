"""The request journal (newest first, bounded, redacted, filtered) and the trace id of every response."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import (
    DM_BODY,
    add_fault,
    assert_accepted,
    assert_error,
    assert_ok,
    bearer,
    envelope,
    freeze,
    group_path,
    journal,
    post,
)
from starlette.testclient import TestClient

from mock_server import MockConfig, create_app
from mock_server.domain.clock import from_iso
from mock_server.domain.errors import DatabaseUnavailable
from mock_server.http import handlers
from support.mock_fixtures import API_KEY, GLOBEX_KEY, OTHER_GROUP, READONLY_KEY, RESPONSES_PATH, REVOKED_KEY
from support.mock_process import MockProcess

WRITER_NAME = "Acme integration key (messages:write)"


def settled_journal(control: httpx.Client, count: int, timeout: float = 2.0) -> list[dict]:
    """The journal once it holds `count` entries.

    The wait is only there so that the tests below check the journal's content: that an entry can be
    missing right after its response arrived is a bug of its own, shown by
    test_journal_entry_exists_as_soon_as_the_response_arrives.
    """
    deadline = time.monotonic() + timeout
    entries = journal(control)
    while len(entries) < count and time.monotonic() < deadline:
        time.sleep(0.02)
        entries = journal(control)
    return entries


def test_journal_entry_exists_as_soon_as_the_response_arrives(api, control, mock_session):
    """A client that reads the journal right after a response must find that response in it.

    Fresh sessions over the same kept-alive connections: there the lag shows in about half the attempts.
    """
    missing = []
    for attempt in range(50):
        session = {"X-Mock-Session": f"{mock_session}-{attempt}"}
        trace_id = post(api, headers=session).headers["x-trace-id"]
        newest = control.get("/journal", params={"limit": 1}, headers=session).json()["data"]["entries"]
        if not newest or newest[0]["traceId"] != trace_id:
            missing.append(attempt)
    assert not missing, f"journal lagged behind the response in attempts {missing} of 50"


def test_journal_is_newest_first_with_status_trace_id_and_key(api, control):
    sent = [
        post(api, key="first"),
        post(api, {"prospectId": "prs_nobody", "message": "hi"}, key="second"),
        post(api, {"message": ""}, key="third"),
        post(api),
    ]
    entries = settled_journal(control, len(sent))
    assert len(entries) == len(sent)
    for entry, response in zip(entries, reversed(sent), strict=True):
        assert entry["status"] == response.status_code
        assert entry["traceId"] == envelope(response)["traceId"] == response.headers["x-trace-id"]
        assert entry["method"] == "POST"
        assert entry["path"] == RESPONSES_PATH
        assert entry["apiKey"] == WRITER_NAME
    assert [entry["idempotencyKey"] for entry in entries] == [None, "third", "second", "first"]
    assert [entry["status"] for entry in entries] == [202, 400, 422, 202]
    assert [entry["at"] for entry in entries] == sorted((entry["at"] for entry in entries), reverse=True)


def test_journal_records_rejected_requests_too(bare, api, control):
    control.get("/clock")  # the session exists, so its keyless requests are journaled too
    responses = [
        post(bare),
        post(api, headers=bearer(READONLY_KEY)),
        post(api, headers={"Prefer": "code=409"}),
        api.get(RESPONSES_PATH),
    ]
    add_fault(control, status=500)
    responses.append(post(api))
    entries = settled_journal(control, len(responses))
    assert [entry["status"] for entry in entries] == [500, 405, 409, 403, 401]
    assert [entry["traceId"] for entry in entries] == [r.headers["x-trace-id"] for r in reversed(responses)]
    assert entries[-1]["apiKey"] is None
    assert entries[-2]["apiKey"] == "Acme read-only key (no messages:write)"


def test_journal_never_contains_an_api_key(bare, api, control):
    basic = "Basic " + base64.b64encode(f"{API_KEY}:x".encode()).decode()
    for key in (API_KEY, READONLY_KEY, REVOKED_KEY, GLOBEX_KEY, "sk_test_unknown_secret"):
        post(bare, headers=bearer(key))
        post(bare, headers=bearer(key), path=group_path(OTHER_GROUP))
    post(bare, headers={"Authorization": basic})
    post(bare, headers={"Authorization": API_KEY})
    entries = settled_journal(control, 12)
    assert len(entries) == 12
    raw = control.get("/journal").text
    assert "sk_test_" not in raw
    assert base64.b64encode(API_KEY.encode()).decode()[:12] not in raw
    names = {entry["apiKey"] for entry in entries}
    assert WRITER_NAME in names
    assert "Globex integration key (messages:write)" in names


def test_journal_does_not_list_control_calls(api, control):
    control.get("/clock")
    control.get("/fixtures")
    assert_accepted(post(api))
    time.sleep(0.2)
    assert len(settled_journal(control, 1)) == 1


def test_journal_limit(api, control):
    for _ in range(3):
        post(api)
    settled_journal(control, 3)
    entries = control.get("/journal", params={"limit": 2}).json()["data"]["entries"]
    assert len(entries) == 2


def test_trace_id_matches_the_header_and_differs_between_responses(bare, api, control):
    responses: list[httpx.Response] = [
        post(api),
        post(api),
        post(api, key="same"),
        post(api, key="same"),
        post(api, {"message": ""}),
        post(bare),
        post(api, headers=bearer(READONLY_KEY)),
        post(api, headers={"Prefer": "code=202"}),
        api.get("/v1/nope"),
        api.get(RESPONSES_PATH),
        control.get("/clock"),
    ]
    trace_ids = [envelope(response)["traceId"] for response in responses]
    assert all(trace_id.strip() for trace_id in trace_ids)
    assert len(set(trace_ids)) == len(trace_ids), trace_ids


def test_trace_id_on_guard_errors(api):
    """Errors raised before routing (session header, body size) carry a trace id too."""
    assert_error(post(api, headers={"X-Mock-Session": "bad session"}), 400, "VALIDATION_ERROR")
    big = post(api, content=b"x" * (1024 * 1024 + 10))
    assert_error(big, 400, "VALIDATION_ERROR")


# A journal worth reading: bodies, error codes, both clocks, filters, polling; bounded against noise.

FROZEN = "2026-03-09T10:00:00.000Z"


def entries(control: httpx.Client, **params) -> list[dict]:
    return assert_ok(control.get("/journal", params=params))["entries"]


def test_an_entry_shows_bodies_error_code_duration_and_the_mock_clock_next_to_the_wall_clock(api, control):
    started = time.time()
    freeze(control, FROZEN)
    accepted = post(api, key="once")
    conflict = post(api, {**DM_BODY, "message": "something else"}, key="once")
    assert_accepted(accepted)
    assert_error(conflict, 409, "IDEMPOTENCY_CONFLICT")
    newest, oldest = settled_journal(control, 2)
    ended = time.time()
    assert newest["code"] == "IDEMPOTENCY_CONFLICT"
    assert newest["requestBody"] == {**DM_BODY, "message": "something else"}
    assert newest["responseBody"] == conflict.json()
    assert oldest["code"] is None
    assert oldest["requestBody"] == DM_BODY
    assert oldest["responseBody"] == accepted.json()
    for entry in (newest, oldest):
        assert entry["mockTime"] == FROZEN
        # `at` is the wall clock when the request arrived (shown to the millisecond), whatever the mock clock says
        assert started - 0.001 <= from_iso(entry["at"]) <= ended + 0.001, (entry["at"], started, ended)
        assert isinstance(entry["durationMs"], int | float) and 0 <= entry["durationMs"] < 10_000
    assert newest["seq"] > oldest["seq"]


def test_bodies_are_cut_with_a_marker_and_keys_in_them_are_redacted(api, control):
    pasted = f"my key {API_KEY}, the live one sk_live_51HxyzABC and more"
    assert_accepted(post(api, {**DM_BODY, "message": pasted}))
    huge = post(api, {**DM_BODY, "message": pasted + "x" * 100_000})
    assert_error(huge, 400, "VALIDATION_ERROR")
    cut, kept = settled_journal(control, 2)
    assert kept["requestBody"]["message"] == "my key [redacted], the live one [redacted] and more"
    assert isinstance(cut["requestBody"], str)
    head, marker = cut["requestBody"].split("…[truncated ")
    assert len(head) == 8192 and marker.endswith(" bytes]")
    assert int(marker.removesuffix(" bytes]")) > 90_000
    raw = control.get("/journal").text
    assert API_KEY not in raw and "sk_live_" not in raw and "sk_test_" not in raw


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (
            b'{"prospectId": "prs_ada_lovelace", "message": "\\ud800"}',
            "a lone surrogate escape no UTF-8 response carries",
        ),
        (b"[" * 3000 + b"]" * 3000, "nesting past Python's recursion limit"),
        (b"[" * 990 + b"]" * 990, "nesting just under it"),
    ],
)
def test_the_journal_shows_a_body_it_cannot_send_back_as_json_as_text(api, control, raw, why):
    refused = api.post(RESPONSES_PATH, content=raw, headers={"Content-Type": "application/json"})
    assert_error(refused, 400, "VALIDATION_ERROR")
    listed = control.get("/journal", params={"limit": 1})
    assert listed.status_code == 200, why
    body = listed.json()["data"]["entries"][0]["requestBody"]
    assert body == raw.decode() or isinstance(body, list), why


def test_filters_by_status_class_code_path_and_idempotency_key(api, control):
    assert_accepted(post(api, key="a"))
    assert_error(post(api, {**DM_BODY, "message": "other"}, key="a"), 409, "IDEMPOTENCY_CONFLICT")
    assert_error(post(api, {"message": ""}, key="b"), 400, "VALIDATION_ERROR")
    assert_error(post(api, path=group_path(OTHER_GROUP)), 403, "FORBIDDEN")
    settled_journal(control, 4)
    assert [e["status"] for e in entries(control, status="409")] == [409]
    assert [e["status"] for e in entries(control, status="4xx")] == [403, 400, 409]
    assert [e["code"] for e in entries(control, code="VALIDATION_ERROR")] == ["VALIDATION_ERROR"]
    assert [e["status"] for e in entries(control, path=group_path(OTHER_GROUP))] == [403]
    assert [e["status"] for e in entries(control, path="/v1/accounts/ag_acme/")] == [400, 409, 202]
    assert [e["status"] for e in entries(control, idempotencyKey="a")] == [409, 202]
    assert [e["status"] for e in entries(control, idempotencyKey="a", status="2xx")] == [202]
    assert entries(control, code="RATE_LIMITED") == []


def test_polling_with_since_the_largest_seq_seen_misses_nothing(api, control):
    sent = [post(api).headers["x-trace-id"] for _ in range(5)]
    settled_journal(control, 5)
    seen: list[str] = []
    since = 0
    for _ in range(10):
        page = entries(control, since=str(since), limit=2)
        if not page:
            break
        assert [e["seq"] for e in page] == sorted((e["seq"] for e in page), reverse=True)
        seen.extend(e["traceId"] for e in reversed(page))
        since = page[0]["seq"]
    assert seen == sent
    post(api)
    [new] = entries(control, since=str(since))
    assert new["seq"] > since


def test_since_a_wall_time_lists_the_entries_at_or_after_it(api, control):
    for _ in range(3):
        post(api)
        time.sleep(0.005)  # `since` is to the millisecond, and a POST can take less than one
    oldest_first = list(reversed(settled_journal(control, 3)))
    after = entries(control, since=oldest_first[1]["at"])
    assert [e["traceId"] for e in after] == [e["traceId"] for e in reversed(oldest_first[1:])]


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"status": "4x"}, "status"),
        ({"status": "600"}, "status"),
        ({"since": "last tuesday"}, "since"),
        ({"code": "lower-case"}, "code"),
        ({"path": "/" * 3000}, "path"),
    ],
)
def test_a_filter_that_means_nothing_is_a_400_naming_it(control, params, named):
    error = assert_error(control.get("/journal", params=params), 400, "VALIDATION_ERROR")
    assert named in (error["details"] or "")


def test_a_keyless_request_naming_an_unknown_session_leaves_nothing(bare, mock_url, mock_session):
    """A stranger's request creates no session, so it can leave no journal entry either."""
    assert_error(post(bare), 401, "UNAUTHORIZED")
    with httpx.Client(base_url=f"{mock_url}/__mock", headers={"X-Mock-Session": mock_session}) as control:
        assert entries(control) == []


def state_bytes(state: Path) -> int:
    return sum(p.stat().st_size for p in state.parent.glob(state.name + "*") if p.is_file())


def test_keyless_noise_never_pushes_out_a_sessions_entries_and_costs_bounded_space(tmp_path):
    """Issue 8 measured 1,200 keyless requests with a 65,000-character path adding 64 MB and pushing a
    session's real entries out. Here 1,500 with 30,000-character paths (under the header limit): the
    session's authenticated entries all stay, the noise keeps to its own ring, each path cut to 2 KiB."""
    state = tmp_path / "state.db"
    noisy_path = f"/v1/accounts/{'x' * 30_000}/messages/responses"
    session = {"X-Mock-Session": "team-a"}
    with MockProcess("--rate-limit", "off", "--state", str(state)) as mock:
        with httpx.Client(base_url=mock.base_url, headers=session, timeout=30) as client:
            real = [post(client, headers=bearer(API_KEY), key=f"real-{n}").headers["x-trace-id"] for n in range(50)]
            before = state_bytes(state)
            for _ in range(1500):
                assert client.post(noisy_path, json={}).status_code == 401
            after = state_bytes(state)
            control = httpx.Client(base_url=f"{mock.base_url}/__mock", headers=session, timeout=30)
            listed = entries(control, limit=1000)
            control.close()
    authenticated = [e for e in listed if e["apiKey"] is not None]
    noise = [e for e in listed if e["apiKey"] is None]
    assert [e["traceId"] for e in reversed(authenticated)] == real
    assert 200 <= len(noise) < 232  # its ring: the newest 200, trimmed every 32 entries
    assert all(len(e["path"]) < 2100 and e["path"].endswith(" chars]") for e in noise)
    grown = after - before
    assert grown < 8 * 1024 * 1024, f"1,500 keyless requests grew the state by {grown} bytes"


def test_an_injected_fault_is_named_in_its_entry_and_a_dropped_connection_is_journaled_without_status(api, control):
    [unavailable] = add_fault(control, status=503)
    assert_error(post(api), 503, "SERVICE_UNAVAILABLE")
    [dropped] = add_fault(control, connection="drop")
    with pytest.raises(httpx.TransportError):
        post(api)
    newest, oldest = settled_journal(control, 2)
    assert (oldest["status"], oldest["code"], oldest["fault"]) == (503, "SERVICE_UNAVAILABLE", unavailable["id"])
    assert (newest["status"], newest["code"], newest["fault"]) == (None, None, dropped["id"])
    assert newest["requestBody"] == DM_BODY
    assert_accepted(post(api))
    assert settled_journal(control, 3)[0]["fault"] is None


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast-path", "full-path"])
def test_a_202_whose_commit_fails_leaves_the_503_in_the_journal_not_the_202(
    monkeypatch: pytest.MonkeyPatch, fast_path: bool
) -> None:
    """A 202 and its journal entry commit together; when the commit fails (the database went away at that moment),
    the client gets a 503 and the journal shows that 503, not a 202 nobody received."""
    real = handlers.queue_response

    def commit_fails(*args: Any, also: Any, **kwargs: Any) -> Any:
        def failing(tx: Any, outcome: Any) -> None:
            also(tx, outcome)  # the journal entry, written in the transaction
            raise DatabaseUnavailable()  # and then the transaction does not commit

        return real(*args, also=failing, **kwargs)

    monkeypatch.setattr(handlers, "queue_response", commit_fails)
    with TestClient(create_app(MockConfig(rate_limit="off", fast_path=fast_path))) as client:
        refused = client.post(RESPONSES_PATH, json=DM_BODY, headers=bearer(API_KEY))
        assert_error(refused, 503, "SERVICE_UNAVAILABLE")
        entries = client.get("/__mock/journal").json()["data"]["entries"]
        assert [entry["status"] for entry in entries] == [503]
        assert client.get("/__mock/accounts/ag_acme/messages").json()["data"]["messages"] == []
