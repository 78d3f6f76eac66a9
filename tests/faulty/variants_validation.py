"""Faulty variants of request validation: the real mock with one shape rule bent in front of it.

Each bends exactly one rule, the way a real server gets it subtly wrong (a limit counted in bytes, a blank
rule that only knows ASCII, a 422 where a shape error is 400...), and names the check that must catch it.
Only requests with the demo writer key are bent, so authentication keeps the mock's order of checks.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from starlette.types import ASGIApp, Scope

from faulty.fault import Fault, RewriteJson, mock
from faulty.middleware import RewriteRequest, RewriteRequestJson, ShortCircuit, header
from mock_server.domain.errors import MockError, validation_error

WRITER = "Bearer sk_test_acme_writer"
LIMITS = {"prospectId": 128, "message": 8000, "conversationId": 128, "subject": 200}  # the faults' own copy
ASCII_BLANK = " \t\n\r\v\f"


def _patch_body(change: Callable[[dict], dict]) -> Callable[[Any], Any]:
    return lambda body: change(dict(body)) if isinstance(body, dict) else body


def _rewrite(change: Callable[[dict], dict]) -> ASGIApp:
    return RewriteRequestJson(mock(), _patch_body(change))


def _refuse(problem: Callable[[dict], MockError | None]) -> ASGIApp:
    """Answer a writer-key request whose JSON object body `problem` objects to, before the mock."""

    def decide(scope: Scope, body: bytes) -> MockError | None:
        if header(scope, b"authorization") != WRITER:
            return None
        try:
            parsed = json.loads(body)
        except ValueError:
            return None
        return problem(parsed) if isinstance(parsed, dict) else None

    return ShortCircuit(mock(), decide)


def _header_map(name: bytes, change: Callable[[bytes], bytes]) -> ASGIApp:
    def rewrite(pairs: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        return [(key, change(value) if key.lower() == name else value) for key, value in pairs]

    return RewriteRequest(mock(), headers=rewrite)


def _too_long(count: Callable[[str], int]) -> Callable[[dict], MockError | None]:
    def problem(body: dict) -> MockError | None:
        long = [name for name, limit in LIMITS.items() if isinstance(body.get(name), str) and count(body[name]) > limit]
        return validation_error(f"{long[0]}: too long") if long else None

    return problem


# --- length limits ----------------------------------------------------------------------------------------


def message_limit_off_by_one(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    def trim(body: dict) -> dict:
        message = body.get("message")
        return {**body, "message": message[:8000]} if isinstance(message, str) else body

    return _rewrite(trim)


def limit_counted_in_utf16_units(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    return _refuse(_too_long(lambda text: len(text.encode("utf-16-le", "surrogatepass")) // 2))


def limit_counted_in_utf8_bytes(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    return _refuse(_too_long(lambda text: len(text.encode("utf-8", "surrogatepass"))))


def long_prospect_id_is_unknown_422(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    def unknown(body: dict) -> MockError | None:
        prospect = body.get("prospectId")
        if isinstance(prospect, str) and len(prospect) > LIMITS["prospectId"]:
            return MockError(422, "VALIDATION_ERROR", "Unknown data.", "prospectId: no such prospect")
        return None

    return _refuse(unknown)


# --- conditional rules ------------------------------------------------------------------------------------


def inmail_subject_optional(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    return _rewrite(lambda body: {"subject": "(none)", **body} if body.get("channel") == "inmail" else body)


def conversation_id_allowed_with_inmail(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    def drop(body: dict) -> dict:
        return {k: v for k, v in body.items() if k != "conversationId"} if body.get("channel") == "inmail" else body

    return _rewrite(drop)


def subject_allowed_with_channel_omitted(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    return _rewrite(lambda body: {k: v for k, v in body.items() if k != "subject"} if "channel" not in body else body)


def inmail_message_limit_ignored(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    def trim(body: dict) -> dict:
        message = body.get("message")
        if body.get("channel") == "inmail" and isinstance(message, str):
            return {**body, "message": message[:1900]}
        return body

    return _rewrite(trim)


# --- blank message ----------------------------------------------------------------------------------------


def _replace_message(blank: Callable[[str], bool]) -> ASGIApp:
    def replace(body: dict) -> dict:
        message = body.get("message")
        return {**body, "message": "x"} if isinstance(message, str) and message and blank(message) else body

    return _rewrite(replace)


def only_ascii_blank_refused(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    """U+3000, U+00A0, U+2028... pass as text: only ASCII white space counts as blank."""
    return _replace_message(lambda text: bool(text.strip(ASCII_BLANK)) and not text.strip())


def bom_not_blank(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    return _replace_message(lambda text: not text.strip("\ufeff"))


def python_isspace_blank(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    def blank(body: dict) -> MockError | None:
        message = body.get("message")
        return validation_error("message: blank") if isinstance(message, str) and message.isspace() else None

    return _refuse(blank)


# --- types, enums, required and unknown members -----------------------------------------------------------


def subject_null_as_absent(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    return _rewrite(lambda body: {k: v for k, v in body.items() if not (k == "subject" and v is None)})


def prospect_id_number_coerced(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    def coerce(body: dict) -> dict:
        prospect = body.get("prospectId")
        is_number = isinstance(prospect, int | float) and not isinstance(prospect, bool)
        return {**body, "prospectId": str(prospect)} if is_number else body

    return _rewrite(coerce)


def channel_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    def lower(body: dict) -> dict:
        channel = body.get("channel")
        return {**body, "channel": channel.lower()} if isinstance(channel, str) else body

    return _rewrite(lower)


def message_optional(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    return _rewrite(lambda body: {"message": "(no message)", **body} if body and "prospectId" in body else body)


def unknown_property_ignored(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    known = {"prospectId", "message", "channel", "conversationId", "subject"}
    return _rewrite(lambda body: {k: v for k, v in body.items() if k in known})


# --- framing: media types, payload, size, Idempotency-Key -------------------------------------------------


def charset_parameter_refused(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    def refuse(scope: Scope, body: bytes) -> MockError | None:
        refused = header(scope, b"authorization") == WRITER and ";" in (header(scope, b"content-type") or "")
        return validation_error("Content-Type: must be application/json") if refused else None

    return ShortCircuit(mock(), refuse)


def text_plain_parsed_as_json(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    return _header_map(b"content-type", lambda value: b"application/json" if value == b"text/plain" else value)


def server_error_on_malformed_json(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    def crash(scope: Any, body: bytes) -> MockError | None:
        if header(scope, b"authorization") is None:
            return None
        try:
            json.loads(body)
        except ValueError:
            return MockError(500, "INTERNAL_ERROR", "An internal error occurred.")
        return None

    return ShortCircuit(mock(), crash)


def trailing_bytes_accepted(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    """A streaming parser that stops after the first JSON value."""

    def first_value(raw: bytes) -> bytes:
        try:
            text = raw.decode()
            _, end = json.JSONDecoder().raw_decode(text.lstrip())
        except ValueError:
            return raw
        return text.lstrip()[:end].encode()

    return RewriteRequest(mock(), body=first_value)


def no_body_size_limit(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    return mock(max_body_bytes=4 * 1024 * 1024)


def idempotency_key_256_accepted(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    return _header_map(b"idempotency-key", lambda value: value[:255])


def idempotency_key_space_accepted(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    return _header_map(b"idempotency-key", lambda value: value.replace(b" ", b"_"))


# --- error details -----------------------------------------------------------------------------------------


def _details_of_400(details: str | None) -> ASGIApp:
    def rewrite(scope: Scope, status: int, headers: dict[str, str], body: Any) -> tuple[dict, Any]:
        if status == 400 and isinstance(body, dict) and isinstance(body.get("error"), dict):
            body = {**body, "error": {**body["error"], "details": details}}
        return headers, body

    return RewriteJson(mock(), rewrite)


def validation_details_null(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    """Every 400 says only that the request is invalid: details null (which the envelope schema allows)."""
    return _details_of_400(None)


def validation_details_generic(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    """Every 400 carries the same generic words, naming no field."""
    return _details_of_400("invalid request")


def _fault(build: Callable[[pytest.MonkeyPatch], ASGIApp], check: str) -> Fault:
    return Fault(build.__name__, f"validation.{check}", build, ("--profile", "quick", "--only", f"validation.{check}"))


FAULTS = (
    _fault(message_limit_off_by_one, "length_limits"),
    _fault(limit_counted_in_utf16_units, "length_limits"),
    _fault(limit_counted_in_utf8_bytes, "length_limits"),
    _fault(long_prospect_id_is_unknown_422, "length_limits"),
    _fault(inmail_subject_optional, "conditional_rules"),
    _fault(conversation_id_allowed_with_inmail, "conditional_rules"),
    _fault(subject_allowed_with_channel_omitted, "conditional_rules"),
    _fault(inmail_message_limit_ignored, "conditional_rules"),
    _fault(only_ascii_blank_refused, "blank_message"),
    _fault(bom_not_blank, "blank_message"),
    _fault(python_isspace_blank, "blank_message"),
    _fault(subject_null_as_absent, "null_and_types"),
    _fault(prospect_id_number_coerced, "null_and_types"),
    _fault(channel_case_insensitive, "enums"),
    _fault(message_optional, "required_members"),
    _fault(unknown_property_ignored, "unknown_property"),
    _fault(charset_parameter_refused, "media_types"),
    _fault(text_plain_parsed_as_json, "media_types"),
    _fault(server_error_on_malformed_json, "malformed_payload"),
    _fault(trailing_bytes_accepted, "malformed_payload"),
    _fault(no_body_size_limit, "body_size_limit"),
    _fault(idempotency_key_256_accepted, "idempotency_key_format"),
    _fault(idempotency_key_space_accepted, "idempotency_key_format"),
    _fault(validation_details_null, "details_name_the_field"),
    _fault(validation_details_generic, "details_name_the_field"),
)
