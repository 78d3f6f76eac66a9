"""Bodies that differ from an original in one member, derived from the request schema, for conflict probes.

The contract's fingerprint covers every member, so for each member of the spec the kit changes it, removes it
when optional and adds it when absent. A change that breaks a conditional rule (another `channel` needs a
`subject`) is repaired with the fewest extra edits that make the body valid again, because a shape error
(400) is checked before idempotency and would hide the conflict. Bodies the schema refuses are never sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from itertools import combinations
from typing import Any

from jsonschema import Draft4Validator
from schemathesis import APIOperation

from conformance.spec_rules import body_members, request_schema

Body = dict[str, Any]
Edit = tuple[str, Any]  # (member, value); REMOVED drops the member
REMOVED = object()
MAX_REPAIR_EDITS = 3
FILLER = "Conformance"
WHITE_SPACE_CHANGES: tuple[tuple[str, Callable[[str], str]], ...] = (
    ("message with one inner space doubled", lambda message: message.replace(" ", "  ", 1)),
    ("message with a trailing space", lambda message: message + " "),
)


def conflicting_bodies(
    operation: APIOperation, original: Body, members: Sequence[str] | None = None
) -> list[tuple[str, Body]]:
    """Labelled valid bodies, each a different JSON value from `original` (defaults applied), no two alike."""
    schema = request_schema(operation)
    validator = Draft4Validator(schema)  # OpenAPI 3.0 schemas are a JSON Schema Draft 4 dialect
    chosen = list(members) if members is not None else list(body_members(operation))
    candidates: list[tuple[str, Body]] = []
    for member in chosen:
        for label, edit in _edits(member, original, schema):
            repaired = _repair(_apply(original, [edit]), {member}, schema, validator)
            if repaired is not None:
                candidates.append((label + repaired[1], repaired[0]))
    if "message" in chosen and isinstance(original.get("message"), str):
        candidates += [
            (label, {**original, "message": change(original["message"])}) for label, change in WHITE_SPACE_CHANGES
        ]
    seen = [_canonical(original, schema)]
    unique = []
    for label, body in candidates:
        if validator.is_valid(body) and _canonical(body, schema) not in seen:
            seen.append(_canonical(body, schema))
            unique.append((label, body))
    return unique


def _edits(member: str, original: Body, schema: dict[str, Any]) -> Iterator[tuple[str, Edit]]:
    rule = schema.get("properties", {}).get(member, {})
    if member in original:
        for value in _other_values(rule, original[member]):
            yield f"{member} changed to {str(value)[:40]!r}", (member, value)
        if member not in schema.get("required", ()):
            yield f"{member} removed", (member, REMOVED)
    else:
        for value in _fillers(rule):
            yield f"{member} added as {str(value)[:40]!r}", (member, value)


def _other_values(rule: dict[str, Any], value: Any) -> list[Any]:
    if "enum" in rule:
        return [option for option in rule["enum"] if option != value]
    if isinstance(value, str):
        limit = rule.get("maxLength", len(value) + 2)
        return [value + "-2" if len(value) + 2 <= limit else value[:-1] + ("y" if value.endswith("x") else "x")]
    return []


def _fillers(rule: dict[str, Any]) -> list[Any]:
    if "enum" in rule:
        return list(rule["enum"])
    return [FILLER[: rule.get("maxLength", len(FILLER))]] if rule.get("type", "string") == "string" else []


def _apply(body: Body, edits: Sequence[Edit]) -> Body:
    changed = dict(body)
    for member, value in edits:
        if value is REMOVED:
            changed.pop(member, None)
        else:
            changed[member] = value
    return changed


def _repair(body: Body, fixed: set[str], schema: dict[str, Any], validator: Draft4Validator) -> tuple[Body, str] | None:
    """`body` made valid with the fewest extra edits to other members, and a note naming them."""
    if validator.is_valid(body):
        return body, ""
    options: list[Edit] = []
    for member, rule in schema.get("properties", {}).items():
        if member in fixed:
            continue
        if member in body and member not in schema.get("required", ()):
            options.append((member, REMOVED))
        elif member not in body:
            options += [(member, value) for value in _fillers(rule)]
    for size in range(1, MAX_REPAIR_EDITS + 1):
        for edits in combinations(options, size):
            if len({member for member, _ in edits}) == size and validator.is_valid(repaired := _apply(body, edits)):
                notes = [f"{m} removed" if v is REMOVED else f"{m} added" for m, v in edits]
                return repaired, f" ({', '.join(notes)}, as the new body requires)"
    return None


def _canonical(body: Body, schema: dict[str, Any]) -> Body:
    """The JSON value a server compares: absent members with a schema default take it."""
    defaults = {m: rule["default"] for m, rule in schema.get("properties", {}).items() if "default" in rule}
    return {**defaults, **body}
