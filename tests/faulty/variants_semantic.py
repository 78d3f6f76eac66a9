"""Faulty variants of the semantic rules: prospect state, auth per channel, methods, idempotency, 202 data,
the envelope and secrets. Each is the real mock with exactly one rule bent, caught by the check it names.

None depends on the time of day: the faults are in rules the demo group's sending window does not touch,
and none freezes or moves the mock's clock.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from faulty.fault import Fault, RewriteJson, binds_key_after, idempotency_conflict, mock, only, with_data, wrap_outcomes
from faulty.middleware import ObserveResponses, RewriteRequest, RewriteResponse, ShortCircuit, header
from mock_server.domain import access, service
from mock_server.domain.errors import (
    IdempotencyConflict,
    InmailNotEligible,
    MockError,
    ProspectNotConnected,
    UnknownData,
)
from mock_server.domain.idempotency import IdempotencyStore, Replay, fingerprint
from mock_server.domain.messages import NewMessage
from mock_server.domain.service import Outcome
from mock_server.domain.sessions import dataset_of
from mock_server.http import security

WRITER, READONLY = "sk_test_acme_writer", "sk_test_acme_readonly"


def _bend_state_rule(monkeypatch: pytest.MonkeyPatch, bend: Callable[..., NewMessage]) -> None:
    """Wrap the 422/409 rules of `service`: `bend(error, conn, session, group, body, key)` decides instead."""
    original = service._checked_message

    def checked(conn: Any, session: str, group_id: str, body: dict, key: str | None) -> NewMessage:
        try:
            return original(conn, session, group_id, body, key)
        except (UnknownData, ProspectNotConnected, InmailNotEligible) as error:
            return bend(error, conn, session, group_id, body, key)

    monkeypatch.setattr(service, "_checked_message", checked)


def _direct(body: dict, key: str | None, conversation_id: str) -> NewMessage:
    return NewMessage(body["prospectId"], "direct_message", conversation_id, None, body["message"], key)


# --- prospect state ---------------------------------------------------------------------------------------


def prospect_not_connected_accepted(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    def accept(error: Exception, conn: Any, session: str, group: str, body: dict, key: str | None) -> NewMessage:
        if isinstance(error, ProspectNotConnected):
            return _direct(body, key, "cnv_opened_without_a_chat")
        raise error

    _bend_state_rule(monkeypatch, accept)
    return mock()


def inmail_not_eligible_is_422(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    def other_status(error: Exception, conn: Any, session: str, group: str, body: dict, key: str | None) -> NewMessage:
        if isinstance(error, InmailNotEligible):
            raise UnknownData("prospectId: not eligible for InMail")
        raise error

    _bend_state_rule(monkeypatch, other_status)
    return mock()


def unknown_prospect_inmail_not_eligible(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    """Checks InMail eligibility before existence: an InMail to an unknown prospect is 409, not 422."""

    def ineligible(error: Exception, conn: Any, session: str, group: str, body: dict, key: str | None) -> NewMessage:
        if isinstance(error, UnknownData) and body.get("channel") == "inmail" and "prospectId" in str(error):
            raise InmailNotEligible("prospectId: not eligible for a new InMail conversation")
        raise error

    _bend_state_rule(monkeypatch, ineligible)
    return mock()


def foreign_conversation_accepted(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    """Checks that the conversation exists in the group, not that it is the prospect's."""

    def accept(error: Exception, conn: Any, session: str, group: str, body: dict, key: str | None) -> NewMessage:
        conversation = body.get("conversationId")
        known = conversation is not None and dataset_of(conn, session).conversation_in_group(group, conversation)
        if isinstance(error, UnknownData) and conversation is not None and known:
            return _direct(body, key, conversation)
        raise error

    _bend_state_rule(monkeypatch, accept)
    return mock()


# --- authorization and methods ----------------------------------------------------------------------------


