"""Faulty variants for the checks no other module bends: the remaining auth and data rules, distinct ids,
the documented envelope and the contract phase's own checks. With these, every check has a variant.

Each is the real mock with one rule broken, like the others, and is run with `--only` its check (the
contract-phase ones with `--only 'contract.*'`, which sends only fuzzed cases).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from starlette.types import ASGIApp, Scope

from faulty.fault import Fault, RewriteJson, binds_key_after, mock, only, with_data, wrap_outcomes
from faulty.middleware import RewriteRequest, RewriteResponse, ShortCircuit, header, json_object
from faulty.variants import conflict_replays
from mock_server.domain import service
from mock_server.domain.errors import MockError, UnknownData
from mock_server.domain.fixtures import load_fixtures
from mock_server.domain.service import Outcome

DEMO = load_fixtures()
DEMO_GROUPS = {group.id for group in DEMO.account_groups}
DEMO_PROSPECTS = {prospect.id for group in DEMO.account_groups for prospect in group.prospects}
DEMO_CONVERSATIONS = {
    c for group in DEMO.account_groups for prospect in group.prospects for c in prospect.conversations
}
INMAIL_FIXTURE = DEMO.conformance["inmail_prospect_id"]
WRITER = DEMO.conformance["api_key"]


def missing_header_is_403(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    """No Authorization header is treated as "no permission" instead of "not authenticated"."""

    def refuse(scope: Scope, _: bytes) -> MockError | None:
        if header(scope, b"authorization") is None:
            return MockError(403, "FORBIDDEN", "This request lacks the permission messages:write.")
        return None

    return ShortCircuit(mock(), refuse)


def access_checked_before_authentication(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    """An account group that does not exist is refused (403) before the key is even looked at."""

    def forbidden(scope: Scope, _: bytes) -> MockError | None:
        if scope["path"].split("/")[3] not in DEMO_GROUPS:
            return MockError(403, "FORBIDDEN", "This API key has no access to this account group.")
        return None

    return ShortCircuit(mock(), forbidden)


def unauthenticated_request_binds_key(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    """The idempotency layer runs before authentication: a 401 stores its key, which then conflicts."""
    return binds_key_after({401})


def data_checked_before_shape(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    """Stored data is looked up first: an unknown prospect or conversation is 422 whatever else is wrong."""

    def unknown(scope: Scope, raw: bytes) -> MockError | None:
        body = json_object(raw)
        if body is None or header(scope, b"authorization") != f"Bearer {WRITER}":
            return None
        conversation = body.get("conversationId")
        if str(body.get("prospectId")) not in DEMO_PROSPECTS or conversation not in (None, *DEMO_CONVERSATIONS):
            details = "prospectId or conversationId: not found in this account group"
            return MockError(422, "VALIDATION_ERROR", "The request refers to data that does not exist.", details)
        return None

    return ShortCircuit(mock(), unknown)


def other_schemes_accepted(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    """Any scheme (Basic, Token, none) is read as Bearer: the key alone decides."""

    def as_bearer(pairs: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        fixed = []
        for name, value in pairs:
            if name.lower() == b"authorization" and not value.startswith(b"Bearer "):
                value = b"Bearer " + value.split(b" ", 1)[-1]
            fixed.append((name, value))
        return fixed

    return RewriteRequest(mock(), headers=as_bearer)


def unknown_group_is_404(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    """An account group that does not exist is 404 instead of 403 (the contract lists no 404)."""

    def not_found(scope: Scope, status: int, headers: list) -> tuple[int, list]:
        group = scope["path"].split("/")[3]
        return (404 if status == 403 and group not in DEMO_GROUPS else status), headers

    return RewriteResponse(mock(), not_found)


def unknown_conversation_ignored(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    """A valid conversationId the group does not have is dropped, so the prospect's own chat is used (202)."""
    original = service._checked_message

    def checked(conn: Any, session: str, group_id: str, body: dict, key: str | None) -> Any:
        if body.get("conversationId") not in (None, *DEMO_CONVERSATIONS):
            body = {name: value for name, value in body.items() if name != "conversationId"}
        return original(conn, session, group_id, body, key)

    monkeypatch.setattr(service, "_checked_message", checked)
    return mock()


