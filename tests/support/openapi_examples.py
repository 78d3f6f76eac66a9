"""Find every example in an OpenAPI 3.0 document and validate it against the schema it illustrates.

Why generic: an example added to the document later is checked without anyone touching the tests. The walker
knows where OAS 3.0 puts examples (media types, parameters, headers, schemas) instead of searching for keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS30Validator, oas30_format_checker

# Keywords whose value is a schema, or a list or map of schemas, inside a schema object.
_SUBSCHEMA = ("items", "not", "additionalProperties")
_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf")


@dataclass(frozen=True)
class FoundExample:
    """One example value, where it sits in the document, and the schema it must satisfy."""

    location: str
    schema: dict[str, Any]
    value: Any


def iter_examples(document: dict[str, Any]) -> Iterator[FoundExample]:
    """Every `example` and `examples` entry of the document, each paired with its schema."""
    yield from _walk_objects(document, "#", document)


def _walk_objects(node: Any, pointer: str, document: dict[str, Any]) -> Iterator[FoundExample]:
    """Walk non-schema objects; media types, parameters and headers are the mappings with a `schema`."""
    if isinstance(node, list):
        for index, child in enumerate(node):
            yield from _walk_objects(child, f"{pointer}/{index}", document)
        return
    if not isinstance(node, dict):
        return
    if isinstance(node.get("schema"), dict) and pointer != "#/components/schemas":
        yield from _examples_of(node, pointer, node["schema"], document)
    for key, child in node.items():
        if key in ("example", "examples"):
            continue  # example values are data, not document structure
        child_pointer = f"{pointer}/{_escape(key)}"
        if key == "schema" or pointer == "#/components/schemas":
            yield from _walk_schema(child, child_pointer)
        else:
            yield from _walk_objects(child, child_pointer, document)


def _walk_schema(schema: Any, pointer: str) -> Iterator[FoundExample]:
    """Schema objects may carry their own `example`, validated against that very schema."""
    if not isinstance(schema, dict):
        return
    if "example" in schema:
        yield FoundExample(f"{pointer}/example", schema, schema["example"])
    for name, sub in (schema.get("properties") or {}).items():
        yield from _walk_schema(sub, f"{pointer}/properties/{_escape(name)}")
    for key in _SUBSCHEMA:
        yield from _walk_schema(schema.get(key), f"{pointer}/{key}")
    for key in _SUBSCHEMA_LISTS:
        for index, sub in enumerate(schema.get(key) or []):
            yield from _walk_schema(sub, f"{pointer}/{key}/{index}")


def _examples_of(
    node: dict[str, Any], pointer: str, schema: dict[str, Any], document: dict[str, Any]
) -> Iterator[FoundExample]:
    """`example` and each entry of `examples` (Example Objects, possibly `$ref`s to components/examples)."""
    if "example" in node:
        yield FoundExample(f"{pointer}/example", schema, node["example"])
    for name, entry in (node.get("examples") or {}).items():
        entry_pointer = f"{pointer}/examples/{_escape(name)}"
        resolved = resolve_pointer(document, entry["$ref"]) if "$ref" in entry else entry
        if "externalValue" in resolved:
            raise ValueError(f"{entry_pointer}: externalValue examples are not supported by this walker")
        yield FoundExample(f"{entry_pointer}/value", schema, resolved["value"])


def resolve_pointer(document: dict[str, Any], ref: str) -> Any:
    """Resolve a local `#/a/b` reference; the contract is one self-contained file."""
    if not ref.startswith("#/"):
        raise ValueError(f"only local references are supported, got {ref!r}")
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def schema_errors(document: dict[str, Any], schema: dict[str, Any], value: Any) -> list[ValidationError]:
    """Validate with OAS 3.0 semantics (`nullable`, `format`), resolving `$ref`s against the document root."""
    rooted = {"components": document.get("components", {}), "allOf": [schema]}
    validator = OAS30Validator(rooted, format_checker=oas30_format_checker)
    return sorted(validator.iter_errors(value), key=lambda error: list(error.absolute_path))


def _escape(key: Any) -> str:
    """JSON-pointer escaping, so locations in failure messages can be pasted into a $ref."""
    return str(key).replace("~", "~0").replace("/", "~1")
