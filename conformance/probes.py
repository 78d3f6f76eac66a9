"""Building blocks of the validation checks: a probe, the valid bodies probes start from, and the verdict.

A probe is kept only when the loaded spec agrees with what it expects (a body the request schema accepts
may be probed for acceptance, one it refuses for a 400), so a spec edit that turns a probe valid or invalid
moves it to the right side instead of producing a false verdict.
"""

from __future__ import annotations

import json
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jsonschema import Draft4Validator
from schemathesis import APIOperation

from conformance.assertions import describe, details_name
from conformance.exchange import Exchange
from conformance.messages import JSON, Messages, new_key
from conformance.results import CheckFailed
from conformance.spec_rules import (
    body_size_limit,
    body_validator,
    conditional_rules,
    enum_members,
    header_characters,
    header_schema,
    properties,
    request_media_types,
    selector_contexts,
)

if TYPE_CHECKING:  # the scenarios package imports this module
    from conformance.scenarios.base import ScenarioContext

Outcome = tuple[int, str | None]
CODE = "VALIDATION_ERROR"
SHAPE_ERROR: frozenset[Outcome] = frozenset({(400, CODE)})
ACCEPTED: frozenset[Outcome] = frozenset({(202, None)})
UNKNOWN_REFERENCE: frozenset[Outcome] = frozenset({(422, CODE)})
# An InMail to the InMail fixture may meet a prospect that got a conversation from an earlier InMail of the
# run (sent by day): a data condition the contract names, decided after the shape was accepted.
INMAIL_INELIGIBLE: Outcome = (409, "INMAIL_NOT_ELIGIBLE")
# Members whose value names stored data: a well-formed value that is no fixture is 422 (contract: rules that
# need stored data live in the operation's description, not in the schema).
REFERENCE_MEMBERS = ("prospectId", "conversationId")
# One character per UTF-8 width: a limit counted in bytes or UTF-16 units disagrees on all but the first.
WIDTHS = ("a", "é", "€", "😀")
REFUSED_MEDIA_TYPES = (
    None,
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=conformance",
    "application/xml",
)
CHARSET = "; charset=utf-8"
IDEMPOTENCY_KEY = "Idempotency-Key"


def char_label(character: str) -> str:
    """A character as a reader can see it: quoted when printable, else its code point and name."""
    if character.isprintable() and not character.isspace():
        return f"'{character}' ({len(character.encode())}-byte)"
    return f"U+{ord(character):04X} {unicodedata.name(character, '')}".rstrip()


def repeated(count: int, character: str) -> str:
    """How a label names a string of `count` times `character`."""
    return f"{count} × {char_label(character)}"  # noqa: RUF001 (the multiplication sign is meant)


def encode(body: Any) -> bytes:
    """A body as UTF-8 JSON with real multi-byte characters on the wire (not `\\u` escapes)."""
    return json.dumps(body, ensure_ascii=False).encode()


@dataclass(frozen=True)
class Probe:
    """One request of a validation check and the answers the contract allows for it."""

    label: str
    expect: frozenset[Outcome]
    body: Any = None
    raw: bytes | None = None
    content_type: str | None = JSON
    key: str | None = None
    names: str | None = None  # a refusal whose error.details must name this field (member or header)

    def wire(self) -> bytes:
        """The exact bytes sent."""
        return self.raw if self.raw is not None else encode(self.body)


@dataclass(frozen=True)
class Base:
    """A valid body for one selector context (e.g. channel inmail), and what the server may answer to it."""

    context: dict[str, Any]
    body: dict[str, Any]
    accepted: frozenset[Outcome] | None  # None: no fixture fits this context, so only refusals are probed
    selectors: tuple[str, ...] = ()

    def where(self) -> str:
        """The context in words, for labels ("with channel omitted")."""
        words = [
            f"{name} {self.context[name]}" if name in self.context else f"{name} omitted" for name in self.selectors
        ]
        return "with " + " and ".join(words) if words else ""


class Plan:
    """The probes of one check, each kept only when the spec agrees with its expectation."""

    def __init__(self, operation: APIOperation) -> None:
        self.is_valid = body_validator(operation).is_valid
        self.probes: list[Probe] = []

    def refuse(self, label: str, body: Any, **options: Any) -> None:
        """Expect 400 VALIDATION_ERROR for a body the request schema refuses."""
        if not self.is_valid(body):
            self.probes.append(Probe(label.strip(), SHAPE_ERROR, body, **options))

    def accept(self, label: str, body: Any, expect: frozenset[Outcome] | None, **options: Any) -> None:
        """Expect acceptance (as `expect` words it) for a body the request schema accepts."""
        if expect and self.is_valid(body):
            self.probes.append(Probe(label.strip(), expect, body, **options))

    def raw(self, label: str, expect: frozenset[Outcome], raw: bytes, **options: Any) -> None:
        """A probe whose bytes or framing, not its JSON value, are under test."""
        self.probes.append(Probe(label, expect, raw=raw, **options))


