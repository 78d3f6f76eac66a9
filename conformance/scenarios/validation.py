"""Request validation: every shape rule of the request schema, probed at its edges, derived from the spec.

Each check is a probe builder (a pure function of the loaded operation and the fixtures, so tests can read
what it would send) and a scenario that sends the probes. Shape errors must be 400 VALIDATION_ERROR, never
422: 422 is reserved for well-formed values that name no stored data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from typing import Any

from schemathesis import APIOperation

from conformance.messages import Messages
from conformance.probes import (
    IDEMPOTENCY_KEY,
    SHAPE_ERROR,
    WIDTHS,
    Base,
    Plan,
    Probe,
    base_allowing,
    bases,
    body_size_probes,
    encode,
    fixture_bases,
    key_of_length,
    key_probes,
    media_type_probes,
    payload_probes,
    reference_outcome,
    repeated,
    send,
)
from conformance.scenarios.base import ScenarioContext, scenario
from conformance.spec_rules import (
    additional_properties_allowed,
    blank_characters,
    conditional_rules,
    enum_members,
    header_schema,
    member_types,
    properties,
    required_members,
    string_limits,
)

# Characters that are not white space for the contract, but that engines call space: Python's
# str.isspace() and `\s` (U+001C-U+001F) and characters Unicode once classed as spaces (U+180E until 6.3,
# U+200B until 4.0.1). Found in the pattern-accepted set, they must be accepted like any text.
HISTORICAL_SPACES = ("\u180e", "\u200b")
BLANK_REPEAT = 3
WRONG_TYPES: dict[str, Any] = {"boolean": True, "integer": 42, "number": 4.5, "string": "42"}


def _edges(plan: Plan, base: Base, member: str, edge: int, past: int) -> None:
    """At `edge` characters accepted and at `past` refused, with a character of each UTF-8 width."""
    for character in WIDTHS:
        value = character * edge
        label = f"{member} of {repeated(edge, character)} {base.where()}"
        plan.accept(label, {**base.body, member: value}, reference_outcome(base, member, value))
        if past >= 0:
            refused = character * past
            plan.refuse(f"{member} of {repeated(past, character)} {base.where()}", {**base.body, member: refused})


def length_probes(operation: APIOperation, messages: Messages) -> list[Probe]:
    """Every string member's own `maxLength` and `minLength`, in a context where no stricter rule applies."""
    plan, candidates = Plan(operation), fixture_bases(operation, messages)
    for limit in string_limits(operation):
        member = limit.member
        if limit.max_length is not None:
            edge, past = "a" * limit.max_length, "a" * (limit.max_length + 1)
            base = base_allowing(candidates, operation, member, edge, past)
            if base is not None:
                _edges(plan, base, member, limit.max_length, limit.max_length + 1)
        if limit.min_length:
            base = base_allowing(candidates, operation, member, "a" * limit.min_length, "a" * (limit.min_length - 1))
            if base is None:
                continue
            if limit.min_length > 1:
                _edges(plan, base, member, limit.min_length, limit.min_length - 1)
            else:
                plan.refuse(f"empty {member} {base.where()}", {**base.body, member: ""})
    return plan.probes


def conditional_probes(operation: APIOperation, messages: Messages) -> list[Probe]:
    """The `allOf` rules in each selector context they hold in (channel omitted included)."""
    plan, all_bases = Plan(operation), bases(operation, messages)
    samples = {name: value for base in reversed(all_bases) for name, value in base.body.items()}
    for rule in conditional_rules(operation):
        base = next((base for base in all_bases if base.context == dict(rule.context)), None)
        if base is None:
            continue
        member, why = rule.member, f"({rule.title})"
        if rule.kind == "required":
            body = {name: value for name, value in base.body.items() if name != member}
            plan.refuse(f"{member} missing {base.where()} {why}", body)
        elif rule.kind == "forbidden":
            value = samples.get(member, "a")
            plan.refuse(f"{member} {json.dumps(value)} {base.where()} {why}", {**base.body, member: value})
        elif rule.limit is not None:
            past = rule.limit + 1 if rule.kind == "max_length" else rule.limit - 1
            _edges(plan, base, member, rule.limit, past)
    return plan.probes


@cache
def _engine_spaces() -> tuple[str, ...]:
    spaces = (chr(code) for code in range(0x10000) if chr(code).isspace() or re.fullmatch(r"\s", chr(code)))
    return tuple(dict.fromkeys([*spaces, *HISTORICAL_SPACES]))


