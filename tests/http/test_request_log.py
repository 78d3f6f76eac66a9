"""The request log: one line per request on the terminal, as text or JSON lines, at the level asked for.

Read from the real `sonarly-mock serve` output, as a developer watching the terminal (or a log shipper
reading JSON lines) would see it. No API key value may ever appear in it.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator

import httpx
import pytest
from helpers import DM_BODY, assert_accepted, assert_error, bearer, post

from mock_server.logs import JsonFormatter, RequestLine, TextFormatter, configure_logging
from support.mock_fixtures import API_KEY, READONLY_KEY, RESPONSES_PATH
from support.mock_process import MockProcess

SESSION = "log-watchers"


def request_lines(mock: MockProcess) -> list[dict]:
    """The JSON request lines of the mock's output so far."""
    lines = []
    for text in mock.log().splitlines():
        try:
            parsed = json.loads(text)
        except ValueError:
            continue
        if isinstance(parsed, dict) and "method" in parsed:
            lines.append(parsed)
    return lines


def lines_of(mock: MockProcess, responses: list[httpx.Response], timeout: float = 5.0) -> dict[str, dict]:
    """The request lines of these responses, by trace id, once each has one (the output is a file)."""
    wanted = {response.headers["x-trace-id"] for response in responses}
    deadline = time.monotonic() + timeout
    while True:
        found = [line for line in request_lines(mock) if line.get("traceId") in wanted]
        if {line["traceId"] for line in found} == wanted or time.monotonic() > deadline:
            assert len(found) == len({line["traceId"] for line in found}), "one line per request"
            return {line["traceId"]: line for line in found}
        time.sleep(0.05)


@pytest.fixture(scope="module")
def json_mock() -> Iterator[MockProcess]:
    with MockProcess("--rate-limit", "off", "--log-format", "json") as mock:
        yield mock


def test_one_json_line_per_request_with_what_a_developer_needs(json_mock):
    with httpx.Client(base_url=json_mock.base_url, headers={"X-Mock-Session": SESSION}, timeout=30) as client:
        auth = bearer(API_KEY)
        accepted = post(client, headers=auth, key="log-1")
        invalid = post(client, {"message": ""}, headers=auth)
        conflict = post(client, {**DM_BODY, "message": "changed"}, headers=auth, key="log-1")
        assert_accepted(accepted)
        assert_error(invalid, 400, "VALIDATION_ERROR")
        assert_error(conflict, 409, "IDEMPOTENCY_CONFLICT")
        control = client.get("/__mock/clock")
    sent = [accepted, invalid, conflict, control]
    lines = lines_of(json_mock, sent)
    assert len(lines) == len(sent), f"lines missing: {json_mock.log()[-2000:]}"
    expected = {
        accepted.headers["x-trace-id"]: ("POST", RESPONSES_PATH, 202, None),
        invalid.headers["x-trace-id"]: ("POST", RESPONSES_PATH, 400, "VALIDATION_ERROR"),
        conflict.headers["x-trace-id"]: ("POST", RESPONSES_PATH, 409, "IDEMPOTENCY_CONFLICT"),
        control.headers["x-trace-id"]: ("GET", "/__mock/clock", 200, None),
    }
    for trace_id, (method, path, status, code) in expected.items():
        line = lines[trace_id]
        assert (line["method"], line["path"], line["status"], line["code"]) == (method, path, status, code), line
        assert line["session"] == SESSION
        assert line["level"] == "info"
        assert isinstance(line["durationMs"], int | float) and 0 <= line["durationMs"] < 10_000
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"]), line["time"]


def test_no_api_key_value_ever_appears_in_the_log(json_mock):
    with httpx.Client(base_url=json_mock.base_url, headers={"X-Mock-Session": SESSION}, timeout=30) as client:
        sent = []
        for key in (API_KEY, READONLY_KEY, "sk_test_unknown_secret_value"):
            sent.append(post(client, headers=bearer(key)))
            sent.append(post(client, headers={"Authorization": key}))
        # A key pasted into the path itself is masked too.
        sent.append(client.get(f"/v1/accounts/{API_KEY}/messages/responses", headers=bearer(API_KEY)))
    lines = lines_of(json_mock, sent)
    assert len(lines) == len(sent)
    assert lines[sent[-1].headers["x-trace-id"]]["path"] == "/v1/accounts/[redacted]/messages/responses"
    output = json_mock.log()
    for secret in (API_KEY, READONLY_KEY, "sk_test_unknown", "sk_test_"):
        assert secret not in output