class InmailEscalation:
    """Lets the read-only key through for InMails by presenting the writer key in its place."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or header(scope, b"authorization") != f"Bearer {READONLY}":
            await self.app(scope, receive, send)
            return
        message = await receive()
        try:
            inmail = json.loads(message.get("body", b"")).get("channel") == "inmail"
        except (ValueError, AttributeError):
            inmail = False
        if inmail:
            headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"authorization"]
            scope = {**scope, "headers": [*headers, (b"authorization", f"Bearer {WRITER}".encode())]}

        async def replay() -> Any:
            return message

        await self.app(scope, replay, send)


def restricted_key_allowed_for_inmail(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    return InmailEscalation(mock())


def method_not_allowed_without_allow(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    def strip(_: Any, status: int, headers: list) -> tuple[int, list]:
        return status, [(k, v) for k, v in headers if status != 405 or k.lower() != b"allow"]

    return RewriteResponse(mock(), strip)


def get_answers_404(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    return RewriteResponse(
        mock(), lambda scope, status, headers: (404 if scope["method"] == "GET" else status, headers)
    )


# --- idempotency ------------------------------------------------------------------------------------------


def _fingerprint_without(change: Callable[[dict], dict]) -> Callable[[pytest.MonkeyPatch], ASGIApp]:
    def build(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
        monkeypatch.setattr(service, "fingerprint", lambda body: fingerprint(change(dict(body))))
        return mock()

    return build


def _normalise_space(body: dict) -> dict:
    return {**body, "message": " ".join(str(body.get("message", "")).split())}


def _drop(member: str) -> Callable[[dict], dict]:
    return lambda body: {k: v for k, v in body.items() if k != member}


def state_conflict_binds_key(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    """A prospect-state 409 remembers its key, and the key then conflicts with any other body."""
    refused: set[str] = set()
    original, queue = service._checked_message, service.queue_response

    def checked(conn: Any, session: str, group_id: str, body: dict, key: str | None) -> NewMessage:
        try:
            return original(conn, session, group_id, body, key)
        except (ProspectNotConnected, InmailNotEligible):
            refused.update([key] if key else [])
            raise

    def bound(
        store: Any, session: str, group_id: str, body: dict, key: str | None, *rest: Any, **named: Any
    ) -> Outcome:
        if key in refused:
            raise IdempotencyConflict("Idempotency-Key: already used with a different request body")
        return queue(store, session, group_id, body, key, *rest, **named)

    monkeypatch.setattr(service, "_checked_message", checked)
    monkeypatch.setattr("mock_server.http.handlers.queue_response", bound)
    return mock()


def forbidden_request_binds_key(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    """A 403 stores its key, which then conflicts with every later request, the writer's included."""
    return binds_key_after({403})


