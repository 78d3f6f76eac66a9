"""Assertions and small request helpers shared by the HTTP behaviour tests of the mock.

Every response of the mock, success or error, is the envelope `{success, data, error, traceId}` with the
trace id repeated in `X-Trace-Id`. `assert_error` and `assert_accepted` check that shape once, so each test
only states what a frontend developer would notice: the status, the error code, the data.
"""

from __future__ import annotations

import http.client
import json
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import yaml

from openapi import follow_ref
from support.mock_fixtures import CONVERSATION, GROUP, INMAIL_PROSPECT, PROSPECT, RESPONSES_PATH

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi" / "sonarly.yaml"
ENVELOPE_KEYS = {"success", "data", "error", "traceId"}
ERROR_KEYS = {"code", "message", "details"}
DATA_KEYS = {
    "id",
    "status",
    "scheduledAt",
    "sentAt",
    "channel",
    "conversationId",
    "messageId",
    "idempotencyKey",
    "deferred",
}
JSON_HEADERS = {"Content-Type": "application/json"}

DM_BODY: dict[str, Any] = {"prospectId": PROSPECT, "message": "Thanks, I will send details this afternoon."}
DM_WITH_CHAT: dict[str, Any] = {**DM_BODY, "channel": "direct_message", "conversationId": CONVERSATION}
INMAIL_BODY: dict[str, Any] = {
    "prospectId": INMAIL_PROSPECT,
    "message": "Hi Grace, could we compare notes?",
    "channel": "inmail",
    "subject": "Compilers and outbound tooling",
}


def describe(response: httpx.Response) -> str:
    """One line for assertion messages: what was sent and what came back."""
    request = response.request
    return f"{request.method} {request.url.raw_path!r} -> {response.status_code} {response.text[:600]}"


