"""Request validation through HTTP: the shared rule table, every problem at once, and hostile bodies."""

from __future__ import annotations

import json

import pytest
from helpers import (
    DM_BODY,
    assert_accepted,
    assert_details_name,
    assert_error,
    bearer,
    details_lines,
    list_messages,
    post,
    raw_send,
)
from starlette.testclient import TestClient

from contract_rules import BODY_RULES, IDEMPOTENCY_KEY_CASES, BodyRule, IdempotencyKeyCase, dm, inmail, without
from mock_server import MockConfig, create_app
from support.mock_fixtures import API_KEY, CONVERSATION, RESPONSES_PATH

ONE_MIB = 1024 * 1024
VALID_JSON = json.dumps(DM_BODY).encode()


@pytest.mark.parametrize("rule", BODY_RULES, ids=[rule.name for rule in BODY_RULES])
def test_rule_table_row(api, rule: BodyRule):
    """Each row of tests/contract_rules.py: 202, or 422/400 `VALIDATION_ERROR` naming the row's fields."""
    response = post(api, content=rule.content)
    if rule.http_status == 202:
        data = assert_accepted(response)
        assert data["channel"] == rule.body.get("channel", "direct_message")
        return
    error = assert_error(response, rule.http_status, "VALIDATION_ERROR")
    assert_details_name(error, *rule.fields)
    if rule.http_status == 400:
        assert error["details"], "a 400 must say what is wrong"


KEYS_OVER_HTTP = [case for case in IDEMPOTENCY_KEY_CASES if case.over_http]


@pytest.mark.parametrize("case", KEYS_OVER_HTTP, ids=[case.name for case in KEYS_OVER_HTTP])
def test_idempotency_key_format(api, case: IdempotencyKeyCase):
    response = post(api, key=case.header_value)
    if case.valid:
        assert assert_accepted(response)["idempotencyKey"] == case.value
    elif case.is_http_field_value:
        assert_details_name(assert_error(response, 400, "VALIDATION_ERROR"), "Idempotency-Key")
    else:
        assert_details_name(assert_error(response, 400, "VALIDATION_ERROR"), "request")


def test_invalid_idempotency_key_schedules_nothing(api, control):
    assert_error(post(api, key="k" * 256), 400, "VALIDATION_ERROR")
    assert list_messages(control) == []


def test_details_lists_every_problem_at_once(api):
    """Three body problems and a bad Idempotency-Key: one 400 naming all four, one per line."""
    body = without(inmail(message="x" * 1901, conversationId=CONVERSATION), "subject")
    error = assert_error(post(api, body, key="two words"), 400, "VALIDATION_ERROR")
    lines = details_lines(error)
    assert len(lines) == 4, lines
    for field in ("conversationId", "message", "subject", "Idempotency-Key"):
        assert sum(field in line for line in lines) >= 1, (field, lines)


def test_details_lists_unknown_property_and_field_problems_together(api):
    error = assert_error(post(api, dm(message="", priority="high", channel="email")), 400, "VALIDATION_ERROR")
    assert_details_name(error, "message", "priority", "channel")
    assert len(details_lines(error)) >= 3


HOSTILE_BODIES = [
    pytest.param(b'{"prospectId": "prs_ada_lovelace", "message": ', id="truncated_json"),
    pytest.param(b"{prospectId: 'prs_ada_lovelace'}", id="not_json"),
    pytest.param(VALID_JSON + b"}", id="trailing_garbage"),
    pytest.param(VALID_JSON + VALID_JSON, id="two_documents"),
    pytest.param(b"", id="empty_body"),
    pytest.param(b"   \n", id="only_white_space"),
    pytest.param(b"[]", id="empty_array"),
    pytest.param(b'"a string"', id="string"),
    pytest.param(b"null", id="null"),
    pytest.param(b"1e999", id="huge_number"),
    pytest.param(b'{"prospectId": "prs_ada_lovelace", "message": "caf\xe9"}', id="invalid_utf8_latin1"),
    pytest.param(b'{"prospectId": "\xff\xfe", "message": "hi"}', id="invalid_utf8_bytes"),
    pytest.param(b'{"prospectId": "prs_ada_lovelace", "message": "\xed\xa0\x80"}', id="utf8_encoded_surrogate"),
    pytest.param('{"prospectId": "prs_ada_lovelace", "message": "hi"}'.encode("utf-16"), id="utf16"),
    pytest.param(b"\xef\xbb\xbf" + VALID_JSON, id="utf8_bom"),
    pytest.param(b'{"prospectId": "prs_ada_lovelace", "message": NaN}', id="nan"),
    pytest.param(b'{"prospectId": "prs_ada_lovelace", "message": Infinity}', id="infinity"),
    pytest.param(b'{"prospectId": "prs_ada_lovelace", "message": "hi", "x": -Infinity}', id="minus_infinity"),
    pytest.param(b'{"prospectId": "p", "prospectId": "prs_ada_lovelace", "message": "hi"}', id="duplicate_keys"),
    pytest.param(b"[" * 10_000, id="deep_nesting_unclosed"),
    pytest.param(b"[" * 10_000 + b"]" * 10_000, id="deep_nesting_closed"),
    pytest.param(
        b'{"prospectId": "prs_ada_lovelace", "message": ' + b"[" * 10_000 + b"]" * 10_000 + b"}", id="deep_value"
    ),
    pytest.param(b'{"prospectId": "prs_ada_lovelace", "message": "hi\x00"', id="nul_in_truncated"),
    pytest.param(b'{"prospectId": "prs_ada_lovelace", "message": "a\nb"}', id="raw_newline_in_string"),
    pytest.param(b'{"prospectId": "prs_ada_lovelace", "message": "\\ud800"}', id="lone_surrogate_in_message"),
    pytest.param(b'{"prospectId": "\\udfff", "message": "hi"}', id="lone_surrogate_in_prospect_id"),
]