def blank_probes(operation: APIOperation, messages: Messages) -> list[Probe]:
    """A patterned member made only of each character its pattern calls blank is 400; one made of a
    character engines call space but the pattern accepts is accepted."""
    plan, candidates = Plan(operation), fixture_bases(operation, messages)
    for limit in string_limits(operation):
        if limit.pattern is None:
            continue
        member = limit.member
        base = next((base for base in candidates if plan.is_valid({**base.body, member: "a"})), None)
        if base is None:
            continue
        blanks = blank_characters(limit.pattern)
        for character in blanks:
            plan.refuse(
                f"{member} of {repeated(BLANK_REPEAT, character)}", {**base.body, member: character * BLANK_REPEAT}
            )
        for character in _engine_spaces():
            if character not in blanks:
                value = character * BLANK_REPEAT
                label = f"{member} of {repeated(BLANK_REPEAT, character)} (not white space for the contract)"
                plan.accept(label, {**base.body, member: value}, base.accepted)
    return plan.probes


def _member_base(candidates: list[Base], plan: Plan, member: str) -> tuple[Base, Any] | None:
    """A fixture base in which `member` can be sent, and a valid value for it (its own, else "a")."""
    for base in candidates:
        if member in base.body:
            return base, base.body[member]
    return next(((base, "a") for base in candidates if plan.is_valid({**base.body, member: "a"})), None)


def type_probes(operation: APIOperation, messages: Messages) -> list[Probe]:
    """Every other JSON type, for every member, is refused: nothing is coerced. `null` is tried in every
    context, where the member is allowed and where it is not: a server that reads null as absence fails."""
    plan, candidates = Plan(operation), fixture_bases(operation, messages)
    explicit = [base for base in candidates if base.context] + candidates
    for member in properties(operation):
        declared = member_types(operation, member)
        if "null" not in declared:
            contexts = candidates[:1] if member in candidates[0].selectors else candidates
            nulls = {encode({**base.body, member: None}): base for base in contexts}
            for base in nulls.values():
                where = "" if member in base.selectors else f" {base.where()}"
                plan.refuse(f"{member}: null{where}", {**base.body, member: None})
        found = _member_base(explicit, plan, member)
        if found is None:
            continue
        base, valid = found
        wrong = {**WRONG_TYPES, "array": [valid], "object": {"value": valid}}
        for kind, value in wrong.items():
            if kind not in declared and not (kind == "integer" and "number" in declared):
                plan.refuse(f"{member}: {json.dumps(value, ensure_ascii=False)} ({kind})", {**base.body, member: value})
    return plan.probes


def _variants(value: str) -> list[str]:
    return list(dict.fromkeys([value.upper(), value.title(), value.capitalize(), f"{value} ", f" {value}"]))


def enum_probes(operation: APIOperation, messages: Messages) -> list[Probe]:
    """Every enum value accepted exactly as written; case and padding variants and unknown values are 400."""
    plan, candidates = Plan(operation), bases(operation, messages)
    for member, values in enum_members(operation).items():
        for value in values:
            base = next((base for base in candidates if base.context.get(member) == value), None)
            if base is None:
                continue
            plan.accept(f"{member} {json.dumps(value)}", base.body, base.accepted)
            for variant in _variants(str(value)):
                if variant not in values:
                    plan.refuse(f"{member} {json.dumps(variant)} (variant of {value})", {**base.body, member: variant})
        base = next((base for base in candidates if member in base.context), None)
        if base is not None:
            for unknown in ("conformance_unknown", ""):
                plan.refuse(f"{member} {json.dumps(unknown)} (unknown)", {**base.body, member: unknown})
    return plan.probes


def required_probes(operation: APIOperation, messages: Messages) -> list[Probe]:
    """Each required member missing, and the empty object."""
    plan, candidates = Plan(operation), fixture_bases(operation, messages)
    base = candidates[0]
    for member in required_members(operation):
        plan.refuse(f"{member} missing", {name: value for name, value in base.body.items() if name != member})
    plan.refuse("empty object {}", {})
    return plan.probes


def unknown_property_probes(operation: APIOperation, messages: Messages) -> list[Probe]:
    """A member the schema does not name, with a value, with null, and as a case variant of a known one."""
    plan, base = Plan(operation), fixture_bases(operation, messages)[0]
    if additional_properties_allowed(operation):
        return []
    first = next(iter(base.body))
    variant = first[0].swapcase() + first[1:]
    for name, value in (("conformanceUnknown", "x"), ("conformanceUnknown", None), (variant, base.body[first])):
        plan.refuse(f"unknown property {json.dumps({name: value})}", {**base.body, name: value})
    return plan.probes