def inmail_to_eligible_prospect_is_422(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    """The InMail path cannot find the InMail fixture: a valid InMail to it is 422, never scheduled."""
    original = service._checked_message

    def checked(conn: Any, session: str, group_id: str, body: dict, key: str | None) -> Any:
        if body.get("channel") == "inmail" and body["prospectId"] == INMAIL_FIXTURE:
            raise UnknownData(f"prospectId: no prospect {INMAIL_FIXTURE} in account group {group_id}")
        return original(conn, session, group_id, body, key)

    monkeypatch.setattr(service, "_checked_message", checked)
    return mock()


def id_derived_from_conversation(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    """The response id is a hash of the conversation, so two responses in one chat share an id."""

    def by_conversation(outcome: Outcome, _: str | None) -> Outcome:
        digest = hashlib.sha256(json.dumps(outcome.data["conversationId"]).encode()).hexdigest()[:24]
        return with_data(outcome, id=digest)

    wrap_outcomes(monkeypatch, by_conversation)
    return mock()


def error_envelope_with_extra_member(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    """Error bodies carry an undocumented `hint` member next to code, message and details."""

    def hint(_: Scope, status: int, headers: dict[str, str], body: Any) -> tuple[dict, Any]:
        if status >= 400 and isinstance(body, dict) and isinstance(body.get("error"), dict):
            body = {**body, "error": {**body["error"], "hint": "See the documentation."}}
        return headers, body

    return RewriteJson(mock(), hint)


def server_error_on_non_ascii(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    """A body with any character outside ASCII crashes the server (500), as a latin-1-only stack would."""

    def crash(scope: Scope, raw: bytes) -> MockError | None:
        if header(scope, b"authorization") is not None and any(byte > 0x7F for byte in raw):
            return MockError(500, "INTERNAL_ERROR", "An internal error occurred.")
        return None

    return RewriteRequest(ShortCircuit(mock(), crash), body=_literal_utf8)


def _literal_utf8(raw: bytes) -> bytes:
    """Re-encode a JSON body with its non-ASCII characters as UTF-8 (clients differ in escaping them)."""
    try:
        return json.dumps(json.loads(raw), ensure_ascii=False).encode()
    except ValueError:
        return raw


def shape_errors_are_406(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    """Shape errors come back with a status the contract does not document."""
    return RewriteResponse(mock(), lambda _, status, headers: (406 if status == 400 else status, headers))


def responses_as_text_plain(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    """The JSON bodies are labelled text/plain."""

    def relabel(_: Scope, status: int, headers: list) -> tuple[int, list]:
        kept = [(name, value) for name, value in headers if name.lower() != b"content-type"]
        return status, [*kept, (b"content-type", b"text/plain; charset=utf-8")]

    return RewriteResponse(mock(), relabel)


def empty_trace_id_header(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    """X-Trace-Id is sent empty, against its documented schema (a non-empty string)."""

    def blank(_: Scope, status: int, headers: dict[str, str], body: Any) -> tuple[dict, Any]:
        return {**headers, "x-trace-id": ""}, body

    return RewriteJson(mock(), blank)


def data_with_extra_member(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    """The 202 data carries an undocumented member."""
    wrap_outcomes(monkeypatch, lambda outcome, _: with_data(outcome, priority="normal"))
    return mock()


def explicit_default_channel_refused(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    """`"channel": "direct_message"` spelled out is refused, although it is the documented default."""

    def refuse(_: Scope, raw: bytes) -> MockError | None:
        body = json_object(raw)
        if body is not None and body.get("channel") == "direct_message":
            return MockError(400, "VALIDATION_ERROR", "The request is not valid.", "channel: leave it out")
        return None

    return ShortCircuit(mock(), refuse)


def shape_errors_are_422(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    """Every 400 is answered 422: the server mixes shape errors up with unknown data."""
    return RewriteResponse(mock(), lambda _, status, headers: (422 if status == 400 else status, headers))


FAULTS = (
    Fault("missing_header_is_403", "auth.missing_header", missing_header_is_403, only("auth.missing_header")),
    Fault(
        "access_checked_before_authentication",
        "auth.before_authorization",
        access_checked_before_authentication,
        only("auth.before_authorization"),
    ),
    Fault(
        "unauthenticated_request_binds_key",
        "idempotency.failed_request_binds_no_key",
        unauthenticated_request_binds_key,
        only("idempotency.failed_request_binds_no_key"),
    ),
    Fault(
        "data_checked_before_shape",
        "data.shape_before_data",
        data_checked_before_shape,
        only("data.shape_before_data"),
    ),
    Fault("other_schemes_accepted", "auth.wrong_scheme", other_schemes_accepted, only("auth.wrong_scheme")),
    Fault("unknown_group_is_404", "auth.unknown_group", unknown_group_is_404, only("auth.unknown_group")),
    Fault(
        "unknown_conversation_ignored",
        "data.unknown_conversation",
        unknown_conversation_ignored,
        only("data.unknown_conversation"),
    ),
    Fault(
        "inmail_to_eligible_prospect_is_422",
        "data.inmail_accepted",
        inmail_to_eligible_prospect_is_422,
        only("data.inmail_accepted"),
    ),
    Fault(
        "id_derived_from_conversation",
        "idempotency.distinct_keys",
        id_derived_from_conversation,
        only("idempotency.distinct_keys"),
    ),
    Fault(
        "error_envelope_with_extra_member",
        "envelope.documented_response",
        error_envelope_with_extra_member,
        ("--profile", "quick", "--only", "envelope.documented_response", "--only", "auth.*"),
    ),
    Fault(
        "server_error_on_non_ascii",
        "contract.not_a_server_error",
        server_error_on_non_ascii,
        only("contract.*"),
    ),
    Fault(
        "shape_errors_are_406",
        "contract.status_code_conformance",
        shape_errors_are_406,
        only("contract.*"),
    ),
    Fault("responses_as_text_plain", "contract.content_type_conformance", responses_as_text_plain, only("contract.*")),
    Fault("empty_trace_id_header", "contract.response_headers_conformance", empty_trace_id_header, only("contract.*")),
    Fault("data_with_extra_member", "contract.response_schema_conformance", data_with_extra_member, only("contract.*")),
    Fault(
        "explicit_default_channel_refused",
        "contract.positive_data_acceptance",
        explicit_default_channel_refused,
        only("contract.*"),
    ),
    Fault(
        "conflict_replays_in_the_model",
        "stateful.idempotency_model",
        conflict_replays,
        ("--profile", "thorough", "--max-examples", "1", "--only", "stateful.*"),
    ),
    Fault(
        "shape_errors_are_422",
        "contract.negative_data_rejection",
        shape_errors_are_422,
        only("contract.*"),
    ),
)
