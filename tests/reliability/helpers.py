"""Shared tools of the reliability tests: raw HTTP for what httpx refuses to send, and envelope checks.

httpx (h11) will not send some hostile requests at all (trailing spaces in a header, raw bytes in the
request target), so `raw_request` speaks HTTP/1.1 over a socket. Every call has a timeout: a hang fails.
"""

from __future__ import annotations

import json
import socket
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from support.mock_fixtures import PROSPECT

TIMEOUT = 20.0
ENVELOPE_KEYS = {"success", "data", "error", "traceId"}
ERROR_KEYS = {"code", "message", "details"}
UVICORN_REJECTION = b"Invalid HTTP request received."

HeaderList = list[tuple[str | bytes, str | bytes]]


@dataclass(frozen=True)
class Reply:
    """One HTTP response, whichever client got it: status, lower-cased headers, raw body."""

    status: int
    headers: dict[str, str]
    body: bytes
    request: str = ""
    raw_headers: list[tuple[str, str]] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads(self.body)

    def describe(self) -> str:
        return f"{self.request} -> {self.status} {self.headers} {self.body[:500]!r}"


def from_httpx(response: httpx.Response) -> Reply:
    request = response.request
    return Reply(
        status=response.status_code,
        headers={k.lower(): v for k, v in response.headers.items()},
        body=response.content,
        request=f"{request.method} {request.url.raw_path[:200]!r}",
        raw_headers=list(response.headers.multi_items()),
    )


def _bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("latin-1")


def raw_request(
    port: int,
    method: str,
    target: str | bytes,
    headers: HeaderList | None = None,
    body: bytes | Iterable[bytes] | None = None,
    timeout: float = TIMEOUT,
) -> Reply:
    """Send exactly these bytes (Content-Length for `bytes`, chunked for an iterable) and read the reply."""
    lines = [b"%s %s HTTP/1.1" % (method.encode(), _bytes(target)), b"Host: 127.0.0.1", b"Connection: close"]
    lines += [_bytes(name) + b": " + _bytes(value) for name, value in headers or []]
    chunked = body is not None and not isinstance(body, bytes)
    if isinstance(body, bytes):
        lines.append(b"Content-Length: %d" % len(body))
    elif chunked:
        lines.append(b"Transfer-Encoding: chunked")
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n")
        try:
            if isinstance(body, bytes):
                sock.sendall(body)
            elif chunked:
                for chunk in body:
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before the whole body is sent; read what it said
        data = _read_all(sock)
    return _parse(data, f"{method} {_bytes(target)[:200]!r}")


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def _parse(data: bytes, request: str) -> Reply:
    head, _, payload = data.partition(b"\r\n\r\n")
    if not head:
        raise AssertionError(f"{request}: the server closed the connection without an answer")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    pairs = [tuple(part.strip() for part in line.split(":", 1)) for line in header_lines if ":" in line]
    headers = {name.lower(): value for name, value in pairs}
    if headers.get("transfer-encoding", "").lower() == "chunked":
        payload = _dechunk(payload)
    return Reply(int(status_line.split(" ")[1]), headers, payload, request, pairs)


def _dechunk(payload: bytes) -> bytes:
    out = b""
    while payload:
        size_line, _, rest = payload.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out, payload = out + rest[:size], rest[size + 2 :]
    return out


def assert_envelope(reply: Reply) -> dict[str, Any]:
    """The Sonarly envelope, JSON, with the trace id repeated in X-Trace-Id; never uvicorn's plain text."""
    assert reply.body != UVICORN_REJECTION, f"uvicorn rejected the request before the app: {reply.describe()}"
    assert reply.headers.get("content-type", "").startswith("application/json"), reply.describe()
    body = reply.json()
    assert isinstance(body, dict) and set(body) == ENVELOPE_KEYS, reply.describe()
    assert isinstance(body["traceId"], str) and body["traceId"].strip(), reply.describe()
    assert reply.headers.get("x-trace-id") == body["traceId"], reply.describe()
    return body


def assert_error(reply: Reply | httpx.Response, status: int, code: str) -> dict[str, Any]:
    """An error envelope with this status and `error.code`; returns `error`."""
    reply = from_httpx(reply) if isinstance(reply, httpx.Response) else reply
    assert reply.status < 500 or status >= 500, f"5xx: {reply.describe()}"
    assert reply.status == status, f"expected {status} {code}: {reply.describe()}"
    body = assert_envelope(reply)
    assert body["success"] is False and body["data"] is None, reply.describe()
    error = body["error"]
    assert isinstance(error, dict) and set(error) == ERROR_KEYS, reply.describe()
    assert error["code"] == code, f"expected {status} {code}: {reply.describe()}"
    assert isinstance(error["message"], str) and error["message"].strip(), reply.describe()
    assert error["details"] is None or isinstance(error["details"], str), reply.describe()
    return error


def assert_accepted(reply: Reply | httpx.Response, replayed: bool | None = None) -> dict[str, Any]:
    """A 202 envelope; `replayed` True/False checks the Idempotent-Replayed header. Returns `data`."""
    reply = from_httpx(reply) if isinstance(reply, httpx.Response) else reply
    assert reply.status == 202, reply.describe()
    body = assert_envelope(reply)
    assert body["success"] is True and body["error"] is None, reply.describe()
    if replayed is not None:
        assert (reply.headers.get("idempotent-replayed") == "true") is replayed, reply.describe()
    return body["data"]


def new_session(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def dm_body(text: str, prospect: str = PROSPECT) -> dict[str, str]:
    return {"prospectId": prospect, "message": text}


def api_headers(key: str | None, session: str, idempotency_key: str | None = None) -> dict[str, str]:
    headers = {"X-Mock-Session": session}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    return headers


def list_messages(base_url: str, session: str, group: str, token: str | None = None) -> list[dict[str, Any]]:
    """Every scheduled response of the group in the session (the control API caps a page at 1000)."""
    headers = {"X-Mock-Session": session}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = httpx.get(
        f"{base_url}/__mock/accounts/{group}/messages", params={"limit": 1000}, headers=headers, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]["messages"]


LIST_LIMIT = 1000
"""One page of the control API's message list: a test's session stays below it, or the check would be partial."""

Acked = dict[str, tuple[dict[str, str], dict[str, Any]]]
"""Idempotency-Key -> (the body sent, the `data` of its 202)."""


def assert_stored_once(base_url: str, session: str, group: str, acked: Acked, sent: Iterable[str]) -> dict[str, str]:
    """After a crash or a restart: the group's list holds each acknowledged message once, under its key, with the
    id its 202 gave, and nothing under a key nobody sent; returns key -> listed id."""
    messages = list_messages(base_url, session, group)
    assert len(messages) < LIST_LIMIT, "the session outgrew one page of the list; the check would be partial"
    ids = Counter(message["id"] for message in messages)
    assert not [i for i, n in ids.items() if n > 1], f"ids listed twice: {[i for i, n in ids.items() if n > 1]}"
    keys = Counter(message["idempotencyKey"] for message in messages)
    doubled = [key for key, n in keys.items() if n > 1]
    assert not doubled, f"one Idempotency-Key scheduled several messages: {doubled[:10]}"
    sent_keys = set(sent)
    strangers = [key for key in keys if key not in sent_keys]
    assert not strangers, f"messages under keys nobody sent: {strangers[:10]}"
    listed = {message["idempotencyKey"]: message["id"] for message in messages}
    lost = {key: data["id"] for key, (_, data) in acked.items() if listed.get(key) != data["id"]}
    assert not lost, f"{len(lost)} acknowledged messages missing or changed: {list(lost.items())[:10]}"
    return listed
