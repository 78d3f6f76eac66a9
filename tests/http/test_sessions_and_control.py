"""`X-Mock-Session` isolation and the control API's reset, fixtures and input checks."""

from __future__ import annotations

import copy

import pytest
from helpers import (
    add_fault,
    advance,
    assert_accepted,
    assert_error,
    assert_ok,
    fixtures,
    freeze,
    journal,
    list_messages,
    pending_faults,
    post,
    replace_fixtures,
)

from contract_rules import dm
from support.mock_fixtures import GROUP, PROSPECT

WEDNESDAY_10_NY = "2026-04-29T14:00:00.000Z"


def test_sessions_do_not_share_keys_messages_clock_or_journal(api, control, new_session):
    other_api, other_control = new_session()
    freeze(control, WEDNESDAY_10_NY)
    mine = assert_accepted(post(api, key="same-key"))
    assert mine["scheduledAt"] == WEDNESDAY_10_NY

    theirs_response = post(other_api, dm(message="a different body"), key="same-key")
    theirs = assert_accepted(theirs_response)
    assert "idempotent-replayed" not in theirs_response.headers
    assert theirs["id"] != mine["id"]
    assert theirs["scheduledAt"] != WEDNESDAY_10_NY, "the other session's clock is real time, not frozen"

    assert [m["id"] for m in list_messages(control)] == [mine["id"]]
    assert [m["id"] for m in list_messages(other_control)] == [theirs["id"]]
    assert assert_ok(other_control.get("/clock"))["frozen"] is False
    assert [e["traceId"] for e in journal(other_control)] == [theirs_response.headers["x-trace-id"]]
    assert len(journal(control)) == 1


def test_sessions_do_not_share_fixtures(api, control, new_session):
    other_api, other_control = new_session()
    document = copy.deepcopy(fixtures(control))
    [acme] = [group for group in document["accountGroups"] if group["id"] == GROUP]
    acme["prospects"] = [prospect for prospect in acme["prospects"] if prospect["id"] != PROSPECT]
    replace_fixtures(control, document)
    assert_error(post(api), 422, "VALIDATION_ERROR")
    assert_accepted(post(other_api))
    assert fixtures(other_control) != fixtures(control)


def test_sent_inmail_conversation_stays_in_its_session(api, control, new_session):
    other_api, _ = new_session()
    freeze(control, WEDNESDAY_10_NY)
    inmail = {"prospectId": "prs_grace_hopper", "message": "Hi", "channel": "inmail", "subject": "Hello"}
    assert_accepted(post(api, inmail))
    advance(control, 1)
    assert_error(post(api, inmail), 409, "INMAIL_NOT_ELIGIBLE")
    assert_accepted(post(other_api, inmail))


def test_reset_restores_fixtures_and_clears_messages_keys_clock_and_faults(api, control):
    demo = fixtures(control)
    freeze(control, WEDNESDAY_10_NY)
    first = assert_accepted(post(api, key="before-reset"))
    changed = copy.deepcopy(demo)
    changed["accountGroups"][0]["schedule"]["minGapSeconds"] = 600
    replace_fixtures(control, changed)
    add_fault(control, status=500, count=5)

    assert_ok(control.post("/reset"))

    assert fixtures(control) == demo
    assert list_messages(control) == []
    assert pending_faults(control) == []
    assert journal(control) == []
    assert assert_ok(control.get("/clock"))["frozen"] is False
    again = post(api, dm(message="a different body"), key="before-reset")
    data = assert_accepted(again)
    assert "idempotent-replayed" not in again.headers
    assert data["id"] != first["id"]


def test_replacing_fixtures_clears_messages_and_keys_but_keeps_the_clock(api, control):
    freeze(control, WEDNESDAY_10_NY)
    assert_accepted(post(api, key="k"))
    replace_fixtures(control, fixtures(control))
    assert list_messages(control) == []
    clock = assert_ok(control.get("/clock"))
    assert (clock["now"], clock["frozen"]) == (WEDNESDAY_10_NY, True)
    assert "idempotent-replayed" not in post(api, dm(message="other"), key="k").headers


@pytest.mark.parametrize(
    "session",
    [pytest.param("has space", id="space"), pytest.param("x" * 65, id="too_long"), pytest.param("a/b", id="slash")],
)
def test_invalid_session_header_is_400_on_api_and_control(api, control, session):
    assert_error(post(api, headers={"X-Mock-Session": session}), 400, "VALIDATION_ERROR")
    assert_error(control.get("/clock", headers={"X-Mock-Session": session}), 400, "VALIDATION_ERROR")


def test_empty_session_header_is_400(api):
    assert_error(post(api, headers={"X-Mock-Session": ""}), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    "document",
    [
        pytest.param({}, id="empty"),
        pytest.param({"accountGroups": [], "apiKeys": []}, id="no_groups"),
        pytest.param({"accountGroups": [{"id": "ag"}], "apiKeys": [], "extra": 1}, id="unknown_member"),
        pytest.param(
            {"accountGroups": [{"id": "ag", "schedule": {"timezone": "Mars/Olympus"}}], "apiKeys": []},
            id="unknown_timezone",
        ),
        pytest.param({"accountGroups": [{"id": "ag", "schedule": {"start": "25:00"}}], "apiKeys": []}, id="bad_hour"),
    ],
)
def test_invalid_fixtures_are_400_and_change_nothing(api, control, document):
    before = fixtures(control)
    assert_error(control.put("/fixtures", json=document), 400, "VALIDATION_ERROR")
    assert fixtures(control) == before
    assert_accepted(post(api))


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        pytest.param("PUT", "/clock", {}, id="clock_empty_change"),
        pytest.param("PUT", "/clock", {"now": "yesterday"}, id="clock_not_a_date"),
        pytest.param("PUT", "/clock", {"now": "9999-01-01T00:00:00Z"}, id="clock_too_late"),
        pytest.param("POST", "/clock/advance", {"seconds": -1}, id="advance_backwards"),
        pytest.param("POST", "/clock/advance", {}, id="advance_without_seconds"),
        pytest.param("POST", "/faults", {"status": 404}, id="fault_undocumented_status"),
        pytest.param("POST", "/faults", {"status": 500, "count": 0}, id="fault_zero_count"),
    ],
)
def test_invalid_control_requests_are_400(control, method, path, body):
    assert_error(control.request(method, path, json=body), 400, "VALIDATION_ERROR")


def test_messages_of_unknown_group_is_404(control):
    assert_error(control.get("/accounts/ag_no_such_group/messages"), 404, "NOT_FOUND")


def test_messages_filter_by_status(api, control):
    freeze(control, "2026-04-30T00:00:00.000Z")  # Wednesday 20:00 New York: deferred
    data = assert_accepted(post(api))
    assert [m["id"] for m in list_messages(control, status="scheduled")] == [data["id"]]
    assert list_messages(control, status="queued") == []
    assert_error(control.get(f"/accounts/{GROUP}/messages", params={"status": "lost"}), 400, "VALIDATION_ERROR")