def test_text_lines_at_debug_level_include_health_checks_and_never_colour_a_file():
    with MockProcess("--rate-limit", "off", "--log-level", "debug") as mock:
        with httpx.Client(base_url=mock.base_url, headers=bearer(API_KEY), timeout=30) as client:
            conflict = post(client, headers={"Prefer": "code=409"})
        assert conflict.status_code == 409
        trace_id = conflict.headers["x-trace-id"]
        deadline = time.monotonic() + 5
        while trace_id not in mock.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        output = mock.log()
    [line] = [text for text in output.splitlines() if trace_id in text]
    code = conflict.json()["error"]["code"]
    when, request = r"\d\d:\d\d:\d\d\.\d{3}", f"POST {re.escape(RESPONSES_PATH)}"
    assert re.fullmatch(rf"{when} {request} 409 {code} \d+\.\dms session=default trace={trace_id}", line), line
    assert re.search(r" GET /healthz 200 \d+\.\dms", output), "health checks are logged at debug level"
    assert "\x1b[" not in output


def test_at_the_default_level_health_checks_stay_out_of_the_log(json_mock):
    with httpx.Client(base_url=json_mock.base_url, timeout=30) as client:
        assert lines_of(json_mock, [client.get("/__mock/clock")]), "requests are logged"
    assert not [line for line in request_lines(json_mock) if line["path"] == "/healthz"]


def test_at_warning_level_no_request_is_logged():
    with MockProcess("--rate-limit", "off", "--log-level", "warning", "--log-format", "json") as mock:
        with httpx.Client(base_url=mock.base_url, headers=bearer(API_KEY), timeout=30) as client:
            assert_accepted(post(client))
        assert request_lines(mock) == []


def test_a_path_cannot_forge_a_log_line(json_mock):
    """Even a request refused before its path is normalised (here: a bad session header) logs one line."""
    with httpx.Client(base_url=json_mock.base_url, timeout=30) as client:
        response = client.get("/v1/x%0A12:00:00.000%20GET%20/forged%20200", headers={"X-Mock-Session": "bad name"})
    assert response.status_code == 400
    [line] = lines_of(json_mock, [response]).values()
    assert line["path"] == "/v1/x%0A12:00:00.000 GET /forged 200"
    assert "\n12:00:00.000 GET /forged" not in json_mock.log()


def test_configure_logging_refuses_what_it_does_not_know():
    with pytest.raises(ValueError, match="log level"):
        configure_logging("verbose", "text")
    with pytest.raises(ValueError, match="log format"):
        configure_logging("info", "xml")


def test_status_is_coloured_only_for_a_terminal():
    record = logging.LogRecord("sonarly_mock.requests", logging.INFO, __file__, 1, "", (), None)
    record.request = RequestLine("POST", RESPONSES_PATH, 409, "IDEMPOTENCY_CONFLICT", 1.5, "default", "t1")
    assert "\x1b[33m409 IDEMPOTENCY_CONFLICT\x1b[0m" in TextFormatter(colour=True).format(record)
    assert "\x1b[" not in TextFormatter(colour=False).format(record)
    assert json.loads(JsonFormatter().format(record))["code"] == "IDEMPOTENCY_CONFLICT"


def test_other_messages_are_scrubbed_of_key_shaped_values_too():
    record = logging.LogRecord("sonarly_mock", logging.ERROR, __file__, 1, "unhandled: %r", ("sk_live_abc123",), None)
    assert "sk_live_" not in TextFormatter().format(record)
    assert json.loads(JsonFormatter().format(record))["message"] == "unhandled: '[redacted]'"
