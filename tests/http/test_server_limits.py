"""Connection bounds, tried with raw sockets against a real server, as a careless or hostile client would.

A huge header is refused with a 400 envelope before it is held in memory; a client that trickles its
headers (slowloris), goes silent, idles on a keep-alive connection or stalls inside a body is cut off
after its timeout. A slow but steady client within the limits is served.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.mock_fixtures import API_KEY, PROSPECT, RESPONSES_PATH
from support.mock_process import MockProcess

TIMEOUT = 1.0  # --header-timeout, --keep-alive and --body-timeout of the server under test
HEADER_LIMIT = 65536
SLACK = 2.5  # a cut-off must come within TIMEOUT + SLACK seconds


@pytest.fixture(scope="module")
def server() -> Iterator[MockProcess]:
    limits = ("--header-timeout", "1", "--keep-alive", "1", "--body-timeout", "1")
    with MockProcess("--rate-limit", "off", "--max-header-bytes", str(HEADER_LIMIT), *limits) as process:
        yield process


def connect(server: MockProcess) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_until_closed(sock: socket.socket, limit: float = 10.0) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took."""
    started, received = time.monotonic(), b""
    sock.settimeout(limit)
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received, time.monotonic() - started


def read_response(sock: socket.socket) -> bytes:
    """One whole response (headers and a `Content-Length` body) from a connection that stays open."""
    (response,) = read_responses(sock, 1)
    return response


def read_responses(sock: socket.socket, count: int) -> list[bytes]:
    """The next `count` whole responses, however the bytes were split or joined on the way: one `recv` may
    hold the end of one response and the start of the next (pipelined answers often arrive together)."""
    responses: list[bytes] = []
    received = b""
    while len(responses) < count:
        ended = response_end(received)
        if ended is None:
            received += more(sock, received)
            continue
        responses.append(received[:ended])
        received = received[ended:]
    assert not received, f"more bytes than {count} responses: {received[:300]!r}"
    return responses


def response_end(received: bytes) -> int | None:
    """Where the first response in `received` ends, or None while its headers or body are incomplete."""
    head, found, _ = received.partition(b"\r\n\r\n")
    if not found:
        return None
    length = next(
        int(line.split(b":")[1]) for line in head.lower().split(b"\r\n") if line.startswith(b"content-length")
    )
    end = len(head) + 4 + length
    return end if len(received) >= end else None


def more(sock: socket.socket, so_far: bytes) -> bytes:
    """The next bytes; a connection the server closed mid-response fails the test (reading on would spin)."""
    chunk = sock.recv(65536)
    assert chunk, f"the server closed the connection after {so_far[:300]!r}"
    return chunk


