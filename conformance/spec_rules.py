"""Reads the rules the kit checks out of the loaded contract, so a limit is typed once: in the spec.

Everything here works on the raw OpenAPI document behind the Schemathesis operation, with local `$ref`s
resolved, so changing `maxLength` (or an enum, a pattern, a required member, a documented method) in
`openapi/sonarly.yaml` changes what the kit probes with no other edit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from itertools import product
from typing import Any

from jsonschema import Draft4Validator
from schemathesis import APIOperation

from openapi import follow_ref

JSON_MEDIA_TYPE = "application/json"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def resolve(document: dict[str, Any], node: Any) -> Any:
    """`node` with every local `$ref` replaced by its target (the contract has no recursive schemas)."""
    node = follow_ref(document, node)
    if isinstance(node, dict):
        return {key: resolve(document, value) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(document, item) for item in node]
    return node


def _document(operation: APIOperation) -> dict[str, Any]:
    return operation.schema.raw_schema


def path_item(operation: APIOperation) -> dict[str, Any]:
    """The operation's path item, resolved."""
    document = _document(operation)
    return resolve(document, document["paths"][operation.path])


def operation_definition(operation: APIOperation) -> dict[str, Any]:
    """The operation object (parameters, requestBody, responses), resolved."""
    return path_item(operation)[operation.method.lower()]


def request_schema(operation: APIOperation, media_type: str = JSON_MEDIA_TYPE) -> dict[str, Any]:
    """The resolved JSON schema of the request body for `media_type`."""
    content = operation_definition(operation)["requestBody"]["content"]
    return content[media_type]["schema"]


def request_media_types(operation: APIOperation) -> tuple[str, ...]:
    """The media types the contract accepts for the request body."""
    return tuple(operation_definition(operation)["requestBody"]["content"])


def header_schema(operation: APIOperation, name: str) -> dict[str, Any] | None:
    """The resolved schema of a request header parameter (path-level parameters included), or None."""
    item = path_item(operation)
    parameters = [*item.get("parameters", []), *operation_definition(operation).get("parameters", [])]
    for parameter in parameters:
        if parameter.get("in") == "header" and parameter.get("name", "").lower() == name.lower():
            return parameter.get("schema")
    return None


def documented_methods(operation: APIOperation) -> tuple[str, ...]:
    """Upper-case HTTP methods the contract documents on the operation's path."""
    return tuple(method.upper() for method in path_item(operation) if method in HTTP_METHODS)


def documented_statuses(operation: APIOperation) -> tuple[str, ...]:
    """The response status codes the operation documents, as written in the spec."""
    return tuple(str(status) for status in operation_definition(operation)["responses"])


def body_members(operation: APIOperation) -> tuple[str, ...]:
    """The members the request body may have, in the spec's order."""
    return tuple(request_schema(operation).get("properties", {}))


# --- Request body rules: what a valid body may hold, read from the request schema ----------------------

