"""faults: the next N matching requests get the injected fault, then it is gone."""

from __future__ import annotations

import pytest

from mock_server.domain import faults

PATH = "/v1/accounts/ag_acme/messages/responses"


def add(conn, session: str, request: dict) -> dict:
    """Add a rule as the control API would: from its request body."""
    return faults.add(conn, session, faults.FaultRule.from_request(request))


def effect(fault: faults.Fault | None) -> tuple | None:
    """What a hit does that these tests care about: (status, latency in ms)."""
    return None if fault is None else (fault.status, fault.latency_ms)


def test_without_faults_nothing_is_taken(conn):
    assert faults.take(conn, "s1", "POST", PATH) is None


def test_a_fault_applies_to_count_requests_then_is_gone(conn):
    add(conn, "s1", {"status": 500, "count": 2})
    taken = [effect(faults.take(conn, "s1", "POST", PATH)) for _ in range(3)]
    assert taken == [(500, 0), (500, 0), None]
    assert faults.pending(conn, "s1") == []


def test_a_fault_applies_once_by_default(conn):
    add(conn, "s1", {"status": 502})
    assert effect(faults.take(conn, "s1", "POST", PATH)) == (502, 0)
    assert faults.take(conn, "s1", "POST", PATH) is None


def test_pending_shows_the_uses_left(conn):
    add(conn, "s1", {"status": 500, "count": 3})
    faults.take(conn, "s1", "POST", PATH)
    assert [f["remaining"] for f in faults.pending(conn, "s1")] == [2]


def test_a_latency_fault_carries_no_status(conn):
    add(conn, "s1", {"latencyMs": 250})
    assert effect(faults.take(conn, "s1", "POST", PATH)) == (None, 250)


def test_a_method_filter_matches_case_insensitively_and_only_that_method(conn):
    add(conn, "s1", {"status": 500, "method": "post"})
    assert faults.take(conn, "s1", "GET", PATH) is None
    assert effect(faults.take(conn, "s1", "post", PATH)) == (500, 0)


def test_a_path_prefix_matches_only_paths_that_start_with_it(conn):
    add(conn, "s1", {"status": 500, "pathPrefix": "/v1/accounts/ag_acme/"})
    assert faults.take(conn, "s1", "POST", "/v1/accounts/ag_globex/messages/responses") is None
    assert effect(faults.take(conn, "s1", "POST", PATH)) == (500, 0)


@pytest.mark.parametrize("prefix", ["/v1/%", "/v1/accounts/ag_acm_", "/V1/"])
def test_a_path_prefix_is_literal_and_case_sensitive(conn, prefix):
    add(conn, "s1", {"status": 500, "pathPrefix": prefix})
    assert faults.take(conn, "s1", "POST", PATH) is None


def test_a_non_matching_request_leaves_the_fault_for_later(conn):
    add(conn, "s1", {"status": 500, "method": "POST"})
    faults.take(conn, "s1", "GET", PATH)
    assert effect(faults.take(conn, "s1", "POST", PATH)) == (500, 0)


def test_the_oldest_matching_fault_is_used_first(conn):
    add(conn, "s1", {"status": 500})
    add(conn, "s1", {"status": 502})
    assert [faults.take(conn, "s1", "POST", PATH).status for _ in range(2)] == [500, 502]


def test_faults_belong_to_their_session(conn):
    add(conn, "s1", {"status": 500})
    assert faults.take(conn, "s2", "POST", PATH) is None
    assert faults.take(conn, "s1", "POST", PATH) is not None


def test_clear_removes_the_sessions_faults_only(conn):
    add(conn, "s1", {"status": 500})
    add(conn, "s2", {"status": 500})
    faults.clear(conn, "s1")
    assert (faults.pending(conn, "s1"), len(faults.pending(conn, "s2"))) == ([], 1)