def envelope_of(response: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = response.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    assert b"content-type: application/json" in head.lower(), head
    return status, json.loads(body)


def assert_400(response: bytes, *words: str) -> None:
    status, body = envelope_of(response)
    assert status == 400, response[:500]
    error = body["error"]
    assert isinstance(error, dict) and error["code"] == "VALIDATION_ERROR", body
    for word in words:
        assert word in str(error["details"]), body


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def request_head(method: str = "GET", path: str = "/healthz", extra: str = "") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: mock\r\n{extra}".encode()


def test_a_100_kb_header_is_a_400_envelope(server: MockProcess) -> None:
    with connect(server) as sock:
        sock.sendall(request_head(extra=f"X-Pad: {'a' * 100_000}\r\n\r\n"))
        response, _ = read_until_closed(sock)
    assert_400(response, f"headers larger than {HEADER_LIMIT} bytes")


def test_a_header_just_under_the_limit_is_served(server: MockProcess) -> None:
    with connect(server) as sock:
        sock.sendall(request_head(extra=f"X-Pad: {'a' * (HEADER_LIMIT - 200)}\r\nConnection: close\r\n\r\n"))
        response, _ = read_until_closed(sock)
    assert response.startswith(b"HTTP/1.1 200"), response[:300]


def test_a_50_mb_header_does_not_grow_the_server(server: MockProcess) -> None:
    """Measured before the bound: a 300 MB header raised RSS from 86 to 478 MB."""
    assert server.process is not None
    before = rss_kib(server.process.pid)
    with connect(server) as sock:
        sock.sendall(request_head(extra="X-Pad: "))
        chunk = b"a" * (1024 * 1024)
        try:
            for _ in range(50):
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed the connection at the limit: what we want
        read_until_closed(sock, limit=5)
    assert server.process.poll() is None
    grown_mib = (rss_kib(server.process.pid) - before) / 1024
    assert grown_mib < 10, f"RSS grew by {grown_mib:.1f} MiB"


def test_a_silent_connection_is_closed_after_the_header_timeout(server: MockProcess) -> None:
    """Measured before the bound: a silent connection was still open after 125 s."""
    with connect(server) as sock:
        response, waited = read_until_closed(sock)
    assert response == b"", "a connection that sent nothing gets no response"
    assert TIMEOUT * 0.8 <= waited < TIMEOUT + SLACK, waited


def test_slowloris_headers_are_cut_off_with_a_400(server: MockProcess) -> None:
    """One header byte every 0.2 s keeps the connection busy but never finishes: cut off at the timeout."""
    started = time.monotonic()
    with connect(server) as sock:
        sock.sendall(request_head())
        try:
            for byte in b"X-Slow: " + b"a" * 50:
                sock.sendall(bytes([byte]))
                time.sleep(0.2)
        except (BrokenPipeError, ConnectionResetError):
            pass
        response, _ = read_until_closed(sock)
    waited = time.monotonic() - started
    assert_400(response, "headers not received within 1 s")
    assert waited < TIMEOUT + SLACK, waited


def test_an_idle_keep_alive_connection_is_closed(server: MockProcess) -> None:
    with connect(server) as sock:
        sock.sendall(request_head() + b"\r\n")
        first = read_response(sock)
        assert first.startswith(b"HTTP/1.1 200"), first[:300]
        rest, waited = read_until_closed(sock)
    assert rest == b"", rest[:300]
    assert TIMEOUT * 0.8 <= waited < TIMEOUT + SLACK, waited


def test_keep_alive_serves_requests_sent_in_time(server: MockProcess) -> None:
    with connect(server) as sock:
        for _ in range(3):
            sock.sendall(request_head() + b"\r\n")
            assert read_response(sock).startswith(b"HTTP/1.1 200")
            time.sleep(TIMEOUT / 2)


def test_pipelined_requests_in_one_packet_are_answered_in_order(server: MockProcess) -> None:
    """Three requests sent in one write are answered in the order they came (each waits for the one before)."""
    body = json.dumps({"prospectId": PROSPECT, "message": "pipelined"}).encode()
    keys = [f"pipelined-{n}-{time.monotonic_ns()}" for n in range(2)]
    extra = f"Authorization: Bearer {API_KEY}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    posts = [request_head("POST", RESPONSES_PATH, f"{extra}Idempotency-Key: {key}\r\n\r\n") + body for key in keys]
    with connect(server) as sock:
        sock.sendall(posts[0] + request_head() + b"\r\n" + posts[1])
        answers = read_responses(sock, 3)
    assert [answer.split(b" ")[1] for answer in answers] == [b"202", b"200", b"202"]
    assert [envelope_of(answers[n])[1]["data"]["idempotencyKey"] for n in (0, 2)] == keys  # type: ignore[index]


def api_post(body: bytes, declared: int) -> bytes:
    extra = (
        f"Authorization: Bearer {API_KEY}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {declared}\r\nX-Mock-Session: limits-{time.monotonic_ns()}\r\n"
        "Connection: close\r\n\r\n"
    )
    return request_head("POST", RESPONSES_PATH, extra) + body


def test_a_body_that_stalls_is_a_400_and_the_connection_closes(server: MockProcess) -> None:
    body = json.dumps({"prospectId": PROSPECT, "message": "stalled"}).encode()
    with connect(server) as sock:
        sock.sendall(api_post(body[:10], len(body)))
        response, waited = read_until_closed(sock)
    assert_400(response, "body: no data for 1 s")
    assert TIMEOUT * 0.8 <= waited < TIMEOUT + SLACK, waited


def test_a_slow_but_steady_body_is_served(server: MockProcess) -> None:
    """The body timeout bounds each pause, not the whole body: 3 s of 0.4 s pauses is fine."""
    body = json.dumps({"prospectId": PROSPECT, "message": "slow but steady"}).encode()
    with connect(server) as sock:
        sock.sendall(api_post(b"", len(body)))
        pieces = [body[i : i + 8] for i in range(0, len(body), 8)]
        for piece in pieces:
            time.sleep(0.4)
            sock.sendall(piece)
        response, _ = read_until_closed(sock)
    assert len(pieces) * 0.4 > 3 * TIMEOUT
    assert response.startswith(b"HTTP/1.1 202"), response[:500]
