"""Request validation: a boundary and combination matrix around every documented limit."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from conformance.assertions import accepted, rejected_with
from conformance.messages import JSON, new_key
from conformance.scenarios.base import ScenarioContext, scenario

REJECTED = {400, 422}
CODE = "VALIDATION_ERROR"
VISIBLE_ASCII = "".join(chr(code) for code in range(0x21, 0x7F))


@dataclass(frozen=True)
class Probe:
    """One request of the matrix: a body (or raw bytes) and what the server must answer."""

    label: str
    body: Any = None
    raw: bytes | None = None
    content_type: str = JSON
    key: str | None = None


def _reject_all(ctx: ScenarioContext, probes: list[Probe]) -> None:
    for probe in probes:
        exchange = ctx.post(
            probe.body,
            raw=probe.raw,
            content_type=probe.content_type,
            key=probe.key if probe.key is not None else new_key("validation"),
        )
        ctx.expect(rejected_with, exchange, REJECTED, CODE, label=probe.label)


@scenario("validation.conditional_rules", "Channel-dependent rules are enforced with 400 VALIDATION_ERROR")
def conditional_rules(ctx: ScenarioContext) -> None:
    m = ctx.messages
    inmail = m.inmail()
    no_subject = {k: v for k, v in inmail.items() if k != "subject"}
    _reject_all(
        ctx,
        [
            Probe("inmail without subject", no_subject),
            Probe("subject with direct_message", m.direct(channel="direct_message", subject="Hello")),
            Probe("subject with channel omitted", m.direct(subject="Hello")),
            Probe("conversationId with inmail", {**inmail, "conversationId": m.direct().get("conversationId", "c")}),
            Probe("inmail message of 1901 characters", {**inmail, "message": "m" * 1901}),
        ],
    )


@scenario("validation.length_limits", "One past each length limit is 400 VALIDATION_ERROR")
def length_limits(ctx: ScenarioContext) -> None:
    m = ctx.messages
    _reject_all(
        ctx,
        [
            Probe("message of 8001 characters", m.direct(message="m" * 8001)),
            Probe("empty message", m.direct(message="")),
            Probe("prospectId of 129 characters", {**m.direct(), "prospectId": "p" * 129}),
            Probe("empty prospectId", {**m.direct(), "prospectId": ""}),
            Probe("conversationId of 129 characters", m.direct(conversationId="c" * 129)),
            Probe("empty conversationId", m.direct(conversationId="")),
            Probe("subject of 201 characters", {**m.inmail(), "subject": "s" * 201}),
            Probe("empty subject", {**m.inmail(), "subject": ""}),
        ],
    )


@scenario("validation.body_shape", "Bodies that break the schema are 400 VALIDATION_ERROR")
def body_shape(ctx: ScenarioContext) -> None:
    m = ctx.messages
    without = {name: {k: v for k, v in m.direct().items() if k != name} for name in ("prospectId", "message")}
    _reject_all(
        ctx,
        [
            Probe("message only white space", m.direct(message=" \t\n ")),
            Probe("unknown property", m.direct(priority="high")),
            Probe("missing prospectId", without["prospectId"]),
            Probe("missing message", without["message"]),
            Probe("unknown channel", m.direct(channel="sms")),
            Probe("prospectId not a string", {**m.direct(), "prospectId": 42}),
            Probe("message null", m.direct(message=None)),
        ],
    )


@scenario("validation.malformed_payload", "Malformed or non-object JSON and other media types are 400")
def malformed_payload(ctx: ScenarioContext) -> None:
    valid = json.dumps(ctx.messages.direct()).encode()
    _reject_all(
        ctx,
        [
            Probe("malformed JSON", raw=valid[:-3]),
            Probe("JSON array", raw=b"[]"),
            Probe("JSON string", raw=b'"hello"'),
            Probe("JSON null", raw=b"null"),
            Probe("empty body", raw=b""),
            Probe("invalid UTF-8", raw=b'{"prospectId": "\xff\xfe", "message": "x"}'),
            Probe("text/plain content type", raw=valid, content_type="text/plain"),
            Probe("form content type", raw=b"prospectId=x&message=y", content_type="application/x-www-form-urlencoded"),
        ],
    )


@scenario("validation.idempotency_key_format", "An Idempotency-Key outside 1-255 visible ASCII is 400")
def idempotency_key_format(ctx: ScenarioContext) -> None:
    body = ctx.messages.direct()
    _reject_all(
        ctx,
        [
            Probe("key of 256 characters", body, key="k" * 256),
            Probe("key with a space", body, key="conformance key"),
            Probe("empty key", body, key=""),
        ],
    )


@scenario("validation.boundaries_accepted", "Valid bodies at each limit are accepted (422 for unknown ids)")
def boundaries_accepted(ctx: ScenarioContext) -> None:
    m = ctx.messages
    for label, body, key in (
        ("message of 8000 characters", m.direct(message="m" * 8000), new_key("boundary")),
        ("message of 1 character", m.direct(message="m"), new_key("boundary")),
        ("message padded with white space", m.direct(message="  hello  "), new_key("boundary")),
        ("explicit direct_message", m.direct(channel="direct_message"), new_key("boundary")),
        ("key of 255 characters", m.direct(), ("k" * 223 + new_key("b"))[-255:]),
        ("key of every visible ASCII character", m.direct(), VISIBLE_ASCII + new_key("b")),
    ):
        ctx.expect(accepted, ctx.post(body, key=key), label=label)
    if ctx.settings.inmail_prospect_id:
        body = m.inmail(message="m" * 1900, subject="s" * 200)
        exchange = ctx.post(body, key=new_key("boundary"))
        ctx.expect(accepted, exchange, True, label="inmail message of 1900 and subject of 200 characters")
    for label, body in (
        ("prospectId of 128 characters", {**m.direct(), "prospectId": "p" * 128}),
        ("conversationId of 128 characters", m.direct(conversationId="c" * 128)),
    ):
        exchange = ctx.post(body, key=new_key("boundary"))
        ctx.expect(rejected_with, exchange, {422}, CODE, label=f"{label} (well-formed, unknown)")