def outcome_words(expect: Iterable[Outcome]) -> str:
    """`expect` as a reader would say it."""
    return " or ".join(f"{status} {code}" if code else str(status) for status, code in sorted(expect, key=str))


def answered(exchange: Exchange, expect: frozenset[Outcome], *, rule: str) -> None:
    """The response is one of the answers the contract allows for this probe (status and error code)."""
    code = None if exchange.status == 202 else exchange.error_code
    if (exchange.status, code) not in expect:
        raise CheckFailed(rule, outcome_words(expect), describe(exchange), exchange)


def send(ctx: ScenarioContext, probes: Iterable[Probe], tag: str = "validation") -> None:
    """Send each probe with a fresh Idempotency-Key (unless it tests one) and judge its answer; a refusal
    that must name a field is judged on its error.details only once its status and code are right."""
    for probe in probes:
        key = probe.key if probe.key is not None else new_key(tag)
        try:
            exchange = ctx.post(raw=probe.wire(), content_type=probe.content_type, key=key)
        except UnicodeEncodeError:  # the HTTP client cannot put this byte in a header: a kit limit, not a verdict
            unsent = f"not sent (the HTTP client cannot encode it): {probe.label}"
            ctx.result.note = f"{ctx.result.note}; {unsent}" if ctx.result.note else unsent
            continue
        if ctx.expect(answered, exchange, probe.expect, label=probe.label) and probe.names is not None:
            ctx.expect(details_name, exchange, probe.names, label=f"{probe.label}: error.details")


def reference_outcome(base: Base, member: str, value: Any) -> frozenset[Outcome] | None:
    """What a valid body built from `base` with `member` set to `value` may get."""
    if member in REFERENCE_MEMBERS and base.body.get(member) != value:
        return UNKNOWN_REFERENCE
    return base.accepted


def bases(operation: APIOperation, messages: Messages) -> list[Base]:
    """A valid body for every selector context of the spec, in `selector_contexts` order (omitted first).

    A context the fixtures fit (a direct message, an InMail to the InMail fixture; a selector equal to its
    default fits like an omitted one) may be probed for acceptance; any other context (say an enum value
    added to the spec) gets a body adjusted by the conditional rules, for refusals only."""
    is_valid = body_validator(operation).is_valid
    selectors = enum_members(operation)
    defaults = {name: properties(operation)[name].get("default") for name in selectors}
    fixtures = [(messages.direct(), ACCEPTED), (messages.inmail(), ACCEPTED | {INMAIL_INELIGIBLE})]
    rules = conditional_rules(operation)
    found = []
    for context in selector_contexts(operation):
        wanted = {name: context.get(name, defaults[name]) for name in selectors}
        base = None
        for body, accepted in fixtures:
            if {name: body.get(name, defaults[name]) for name in selectors} == wanted:
                base = Base(context, _with_context(body, selectors, context), accepted, tuple(selectors))
                break
        if base is None:
            body = _with_context(fixtures[0][0], selectors, context)
            for rule in rules:
                if dict(rule.context) == context and rule.kind == "forbidden":
                    body.pop(rule.member, None)
                elif dict(rule.context) == context and rule.kind == "required":
                    body.setdefault(rule.member, "a")
            base = Base(context, body, None, tuple(selectors))
        if is_valid(base.body):
            found.append(base)
    return found


def _with_context(body: dict[str, Any], selectors: Iterable[str], context: dict[str, Any]) -> dict[str, Any]:
    return {**{name: value for name, value in body.items() if name not in selectors}, **context}


def base_allowing(bases_: Iterable[Base], operation: APIOperation, member: str, edge: Any, past: Any) -> Base | None:
    """The first fixture-fitting base in which `member` set to `edge` is valid and set to `past` is not:
    where the rule under test (and no stricter one) decides."""
    is_valid = body_validator(operation).is_valid
    for base in bases_:
        if base.accepted and is_valid({**base.body, member: edge}) and not is_valid({**base.body, member: past}):
            return base
    return None


def fixture_bases(operation: APIOperation, messages: Messages) -> list[Base]:
    """The bases a server must accept (the fixtures fit their context), omitted selectors first."""
    return [base for base in bases(operation, messages) if base.accepted]


# --- Framing: media types, payload bytes, body size and the Idempotency-Key header ------------------------


def media_type_probes(operation: APIOperation, messages: Messages) -> list[Probe]:
    """The spec's media types (with a charset parameter too) accepted; others, or none, are 400."""
    plan, base = Plan(operation), fixture_bases(operation, messages)[0]
    raw = encode(base.body)
    accepted = request_media_types(operation)
    assert base.accepted is not None
    for media_type in accepted:
        for content_type in (media_type, media_type + CHARSET):
            plan.raw(f"Content-Type: {content_type}", base.accepted, raw, content_type=content_type)
    for refused in REFUSED_MEDIA_TYPES:
        if refused is None:
            plan.raw("no Content-Type header with a JSON body", SHAPE_ERROR, raw, content_type=None)
        elif refused.split(";")[0] not in accepted:
            plan.raw(f"Content-Type: {refused} (valid JSON bytes)", SHAPE_ERROR, raw, content_type=refused)
    return plan.probes