def envelope(response: httpx.Response) -> dict[str, Any]:
    """The parsed envelope, after checking its shape, its content type and the trace id header."""
    assert response.headers.get("content-type", "").startswith("application/json"), describe(response)
    body = response.json()
    assert isinstance(body, dict), describe(response)
    assert set(body) == ENVELOPE_KEYS, f"envelope keys {sorted(body)}: {describe(response)}"
    assert isinstance(body["traceId"], str), describe(response)
    assert body["traceId"].strip(), describe(response)
    assert response.headers.get("x-trace-id") == body["traceId"], describe(response)
    return body


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Check an error envelope with this status and `error.code`; return `error`."""
    assert response.status_code == status, describe(response)
    body = envelope(response)
    assert body["success"] is False, describe(response)
    assert body["data"] is None, describe(response)
    error = body["error"]
    assert isinstance(error, dict), describe(response)
    assert set(error) == ERROR_KEYS, f"error keys {sorted(error)}: {describe(response)}"
    assert error["code"] == code, describe(response)
    assert isinstance(error["message"], str), describe(response)
    assert error["message"].strip(), describe(response)
    assert error["details"] is None or isinstance(error["details"], str), describe(response)
    return error


def assert_accepted(response: httpx.Response) -> dict[str, Any]:
    """Check a 202 success envelope with a complete scheduled response; return `data`."""
    assert response.status_code == 202, describe(response)
    body = envelope(response)
    assert body["success"] is True, describe(response)
    assert body["error"] is None, describe(response)
    data = body["data"]
    assert isinstance(data, dict), describe(response)
    assert set(data) == DATA_KEYS, f"data keys {sorted(data)}: {describe(response)}"
    return data


def assert_ok(response: httpx.Response, status: int = 200) -> Any:
    """A control-API success envelope; return `data`."""
    assert response.status_code == status, describe(response)
    body = envelope(response)
    assert body["success"] is True, describe(response)
    assert body["error"] is None, describe(response)
    return body["data"]


def details_lines(error: dict[str, Any]) -> list[str]:
    """`error.details` as its non-empty lines (one problem per line)."""
    return [line for line in (error["details"] or "").splitlines() if line.strip()]


def assert_details_name(error: dict[str, Any], *fields: str) -> None:
    """Every field is named somewhere in `error.details`."""
    details = error["details"] or ""
    for field in fields:
        assert field in details, f"{field!r} not named in details {details!r}"


def post(
    client: httpx.Client,
    body: Any = DM_BODY,
    *,
    key: str | bytes | None = None,
    path: str = RESPONSES_PATH,
    headers: dict[str, Any] | None = None,
    content: bytes | None = None,
) -> httpx.Response:
    """POST a JSON body (or raw `content`) to the endpoint, with an optional Idempotency-Key."""
    sent_headers: dict[str, Any] = {**JSON_HEADERS, **(headers or {})}
    if key is not None:
        sent_headers["Idempotency-Key"] = key
    payload = content if content is not None else json.dumps(body).encode("utf-8")
    return client.post(path, content=payload, headers=sent_headers)


def raw_send(
    base_url: str, method: str, path: str, headers: dict[str, str] | list[tuple[str, str]], body: bytes = b""
) -> httpx.Response:
    """Send bytes httpx (h11) refuses to send, such as a header value with trailing white space.

    Uses http.client, which checks much less, and returns an `httpx.Response` for the usual assertions.
    A `Content-Length` in `headers` is sent as given (it may lie); otherwise the body's length is sent.
    """
    url = urlsplit(base_url)
    items = list(headers.items()) if isinstance(headers, dict) else list(headers)
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=30)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in items:
            connection.putheader(name, value)
        if not any(name.lower() == "content-length" for name, _ in items):
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        reply = connection.getresponse()
        response = httpx.Response(
            reply.status,
            headers=reply.getheaders(),
            content=reply.read(),
            request=httpx.Request(method, base_url + path, headers=items, content=body),
        )
    finally:
        connection.close()
    return response


def group_path(group: str = GROUP) -> str:
    return f"/v1/accounts/{group}/messages/responses"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# Control API (the `control` fixture's base URL is `/__mock`).


def freeze(control: httpx.Client, now: str) -> dict[str, Any]:
    """Stop the session clock exactly at `now` (one call, as the README shows)."""
    clock = assert_ok(control.put("/clock", json={"now": now, "frozen": True}))
    assert (clock["now"], clock["frozen"]) == (now, True), clock
    return clock


def advance(control: httpx.Client, seconds: float) -> dict[str, Any]:
    return assert_ok(control.post("/clock/advance", json={"seconds": seconds}))


def list_messages(control: httpx.Client, group: str = GROUP, status: str | None = None) -> list[dict[str, Any]]:
    params = {"status": status} if status else {}
    return assert_ok(control.get(f"/accounts/{group}/messages", params=params))["messages"]


def journal(control: httpx.Client) -> list[dict[str, Any]]:
    return assert_ok(control.get("/journal"))["entries"]


def add_fault(control: httpx.Client, **fault: Any) -> list[dict[str, Any]]:
    return assert_ok(control.post("/faults", json=fault), 201)["faults"]


def pending_faults(control: httpx.Client) -> list[dict[str, Any]]:
    return assert_ok(control.get("/faults"))["faults"]


def fixtures(control: httpx.Client) -> dict[str, Any]:
    return assert_ok(control.get("/fixtures"))


def replace_fixtures(control: httpx.Client, document: dict[str, Any]) -> dict[str, Any]:
    return assert_ok(control.put("/fixtures", json=document))


OPERATION = ("paths", "/v1/accounts/{accountGroupId}/messages/responses", "post", "responses")


@cache
def _contract() -> dict[str, Any]:
    return yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


def _responses() -> dict[str, Any]:
    node: Any = _contract()
    for part in OPERATION:
        node = node[part]
    return node


def _resolve(node: Any) -> Any:
    return follow_ref(_contract(), node)


def documented_example(status: int, name: str | None = None) -> dict[str, Any]:
    """The contract's example body for `status` (a named one when the response has several)."""
    media = _resolve(_responses()[str(status)])["content"]["application/json"]
    if name is not None:
        return _resolve(media["examples"][name])["value"]
    return media["example"]


def documented_statuses() -> list[int]:
    return sorted(int(status) for status in _responses())
