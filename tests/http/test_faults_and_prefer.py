"""Fault injection (`POST /__mock/faults`) and `Prefer: code=...` examples, as a frontend sees them."""

from __future__ import annotations

import time

import pytest
from helpers import (
    add_fault,
    assert_accepted,
    assert_error,
    bearer,
    documented_example,
    documented_statuses,
    envelope,
    list_messages,
    pending_faults,
    post,
)

from contract_rules import dm
from support.mock_fixtures import READONLY_KEY


@pytest.mark.parametrize(("status", "code"), [(500, "INTERNAL_ERROR"), (502, "UPSTREAM_ERROR"), (429, "RATE_LIMITED")])
def test_fault_answers_the_next_n_requests_then_the_real_response(api, control, status, code):
    add_fault(control, status=status, count=2)
    for _ in range(2):
        response = post(api)
        assert_error(response, status, code)
        if status == 429:
            assert response.headers["Retry-After"].isdigit() and int(response.headers["Retry-After"]) >= 1
        else:
            assert "retry-after" not in response.headers
    assert_accepted(post(api))
    assert pending_faults(control) == []
    assert len(list_messages(control)) == 1


def test_fault_without_count_applies_once(api, control):
    add_fault(control, status=502)
    assert_error(post(api), 502, "UPSTREAM_ERROR")
    assert_accepted(post(api))


def test_fault_comes_before_validation(api, control):
    add_fault(control, status=500)
    assert_error(post(api, content=b"{not json"), 500, "INTERNAL_ERROR")


def test_fault_comes_after_authentication_and_is_not_consumed(bare, api, control):
    add_fault(control, status=500)
    assert_error(post(bare), 401, "UNAUTHORIZED")
    assert_error(post(api, headers=bearer(READONLY_KEY)), 403, "FORBIDDEN")
    assert [fault["remaining"] for fault in pending_faults(control)] == [1]
    assert_error(post(api), 500, "INTERNAL_ERROR")


def test_latency_delays_the_response(api, control):
    add_fault(control, latencyMs=400)
    started = time.monotonic()
    response = post(api)
    elapsed = time.monotonic() - started
    assert_accepted(response)
    assert 0.4 <= elapsed < 5.0, elapsed
    started = time.monotonic()
    assert_accepted(post(api))
    assert time.monotonic() - started < 0.4, "latency applies to the next request only"


def test_latency_with_status(api, control):
    add_fault(control, status=502, latencyMs=300)
    started = time.monotonic()
    assert_error(post(api), 502, "UPSTREAM_ERROR")
    assert 0.3 <= time.monotonic() - started < 5.0


@pytest.mark.parametrize("status", [500, 502, 429])
def test_fault_responses_do_not_bind_the_idempotency_key(api, control, status):
    add_fault(control, status=status)
    post(api, dm(message="first body"), key="after-fault")
    retried = post(api, dm(message="second body"), key="after-fault")
    data = assert_accepted(retried)
    assert "idempotent-replayed" not in retried.headers
    assert [m["id"] for m in list_messages(control)] == [data["id"]]


def test_faults_are_per_session(api, control, new_session):
    other_api, other_control = new_session()
    add_fault(control, status=500, count=1)
    assert_accepted(post(other_api))
    assert pending_faults(other_control) == []
    assert_error(post(api), 500, "INTERNAL_ERROR")


def test_fault_matches_method_and_path_prefix(api, control):
    add_fault(control, status=500, pathPrefix="/v1/accounts/ag_globex/")
    assert_accepted(post(api))
    assert len(pending_faults(control)) == 1


def test_delete_faults_removes_them(api, control):
    add_fault(control, status=500, count=3)
    assert control.delete("/faults").status_code == 200
    assert_accepted(post(api))


def test_prefer_409_returns_the_documented_example_with_a_fresh_trace_id(api, control):
    response = post(api, headers={"Prefer": "code=409"})
    assert_error(response, 409, "IDEMPOTENCY_CONFLICT")
    body = envelope(response)
    example = documented_example(409)
    assert {**body, "traceId": None} == {**example, "traceId": None}
    assert body["traceId"] != example["traceId"]
    assert body["traceId"] != envelope(post(api, headers={"Prefer": "code=409"}))["traceId"]
    assert list_messages(control) == []


def test_prefer_202_named_example(api, control):
    response = post(api, headers={"Prefer": "code=202, example=scheduled"})
    data = assert_accepted(response)
    assert data == documented_example(202, "scheduled")["data"]
    assert data["status"] == "scheduled" and data["deferred"] is True
    assert list_messages(control) == [], "an example schedules nothing"


@pytest.mark.parametrize("status", documented_statuses())
def test_prefer_every_documented_status(api, status):
    response = post(api, headers={"Prefer": f"code={status}"})
    assert response.status_code == status
    body = envelope(response)
    assert body["success"] is (status == 202)
    if status == 429:
        assert int(response.headers["Retry-After"]) >= 1


@pytest.mark.parametrize("preference", ["code=418", "code=200", "code=abc", "code=202, example=nope"])
def test_prefer_undocumented_is_400_naming_the_documented_statuses(api, preference):
    error = assert_error(post(api, headers={"Prefer": preference}), 400, "VALIDATION_ERROR")
    assert "Prefer" in error["details"]
    if "example" not in preference:
        for status in documented_statuses():
            assert str(status) in error["details"], error["details"]


def test_prefer_still_requires_auth(bare, api):
    assert_error(post(bare, headers={"Prefer": "code=202"}), 401, "UNAUTHORIZED")
    assert_error(post(api, headers={"Prefer": "code=202", **bearer(READONLY_KEY)}), 403, "FORBIDDEN")