@pytest.mark.parametrize("content", HOSTILE_BODIES)
def test_hostile_body_is_400_never_500(api, control, content):
    assert_error(post(api, content=content), 400, "VALIDATION_ERROR")
    assert list_messages(control) == []


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml"],
)
def test_wrong_content_type_is_400(api, content_type):
    error = assert_error(post(api, headers={"Content-Type": content_type}), 400, "VALIDATION_ERROR")
    assert_details_name(error, "Content-Type")


def test_json_body_without_content_type_is_400_and_schedules_nothing(mock_url, control):
    """Connexion would assume JSON; the contract lists "none with a body" among the refused media types."""
    response = raw_send(mock_url, "POST", RESPONSES_PATH, bearer(API_KEY), VALID_JSON)
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert_details_name(error, "Content-Type")
    assert list_messages(control) == []


def test_json_with_charset_is_accepted(api):
    assert_accepted(post(api, headers={"Content-Type": "application/json; charset=utf-8"}))


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast-path", "full-path"])
@pytest.mark.parametrize("content_type", ["Application/JSON", "APPLICATION/json; charset=utf-8"])
def test_a_media_type_in_another_case_is_json_and_validated_as_such(content_type, fast_path):
    """Media types are case-insensitive: any spelling is JSON, and its body is checked like any other, on both
    paths (once, the full path skipped the body's validation: an empty message was scheduled, `[]` was a 500)."""
    with TestClient(create_app(MockConfig(rate_limit="off", fast_path=fast_path))) as client:
        sent = {"Content-Type": content_type, **bearer(API_KEY)}
        empty = client.post(RESPONSES_PATH, content=json.dumps({**DM_BODY, "message": ""}), headers=sent)
        assert "message" in assert_error(empty, 400, "VALIDATION_ERROR")["details"]
        assert_error(client.post(RESPONSES_PATH, content=b"[]", headers=sent), 400, "VALIDATION_ERROR")
        assert client.get("/__mock/accounts/ag_acme/messages").json()["data"]["messages"] == []  # nothing stored
        assert_accepted(client.post(RESPONSES_PATH, content=VALID_JSON, headers=sent))


def test_body_over_one_mib_is_400_and_the_server_still_answers(api):
    content = json.dumps(dm(message="x" * (ONE_MIB + 1))).encode()
    assert_error(post(api, content=content), 400, "VALIDATION_ERROR")
    assert_accepted(post(api))


def test_chunked_body_over_one_mib_is_400_and_the_server_still_answers(api):
    """No Content-Length: the server must stop reading once the stream passes the limit."""
    chunk = b"x" * 65_536

    def stream():
        yield b'{"prospectId": "prs_ada_lovelace", "message": "'
        for _ in range(ONE_MIB // len(chunk) + 2):
            yield chunk
        yield b'"}'

    response = api.post(RESPONSES_PATH, content=stream(), headers={"Content-Type": "application/json"})
    assert_error(response, 400, "VALIDATION_ERROR")
    assert_accepted(post(api))


@pytest.mark.parametrize("length", [str(2 * ONE_MIB), "10" * 20], ids=["two_mib", "absurd"])
def test_declared_content_length_over_one_mib_is_400_before_the_body_arrives(
    mock_url, mock_session, recorded_exchanges, length
):
    headers = {
        "Authorization": f"Bearer {API_KEY}",
        "X-Mock-Session": mock_session,
        "Content-Type": "application/json",
        "Content-Length": length,
    }
    response = raw_send(mock_url, "POST", RESPONSES_PATH, headers, VALID_JSON)
    recorded_exchanges.add(response)
    assert_error(response, 400, "VALIDATION_ERROR")
