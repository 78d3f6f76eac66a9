"""Fault injection (`/__mock/faults`) as a frontend sees it through HTTP; `Prefer` is in test_prefer_examples.py."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from helpers import (
    assert_accepted,
    assert_error,
    assert_ok,
    bearer,
    envelope,
    list_messages,
    pending_faults,
    post,
)

from contract_rules import dm
from support.mock_fixtures import API_KEY, READONLY_KEY, RESPONSES_PATH

MAX_FAULTS = 256


def add(control: httpx.Client, **fault: Any) -> dict[str, Any]:
    """Add one fault; the answer lists exactly that fault."""
    added = assert_ok(control.post("/faults", json=fault), 201)["faults"]
    assert len(added) == 1, added
    return added[0]


# --- HTTP error faults ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (500, "INTERNAL_ERROR"),
        (502, "UPSTREAM_ERROR"),
        (429, "RATE_LIMITED"),
        (503, "SERVICE_UNAVAILABLE"),
        (504, "GATEWAY_TIMEOUT"),
    ],
)
def test_fault_answers_the_next_n_requests_then_the_real_response(api, control, status, code):
    add(control, status=status, count=2)
    for _ in range(2):
        response = post(api)
        assert_error(response, status, code)
        if status in (429, 503, 504):
            assert response.headers["Retry-After"] == "1"
        else:
            assert "retry-after" not in response.headers
    assert_accepted(post(api))
    assert pending_faults(control) == []
    assert len(list_messages(control)) == 1


@pytest.mark.parametrize("status", [429, 503, 504])
def test_retry_after_is_the_one_asked_for(api, control, status):
    add(control, status=status, retryAfter=7)
    response = post(api)
    assert response.status_code == status
    assert response.headers["Retry-After"] == "7"
    assert "7 seconds" in envelope(response)["error"]["details"]


def test_fault_without_count_applies_once(api, control):
    add(control, status=502)
    assert_error(post(api), 502, "UPSTREAM_ERROR")
    assert_accepted(post(api))


def test_fault_comes_before_validation(api, control):
    add(control, status=500)
    assert_error(post(api, content=b"{not json"), 500, "INTERNAL_ERROR")


def test_fault_comes_after_authentication_and_is_not_consumed(bare, api, control):
    add(control, status=500)
    assert_error(post(bare), 401, "UNAUTHORIZED")
    assert_error(post(api, headers=bearer(READONLY_KEY)), 403, "FORBIDDEN")
    assert [fault["remaining"] for fault in pending_faults(control)] == [1]
    assert_error(post(api), 500, "INTERNAL_ERROR")


def test_fault_comes_before_prefer(api, control):
    add(control, status=503)
    assert_error(post(api, headers={"Prefer": "code=202"}), 503, "SERVICE_UNAVAILABLE")


def test_latency_delays_the_response(api, control):
    add(control, latencyMs=400)
    started = time.monotonic()
    response = post(api)
    elapsed = time.monotonic() - started
    assert_accepted(response)
    assert 0.4 <= elapsed < 5.0, elapsed
    started = time.monotonic()
    assert_accepted(post(api))
    assert time.monotonic() - started < 0.4, "latency applies to the next request only"


def test_latency_with_status(api, control):
    add(control, status=502, latencyMs=300)
    started = time.monotonic()
    assert_error(post(api), 502, "UPSTREAM_ERROR")
    assert 0.3 <= time.monotonic() - started < 5.0


@pytest.mark.parametrize("status", [500, 502, 429, 503, 504])
def test_fault_responses_do_not_bind_the_idempotency_key(api, control, status):
    add(control, status=status)
    post(api, dm(message="first body"), key="after-fault")
    retried = post(api, dm(message="second body"), key="after-fault")
    data = assert_accepted(retried)
    assert "idempotent-replayed" not in retried.headers
    assert [m["id"] for m in list_messages(control)] == [data["id"]]


def test_faults_are_per_session(api, control, new_session):
    other_api, other_control = new_session()
    add(control, status=500, count=1)
    assert_accepted(post(other_api))
    assert pending_faults(other_control) == []
    assert_error(post(api), 500, "INTERNAL_ERROR")


def test_fault_matches_method_and_path_prefix(api, control):
    add(control, status=500, pathPrefix="/v1/accounts/ag_globex/")
    add(control, status=502, method="get")
    assert_accepted(post(api))
    assert [fault["remaining"] for fault in pending_faults(control)] == [1, 1]
    add(control, status=503, method="post", pathPrefix="/v1/accounts/ag_acme/")
    assert_error(post(api), 503, "SERVICE_UNAVAILABLE")


# --- The rules themselves: add returns one, delete by id, the cap ------------------------------------------


def test_add_returns_only_the_fault_it_added(control):
    first = add(control, status=500, count=3)
    second = add(control, connection="reset", rate=0.25, seed=7, method="post")
    third = add(control, latencyMs=10, rate=0.5, count=4)
    assert first == {
        "id": first["id"],
        "status": 500,
        "connection": None,
        "retryAfter": None,
        "latencyMs": 0,
        "remaining": 3,
        "rate": None,
        "seed": first["seed"],
        "hits": 0,
        "method": None,
        "pathPrefix": None,
    }
    assert (second["connection"], second["rate"], second["seed"], second["method"]) == ("reset", 0.25, 7, "POST")
    assert second["remaining"] is None, "rate alone: until deleted"
    assert (third["remaining"], third["rate"]) == (4, 0.5), "rate and count: at most count hits"
    assert pending_faults(control) == [first, second, third]


def test_delete_one_fault_by_id(api, control):
    first = add(control, status=500)
    second = add(control, status=502)
    assert assert_ok(control.delete(f"/faults/{first['id']}"))["faults"] == [first]
    assert pending_faults(control) == [second]
    assert_error(control.delete(f"/faults/{first['id']}"), 404, "NOT_FOUND")
    assert_error(post(api), 502, "UPSTREAM_ERROR")


def test_delete_by_id_only_sees_the_sessions_own_faults(control, new_session):
    _, other_control = new_session()
    fault = add(control, status=500)
    assert_error(other_control.delete(f"/faults/{fault['id']}"), 404, "NOT_FOUND")
    assert pending_faults(control) == [fault]


def test_delete_faults_removes_them_all(api, control):
    add(control, status=500, count=3)
    add(control, status=503, rate=1)
    assert assert_ok(control.delete("/faults"))["faults"] == []
    assert pending_faults(control) == []
    assert_accepted(post(api))


def test_at_most_256_pending_faults_per_session(api, control, new_session):
    ids = [add(control, status=500, pathPrefix="/nowhere")["id"] for _ in range(MAX_FAULTS)]
    error = assert_error(control.post("/faults", json={"status": 500}), 400, "VALIDATION_ERROR")
    assert str(MAX_FAULTS) in error["details"] and "DELETE /__mock/faults" in error["details"], error
    assert len(pending_faults(control)) == MAX_FAULTS
    _, other_control = new_session()
    add(other_control, status=500)  # the cap is per session
    assert_ok(control.delete(f"/faults/{ids[0]}"))
    add(control, status=502)
    assert_error(post(api), 502, "UPSTREAM_ERROR")


@pytest.mark.parametrize(
    ("fault", "named"),
    [
        ({"status": 404}, "status"),
        ({"status": 503, "connection": "drop"}, "connection: not allowed with status"),
        ({"connection": "hang"}, "connection"),
        ({"status": 500, "retryAfter": 5}, "retryAfter: only with status"),
        ({"status": 503, "retryAfter": 0}, "retryAfter"),
        ({"status": 503, "retryAfter": 86401}, "retryAfter"),
        ({"status": 500, "count": 0}, "count"),
        ({"status": 500, "count": 10001}, "count"),
        ({"status": 500, "rate": 0}, "rate: must be more than 0"),
        ({"status": 500, "rate": -0.5}, "rate: must be more than 0"),
        ({"status": 500, "rate": 1.01}, "rate: must be at most 1"),
        ({"latencyMs": 60001}, "latencyMs"),
        ({"latencyMs": -1}, "latencyMs"),
        ({"status": 500, "method": "PO ST"}, "method"),
        ({"status": 500, "pathPrefix": "v1/accounts"}, "pathPrefix: must start with /"),
        ({"status": 500, "pathPrefix": "/" + "a" * 512}, "pathPrefix"),
        ({"status": 500, "seed": -1}, "seed"),
        ({"count": 2}, "give status, connection or latencyMs"),
        ({"status": 500, "colour": "red"}, "colour: unknown property"),
    ],
)
def test_out_of_bounds_fault_is_a_400_naming_the_field(control, fault, named):
    error = assert_error(control.post("/faults", json=fault), 400, "VALIDATION_ERROR")
    assert named in error["details"], error["details"]
    assert pending_faults(control) == []


# --- rate and count ---------------------------------------------------------------------------------------


def _statuses(api: httpx.Client, n: int) -> list[int]:
    """Send n requests that would otherwise get a documented example (nothing is scheduled)."""
    return [post(api, headers={"Prefer": "code=202"}).status_code for _ in range(n)]


def test_rate_hits_about_that_share_of_requests(api, control):
    fault = add(control, status=503, rate=0.5)
    statuses = _statuses(api, 200)
    hits = statuses.count(503)
    assert 60 <= hits <= 140, hits
    assert set(statuses) == {202, 503}
    (still,) = pending_faults(control)
    assert (still["id"], still["hits"], still["remaining"]) == (fault["id"], hits, None)


def test_rate_one_hits_every_request_until_deleted(api, control):
    fault = add(control, status=504, rate=1)
    assert _statuses(api, 20) == [504] * 20
    assert pending_faults(control)[0]["hits"] == 20
    assert_ok(control.delete(f"/faults/{fault['id']}"))
    assert_accepted(post(api))


def test_rate_with_count_hits_at_most_count_times(api, control):
    add(control, status=500, rate=1, count=3)
    assert _statuses(api, 5) == [500, 500, 500, 202, 202]
    assert pending_faults(control) == []


def test_the_same_seed_gives_the_same_hits(new_session):
    runs = []
    for _ in range(2):
        api, control = new_session()
        add(control, status=503, rate=0.3, seed=12345)
        runs.append(_statuses(api, 40))
    assert runs[0] == runs[1]
    assert 0 < runs[0].count(503) < 40


def test_the_oldest_fault_that_hits_applies(api, control):
    add(control, status=500, rate=1, count=1)
    add(control, status=502, count=1)
    assert _statuses(api, 3) == [500, 502, 202]


# --- Connection faults ------------------------------------------------------------------------------------


def _raw_post(mock_url: str, session: str) -> socket.socket:
    """Send one valid POST on a fresh socket and return the socket, to read what comes back byte by byte."""
    url = urlsplit(mock_url)
    body = json.dumps(dm()).encode()
    request = (
        f"POST {RESPONSES_PATH} HTTP/1.1\r\nHost: {url.hostname}\r\nAuthorization: Bearer {API_KEY}\r\n"
        f"X-Mock-Session: {session}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    sock = socket.create_connection((url.hostname or "127.0.0.1", url.port or 80), timeout=10)
    sock.sendall(request)
    return sock


def _read_to_end(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_drop_closes_the_connection_without_a_response(mock_url, mock_session, api, control):
    add(control, connection="drop")
    with _raw_post(mock_url, mock_session) as sock:
        assert _read_to_end(sock) == b"", "a dropped connection sends no byte before closing"
    assert list_messages(control) == [], "nothing was scheduled"
    assert_accepted(post(api))


def test_reset_resets_the_connection(mock_url, mock_session, api, control):
    add(control, connection="reset")
    with _raw_post(mock_url, mock_session) as sock, pytest.raises(ConnectionResetError):
        _read_to_end(sock)
    assert list_messages(control) == []
    assert_accepted(post(api))


def test_truncate_sends_part_of_the_announced_body(mock_url, mock_session, api, control):
    add(control, connection="truncate")
    with _raw_post(mock_url, mock_session) as sock:
        raw = _read_to_end(sock)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith("HTTP/1.1 202"), lines[0]
    length = int(next(line.split(":", 1)[1] for line in lines if line.lower().startswith("content-length:")))
    assert 0 < len(body) < length, (len(body), length)
    assert list_messages(control) == [], "nothing was scheduled"
    assert_accepted(post(api))


@pytest.mark.parametrize(
    ("kind", "errors"),
    [
        ("drop", (httpx.RemoteProtocolError,)),
        ("reset", (httpx.ReadError, httpx.RemoteProtocolError)),
        ("truncate", (httpx.RemoteProtocolError,)),
    ],
)
def test_an_http_client_sees_each_connection_fault_then_recovers(api, control, kind, errors):
    add(control, connection=kind, count=2)
    for _ in range(2):  # on a new connection and on the one the first fault left behind
        with pytest.raises(errors):
            post(api)
    data = assert_accepted(post(api))
    assert [m["id"] for m in list_messages(control)] == [data["id"]]


# Starlette calls connexion's async 500 handler without awaiting it when an exception passes a started response.
@pytest.mark.filterwarnings("ignore:coroutine 'ServerErrorMiddleware.error_response' was never awaited")
def test_connection_faults_without_the_transport_still_break_the_response():
    """An ASGI-only client (no uvicorn transport) still sees a broken response, never a valid one."""
    from mock_server import MockConfig, create_app

    async def run() -> tuple[int, list[str]]:
        app = create_app(MockConfig(rate_limit="off"))
        seen = []
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
            headers = {"Authorization": f"Bearer {API_KEY}", "X-Mock-Session": "asgi"}
            for kind in ("drop", "reset", "truncate"):
                added = await client.post("/__mock/faults", json={"connection": kind}, headers=headers)
                assert added.status_code == 201, added.text
                try:
                    response = await client.post(RESPONSES_PATH, json=dm(), headers=headers)
                    seen.append(f"{kind}: {response.status_code}")
                except Exception as exc:  # any exception is the broken response we want
                    seen.append(f"{kind}: {type(exc).__name__}")
            final = await client.post(RESPONSES_PATH, json=dm(), headers=headers)
        return final.status_code, seen

    final, seen = asyncio.run(run())
    assert all(not outcome.split(": ")[1].isdigit() for outcome in seen), seen
    assert final == 202