def details_probes(operation: APIOperation, messages: Messages) -> list[Probe]:
    """One refusal per body member (a required one missing, any other null, where the fixture sends it) and
    an Idempotency-Key one past its length limit: each 400 must name that member or header in error.details."""
    plan, candidates = Plan(operation), fixture_bases(operation, messages)
    required = required_members(operation)
    for member in properties(operation):
        base = next((base for base in candidates if member in base.body), candidates[0])
        if member in required:
            body = {name: value for name, value in base.body.items() if name != member}
            plan.refuse(f"{member} missing {base.where()}", body, names=member)
        else:
            plan.refuse(f"{member}: null {base.where()}", {**base.body, member: None}, names=member)
    high = (header_schema(operation, IDEMPOTENCY_KEY) or {}).get("maxLength")
    if high is not None:
        label = f"{IDEMPOTENCY_KEY} of {high + 1} characters"
        key = key_of_length(high + 1)
        plan.probes.append(Probe(label, SHAPE_ERROR, candidates[0].body, key=key, names=IDEMPOTENCY_KEY))
    return plan.probes


Builder = Callable[[APIOperation, Messages], list[Probe]]


def _check(name: str, rule: str, build: Builder) -> None:
    """Register a check that sends what `build` derives from the loaded operation."""

    def run(ctx: ScenarioContext) -> None:
        send(ctx, build(ctx.operation, ctx.messages), tag=name.removeprefix("validation."))

    scenario(name, rule)(run)


SHAPE = "400 VALIDATION_ERROR (never 422)"
CHECKS: tuple[tuple[str, str, Builder], ...] = (
    (
        "validation.length_limits",
        "Each string member's length limits hold exactly, in code points: at the limit accepted with 1- to "
        f"4-byte UTF-8 characters, one past it (or below the minimum) {SHAPE}",
        length_probes,
    ),
    (
        "validation.conditional_rules",
        "The channel-dependent rules of the schema's allOf hold in every context (channel omitted included): "
        f"required or forbidden members and conditional limits, at the edge accepted, past it {SHAPE}",
        conditional_probes,
    ),
    (
        "validation.blank_message",
        f"A message made only of any one white-space character of the contract's pattern is {SHAPE}; "
        "characters engines call space but the pattern accepts (U+001C-U+001F, U+180E, U+200B) are accepted",
        blank_probes,
    ),
    (
        "validation.null_and_types",
        f"null and every wrong JSON type, for every member, is {SHAPE}: null is not absence, nothing is coerced",
        type_probes,
    ),
    (
        "validation.enums",
        f"Enum values are accepted exactly as written; case or padding variants and unknown values are {SHAPE}",
        enum_probes,
    ),
    ("validation.required_members", f"A body missing a required member is {SHAPE}", required_probes),
    (
        "validation.unknown_property",
        f"A member the schema does not name (additionalProperties: false) is {SHAPE}",
        unknown_property_probes,
    ),
    (
        "validation.media_types",
        "The spec's request media types are accepted, with a charset parameter too; any other Content-Type, "
        f"or none with a body, is {SHAPE}",
        media_type_probes,
    ),
    (
        "validation.malformed_payload",
        "A body that is not exactly one JSON object in UTF-8 (malformed, trailing bytes, empty, array, string, "
        f"number, null, true, invalid UTF-8) is {SHAPE}",
        payload_probes,
    ),
    (
        "validation.body_size_limit",
        f"A body at the documented size limit is accepted; one byte over it is {SHAPE}",
        body_size_probes,
    ),
    (
        "validation.idempotency_key_format",
        "An Idempotency-Key of the header schema's length and characters is accepted; one past a length limit "
        f"or with a character outside the pattern is {SHAPE}",
        key_probes,
    ),
    (
        "validation.details_name_the_field",
        "A request-shape error's error.details names the offending field in plain words (contract: e.g. "
        "`subject: required when channel is inmail`): for each body member refused once (a required member "
        "missing, any other null) and an Idempotency-Key one past its maxLength, 400 VALIDATION_ERROR whose "
        "error.details is a string containing the member or header name (case-insensitive)",
        details_probes,
    ),
)
for _name, _rule, _build in CHECKS:
    _check(_name, _rule, _build)