def idempotency_before_validation(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    """Looks the key up before validating the body: any other body, a malformed one too, is a conflict."""
    bound: dict[str, str] = {}

    def body_fingerprint(raw: bytes) -> str:
        try:
            parsed = json.loads(raw)
        except ValueError:
            return raw.hex()
        return fingerprint(parsed) if isinstance(parsed, dict) else raw.hex()

    def remember(scope: Scope, raw: bytes, status: int) -> None:
        key = header(scope, b"idempotency-key")
        if key is not None and status == 202:
            bound.setdefault(key, body_fingerprint(raw))

    def conflict_first(scope: Scope, raw: bytes) -> MockError | None:
        key = header(scope, b"idempotency-key")
        writer = header(scope, b"authorization") == f"Bearer {WRITER}"
        other = key in bound and bound[key] != body_fingerprint(raw)
        return idempotency_conflict() if writer and other else None

    return ShortCircuit(ObserveResponses(mock(), remember), conflict_first)


def escapes_change_the_body(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    """Keeps `\\uXXXX` escapes as written (a fingerprint of the raw text): an escaped message is another body."""
    return RewriteRequest(mock(), body=lambda raw: raw.replace(b"\\u", b"\\\\u"))


def rate_limited_binds_key(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    return binds_key_after({429}, mock(rate_limit="20/s"))


def _replay_header(change: Callable[[int, dict[str, str]], dict[str, str]]) -> Callable[[pytest.MonkeyPatch], ASGIApp]:
    def build(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
        return RewriteJson(mock(), lambda scope, status, headers, body: (change(status, headers), body))

    return build


def _unmarked(status: int, headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k != "idempotent-replayed"}


def _all_marked(status: int, headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "idempotent-replayed": "true"} if status == 202 else headers


def replay_keeps_trace_id(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    first: dict[str, str] = {}

    def same_trace(scope: Scope, status: int, headers: dict[str, str], body: Any) -> tuple[dict, Any]:
        key = header(scope, b"idempotency-key")
        if status == 202 and key is not None and isinstance(body, dict):
            body = {**body, "traceId": first.setdefault(key, body["traceId"])}
        return headers, body

    return RewriteJson(mock(), same_trace)


def key_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    lookup, bind = IdempotencyStore.lookup, IdempotencyStore.bind

    def lower_lookup(self: IdempotencyStore, key: str, body_fingerprint: str, now: float) -> Replay | None:
        return lookup(self, key.lower(), body_fingerprint, now)

    def lower_bind(self: IdempotencyStore, key: str, body_fingerprint: str, data: dict, now: float) -> None:
        bind(self, key.lower(), body_fingerprint, data, now)

    monkeypatch.setattr(IdempotencyStore, "lookup", lower_lookup)
    monkeypatch.setattr(IdempotencyStore, "bind", lower_bind)
    return mock()


# --- 202 data ---------------------------------------------------------------------------------------------


def _outcomes(change: Callable[[Outcome], Outcome]) -> Callable[[pytest.MonkeyPatch], ASGIApp]:
    def build(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
        wrap_outcomes(monkeypatch, lambda outcome, _: change(outcome))
        return mock()

    return build


def _sent(outcome: Outcome, sent_at: str | None, message_id: str | None) -> Outcome:
    return with_data(outcome, status="sent", sentAt=sent_at, messageId=message_id)


def _an_hour_before(stamp: str) -> str:
    when = datetime.fromisoformat(stamp) - timedelta(hours=1)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _no_milliseconds(outcome: Outcome) -> Outcome:
    return with_data(outcome, scheduledAt=outcome.data["scheduledAt"][:19] + "Z")


# --- envelope and secrets ---------------------------------------------------------------------------------


def api_key_in_error_details(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    original = security.authenticate

    def echoing(conn: Any, session: str, api_key: str) -> access.Caller:
        try:
            return original(conn, session, api_key)
        except access.Unauthenticated:
            raise access.Unauthenticated(f"The API key {api_key} is not known.") from None

    monkeypatch.setattr(security, "authenticate", echoing)
    return mock()


def _error_body(change: Callable[[int, dict], dict], rate_limit: str = "100/s") -> Callable[..., ASGIApp]:
    def build(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
        def rewrite(scope: Scope, status: int, headers: dict[str, str], body: Any) -> tuple[dict, Any]:
            return headers, change(status, body) if status >= 400 and isinstance(body, dict) else body

        return RewriteJson(mock(rate_limit=rate_limit), rewrite)

    return build


def _rate_limited_code(status: int, body: dict) -> dict:
    return {**body, "error": {**body["error"], "code": "TOO_MANY_REQUESTS"}} if status == 429 else body


def _only(build: Callable[[pytest.MonkeyPatch], ASGIApp], check: str) -> Fault:
    return Fault(build.__name__, check, build, only(check))


FAULTS = (
    Fault("prospect_not_connected_accepted", "state.prospect_not_connected", prospect_not_connected_accepted),
    Fault("inmail_not_eligible_is_422", "state.inmail_not_eligible", inmail_not_eligible_is_422),
    Fault("foreign_conversation_accepted", "state.foreign_conversation", foreign_conversation_accepted),
    Fault("restricted_key_allowed_for_inmail", "auth.restricted_key", restricted_key_allowed_for_inmail),
    Fault("method_not_allowed_without_allow", "methods.not_allowed", method_not_allowed_without_allow),
    Fault("get_answers_404", "methods.not_allowed", get_answers_404),
    Fault(
        "conflict_compares_message_only", "idempotency.conflict", _fingerprint_without(lambda b: {"m": b["message"]})
    ),
    Fault("conflict_ignores_white_space", "idempotency.conflict", _fingerprint_without(_normalise_space)),
    Fault("conflict_ignores_conversation_id", "idempotency.conflict", _fingerprint_without(_drop("conversationId"))),
    Fault("conflict_ignores_subject", "idempotency.conflict_inmail", _fingerprint_without(_drop("subject"))),
    Fault("state_conflict_binds_key", "idempotency.failed_request_binds_no_key", state_conflict_binds_key),
    Fault("rate_limited_binds_key", "idempotency.rate_limited_binds_no_key", rate_limited_binds_key),
    Fault("replay_not_marked", "idempotency.replayed_header", _replay_header(_unmarked)),
    Fault("first_response_marked_replay", "idempotency.replayed_header", _replay_header(_all_marked)),
    Fault("replay_keeps_trace_id", "envelope.trace_id_distinct", replay_keeps_trace_id),
    Fault("key_case_insensitive", "idempotency.key_case_sensitive", key_case_insensitive),
    Fault(
        "status_deferred_disagree",
        "data.status_deferred",
        _outcomes(lambda o: with_data(o, deferred=not o.data["deferred"])),
    ),
    Fault("sent_without_message_id", "data.sent_fields", _outcomes(lambda o: _sent(o, o.data["scheduledAt"], None))),
    Fault(
        "sent_before_scheduled",
        "data.sent_at",
        _outcomes(lambda o: _sent(o, _an_hour_before(o.data["scheduledAt"]), "msg_sent_early")),
    ),
    Fault(
        "direct_message_without_conversation",
        "data.conversation_id",
        _outcomes(lambda o: with_data(o, conversationId=None)),
    ),
    Fault("timestamps_without_milliseconds", "data.timestamp_format", _outcomes(_no_milliseconds)),
    Fault("api_key_in_error_details", "security.api_key_not_echoed", api_key_in_error_details),
    Fault("rate_limited_wrong_code", "envelope.error_code", _error_body(_rate_limited_code, rate_limit="20/s")),
    Fault("error_with_data_object", "envelope.consistent", _error_body(lambda status, body: {**body, "data": {}})),
    _only(unknown_prospect_inmail_not_eligible, "data.unknown_prospect"),
    _only(forbidden_request_binds_key, "idempotency.failed_request_binds_no_key"),
    _only(idempotency_before_validation, "idempotency.validation_before_idempotency"),
    _only(escapes_change_the_body, "idempotency.replay_reordered"),
)