OMITTED: dict[str, Any] = {}  # the context in which no selector member is sent (each takes its default)
_SIZE_UNITS = {"bytes": 1, "B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}
_BODY_SIZE = re.compile(r"body\s+over\s+(\d+)\s*(bytes|B|KiB|MiB|GiB)\b")
_JSON_TYPES = ("null", "boolean", "integer", "number", "string", "array", "object")


@dataclass(frozen=True)
class StringLimit:
    """The length rule one string member has everywhere (its own `minLength`/`maxLength`/`pattern`)."""

    member: str
    min_length: int | None
    max_length: int | None
    pattern: str | None


@dataclass(frozen=True)
class ConditionalRule:
    """A rule that holds only for some values of the selector members (`allOf` entries such as "subject:
    required when channel is inmail"); `context` is the selector values ({} = all omitted) it holds in."""

    title: str
    kind: str  # "required", "forbidden", "max_length" or "min_length"
    member: str
    context: tuple[tuple[str, Any], ...]
    limit: int | None = None


def properties(operation: APIOperation) -> dict[str, dict[str, Any]]:
    """Each body member's resolved schema."""
    return request_schema(operation).get("properties", {})


def required_members(operation: APIOperation) -> tuple[str, ...]:
    """Members every body must have."""
    return tuple(request_schema(operation).get("required", ()))


def additional_properties_allowed(operation: APIOperation) -> bool:
    """False when the body schema says `additionalProperties: false`."""
    return request_schema(operation).get("additionalProperties", True) is not False


def member_types(operation: APIOperation, member: str) -> tuple[str, ...]:
    """The JSON types a member's schema names (all of them when it names none)."""
    declared = properties(operation)[member].get("type")
    if declared is None:
        return _JSON_TYPES
    return tuple(declared) if isinstance(declared, list) else (declared,)


def enum_members(operation: APIOperation) -> dict[str, tuple[Any, ...]]:
    """Members restricted to an enum, with their values in the spec's order."""
    return {name: tuple(schema["enum"]) for name, schema in properties(operation).items() if "enum" in schema}


def string_limits(operation: APIOperation) -> tuple[StringLimit, ...]:
    """Every string member with a length rule or a pattern of its own."""
    limits = []
    for name, schema in properties(operation).items():
        if "string" in member_types(operation, name) and {"minLength", "maxLength", "pattern"} & set(schema):
            limits.append(StringLimit(name, schema.get("minLength"), schema.get("maxLength"), schema.get("pattern")))
    return tuple(limits)


def body_validator(operation: APIOperation) -> Draft4Validator:
    """A validator of whole request bodies, to tell a probe that must be accepted from one that must not."""
    return Draft4Validator(request_schema(operation))


def selector_contexts(operation: APIOperation) -> tuple[dict[str, Any], ...]:
    """Every combination of values of the enum members a conditional rule can hinge on: omitted (when the
    member is optional) and each enum value. The first context is the one where nothing is sent."""
    required = set(required_members(operation))
    choices = [
        [(name, None)] * (name not in required) + [(name, value) for value in values]
        for name, values in enum_members(operation).items()
    ]
    return tuple({name: value for name, value in combination if value is not None} for combination in product(*choices))


def conditional_rules(operation: APIOperation) -> tuple[ConditionalRule, ...]:
    """The rules of the body schema's `allOf` entries, found by evaluating each entry (with jsonschema)
    against small bodies in every selector context: a member whose presence decides the entry is required
    or forbidden there; a length that decides it is a conditional limit there."""
    selectors = set(enum_members(operation))
    members = [name for name in properties(operation) if name not in selectors]
    rules: dict[tuple[str, str, tuple[tuple[str, Any], ...], int | None], ConditionalRule] = {}
    for entry in request_schema(operation).get("allOf", ()):
        valid = Draft4Validator(entry).is_valid
        for context in selector_contexts(operation):
            frozen = tuple(sorted(context.items()))
            for member in members:
                title = entry.get("title") or f"{member}: rule of an allOf entry"
                for kind, limit in _entry_rules(valid, context, member, _limits_in(entry, member)):
                    rules.setdefault((kind, member, frozen, limit), ConditionalRule(title, kind, member, frozen, limit))
    return tuple(rules.values())


def _entry_rules(
    valid: Callable[[Any], bool], context: dict[str, Any], member: str, limits: list[tuple[str, int]]
) -> list[tuple[str, int | None]]:
    found: list[tuple[str, int | None]] = []
    with_member, without = valid({**context, member: "a"}), valid(context)
    if with_member != without:
        found.append(("required" if with_member else "forbidden", None))
    for keyword, limit in limits:
        edge, past = (limit, limit + 1) if keyword == "maxLength" else (limit, limit - 1)
        if past >= 0 and valid({**context, member: "a" * edge}) and not valid({**context, member: "a" * past}):
            found.append(("max_length" if keyword == "maxLength" else "min_length", limit))
    return found


def _limits_in(node: Any, member: str) -> list[tuple[str, int]]:
    """Every `maxLength`/`minLength` an entry sets on `member`, however deep in anyOf/not/allOf."""
    found: list[tuple[str, int]] = []
    if isinstance(node, dict):
        schema = node.get("properties", {}).get(member, {})
        found += [(keyword, schema[keyword]) for keyword in ("maxLength", "minLength") if keyword in schema]
        for value in node.values():
            found += _limits_in(value, member)
    elif isinstance(node, list):
        for item in node:
            found += _limits_in(item, member)
    return found


@cache
def blank_characters(pattern: str) -> tuple[str, ...]:
    """Every code point that cannot satisfy `pattern` on its own: for the message pattern, the characters
    the contract calls white space. A message made only of them breaks the pattern."""
    search = re.compile(pattern).search
    return tuple(chr(code) for code in _scalar_values() if search(chr(code)) is None)


def _scalar_values() -> Iterator[int]:
    yield from range(0xD800)
    yield from range(0xE000, 0x110000)


def header_characters(schema: dict[str, Any], candidates: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """`candidates` split into the characters a header's pattern allows and those it refuses."""
    pattern = schema.get("pattern")
    if pattern is None:
        return tuple(candidates), ()
    search = re.compile(pattern).search
    allowed: list[str] = []
    refused: list[str] = []
    for character in candidates:
        (allowed if search(character) else refused).append(character)
    return tuple(allowed), tuple(refused)


def body_size_limit(operation: APIOperation) -> int | None:
    """The largest body the operation's description allows ("a body over 1 MiB is 400"), in bytes."""
    match = _BODY_SIZE.search(operation_definition(operation).get("description", ""))
    return int(match.group(1)) * _SIZE_UNITS[match.group(2)] if match else None