def payload_probes(operation: APIOperation, messages: Messages) -> list[Probe]:
    """Bodies that are not one JSON object in UTF-8: each is 400."""
    plan, base = Plan(operation), fixture_bases(operation, messages)[0]
    valid = encode(base.body)
    marker = uuid.uuid4().hex
    with_marker = encode({**base.body, "message": marker})
    payloads = {
        "truncated JSON": valid[:-1],
        "trailing bytes after the object": valid + b" x",
        "a second JSON object after the object": valid + b"{}",
        "empty body": b"",
        "body of only white space": b" \r\n",
        "JSON array holding the body": b"[" + valid + b"]",
        "JSON string holding the body": json.dumps(valid.decode()).encode(),
        "JSON number": b"42",
        "JSON null": b"null",
        "JSON true": b"true",
        "invalid UTF-8 (latin-1 byte 0xE9 in message)": with_marker.replace(marker.encode(), b"caf\xe9"),
        "invalid UTF-8 (encoded surrogate ED A0 80 in message)": with_marker.replace(marker.encode(), b"\xed\xa0\x80"),
    }
    for label, raw in payloads.items():
        plan.raw(label, SHAPE_ERROR, raw)
    return plan.probes


def body_size_probes(operation: APIOperation, messages: Messages) -> list[Probe]:
    """A valid body padded with JSON white space to exactly the documented size limit is accepted; one byte
    more is 400."""
    limit = body_size_limit(operation)
    plan, base = Plan(operation), fixture_bases(operation, messages)[0]
    if limit is None or base.accepted is None:
        return []
    valid = encode(base.body)
    for size, expect in ((limit, base.accepted), (limit + 1, SHAPE_ERROR)):
        plan.raw(
            f"body of {size} bytes (valid JSON padded with spaces)",
            expect,
            valid[:-1] + b" " * (size - len(valid)) + b"}",
        )
    return plan.probes


def _field_value_characters(characters: Iterable[str]) -> list[str]:
    """Characters an HTTP field value can carry (RFC 9110: visible ASCII, obs-text 0x80-0xFF, space, tab).
    Other control characters and DEL are refused by HTTP servers before any application sees them."""
    return [c for c in characters if c in "\t " or 0x21 <= ord(c) <= 0x7E or 0x80 <= ord(c) <= 0xFF]


def _run_ends(characters: Iterable[str]) -> list[str]:
    """The first and last character of each run of consecutive code points: a range's two edges."""
    runs: list[list[int]] = []
    for code in sorted(map(ord, characters)):
        if runs and code == runs[-1][-1] + 1:
            runs[-1][-1:] = [code] if len(runs[-1]) == 2 else [runs[-1][-1], code]
        else:
            runs.append([code])
    return [chr(code) for run in runs for code in run]


def key_of_length(length: int) -> str:
    """A key of exactly `length` characters that no earlier run used (it ends in a random suffix)."""
    unique = "conformance-" + uuid.uuid4().hex
    return (unique * (length // len(unique) + 1))[-length:]


def key_probes(operation: APIOperation, messages: Messages) -> list[Probe]:
    """The Idempotency-Key header schema at its edges: its length limits and the characters its pattern
    allows (all accepted) or refuses (one past a length limit, or any refused character, is 400)."""
    schema = header_schema(operation, IDEMPOTENCY_KEY)
    base = fixture_bases(operation, messages)[0]
    if schema is None or base.accepted is None:
        return []
    valid = Draft4Validator(schema).is_valid
    allowed, refused = header_characters(schema, map(chr, range(0x100)))
    probes: list[Probe] = []

    def add(label: str, key: str) -> None:
        expect = base.accepted if valid(key) and base.accepted else SHAPE_ERROR
        probes.append(Probe(f"{IDEMPOTENCY_KEY} {label}", expect, base.body, key=key))

    unique = "conformance-" + uuid.uuid4().hex
    low, high = schema.get("minLength", 0), schema.get("maxLength")
    if high is not None:
        add(f"of {high} characters", (unique * (high // len(unique) + 1))[-high:])
        add(f"of {high + 1} characters", (unique * (high // len(unique) + 2))[-(high + 1) :])
    if low >= 1:
        add("empty" if low == 1 else f"of {low - 1} characters", unique[: low - 1])
    room = (high or 255) - 33
    usable = [c for c in allowed if valid(c)]
    for start in range(0, len(usable), room):
        chunk = "".join(usable[start : start + room])
        add(f"made of the allowed characters {chunk[0]!r}..{chunk[-1]!r}", chunk + "-" + uuid.uuid4().hex)
    for character in _run_ends(_field_value_characters(refused)):
        add(f"with byte 0x{ord(character):02X} inside", f"conformance{character}{uuid.uuid4().hex}")
    return probes
