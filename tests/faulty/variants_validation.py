"""Faulty variants of request validation: the real mock with one shape rule broken in front of it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from starlette.types import ASGIApp

from faulty.middleware import RewriteRequestJson, ShortCircuit, header
from faulty.variants import Fault, mock
from mock_server.http.envelope import EnvelopeError


def _patch_body(change: Callable[[dict], dict]) -> Callable[[Any], Any]:
    return lambda body: change(dict(body)) if isinstance(body, dict) else body


def inmail_subject_optional(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    def fill(body: dict) -> dict:
        return {"subject": "(none)", **body} if body.get("channel") == "inmail" else body

    return RewriteRequestJson(mock(), _patch_body(fill))


def unknown_property_ignored(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    known = {"prospectId", "message", "channel", "conversationId", "subject"}
    return RewriteRequestJson(mock(), _patch_body(lambda body: {k: v for k, v in body.items() if k in known}))


def message_limit_off_by_one(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    def trim(body: dict) -> dict:
        message = body.get("message")
        return {**body, "message": message[:8000]} if isinstance(message, str) else body

    return RewriteRequestJson(mock(), _patch_body(trim))


def server_error_on_malformed_json(monkeypatch: pytest.MonkeyPatch) -> ASGIApp:
    def crash(scope: Any, body: bytes) -> EnvelopeError | None:
        if header(scope, b"authorization") is None:
            return None
        try:
            json.loads(body)
        except ValueError:
            return EnvelopeError(500, "INTERNAL_ERROR", "An internal error occurred.")
        return None

    return ShortCircuit(mock(), crash)


FAULTS = (
    Fault("inmail_subject_optional", "validation.conditional_rules", inmail_subject_optional),
    Fault("unknown_property_ignored", "validation.body_shape", unknown_property_ignored),
    Fault("message_limit_off_by_one", "validation.length_limits", message_limit_off_by_one),
    Fault("server_error_on_malformed_json", "validation.malformed_payload", server_error_on_malformed_json),
)
