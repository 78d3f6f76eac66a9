"""Validate request values against the contract's schemas the way the mock does, and name the failing fields.

Two validators, on purpose:
- connexion's `Draft4RequestValidator` over connexion's own `resolve_refs` output is exactly what the mock
  (connexion 3.3) runs on a request body, so the table proves what the mock will decide at the schema layer;
- openapi-schema-validator's `OAS30Validator` is an independent reading of OAS 3.0 (`nullable`, formats).
A rule must hold under both; a difference would mean the document relies on one library's interpretation.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from connexion.json_schema import Draft4RequestValidator, resolve_refs
from jsonschema import Draft4Validator
from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS30Validator, oas30_format_checker

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi" / "sonarly.yaml"
REQUEST_SCHEMA = "#/components/schemas/QueueMessageResponseRequest"
IDEMPOTENCY_KEY_SCHEMA = "#/components/parameters/IdempotencyKey/schema"

Validate = Callable[[Any], list[ValidationError]]


@cache
def load_document(path: Path = SPEC_PATH) -> dict[str, Any]:
    """The contract as parsed YAML. Cached: treat it as read-only."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _lookup(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def connexion_validator(ref: str) -> Validate:
    """The mock's validator: connexion inlines every $ref, then runs Draft 4 with its `nullable` extension."""
    schema = _lookup(resolve_refs(load_document()), ref)
    validator = Draft4RequestValidator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)
    return lambda value: list(validator.iter_errors(value))


def oas30_validator(ref: str) -> Validate:
    """openapi-schema-validator's OAS 3.0 validator, resolving $refs against the document root."""
    document = load_document()
    rooted = {"components": document["components"], "allOf": [_lookup(document, ref)]}
    validator = OAS30Validator(rooted, format_checker=oas30_format_checker)
    return lambda value: list(validator.iter_errors(value))


VALIDATORS: dict[str, Callable[[str], Validate]] = {
    "connexion-draft4": connexion_validator,
    "openapi-schema-validator-oas30": oas30_validator,
}


def error_fields(errors: list[ValidationError]) -> set[str]:
    """The request properties a list of top-level errors is about, the way a person would name them."""
    fields: set[str] = set()
    for error in errors:
        path = [part for part in error.absolute_path if isinstance(part, str)]
        if path:
            fields.add(path[0])
        elif error.validator == "required" and isinstance(error.instance, dict):
            fields.update(name for name in error.validator_value if name not in error.instance)
        elif error.validator == "additionalProperties" and isinstance(error.instance, dict):
            fields.update(set(error.instance) - set(error.schema.get("properties", {})))
        elif isinstance(error.schema, dict) and ":" in str(error.schema.get("title", "")):
            # The conditional rules are `allOf` entries titled "<field>: <rule>" (see the schema's description).
            fields.add(str(error.schema["title"]).split(":", 1)[0])
    return fields
