"""One catalogue of errors (mock_server/domain/errors.py), held to the two OpenAPI documents.

Why: a code the mock emits but the contract does not list is a bug a client meets in production (its
`switch` on the code has no case for it); a status, code or message typed at the place that raises it drifts
from the catalogue. These tests read the documents, so adding a code to the catalogue without the contract,
or typing one outside the catalogue, fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import yaml

from mock_server.domain.errors import CATALOGUE
from openapi import CONTRACT_SPEC, CONTROL_SPEC, follow_ref

ROOT = Path(__file__).resolve().parents[1]
OPERATION = ("/v1/accounts/{accountGroupId}/messages/responses", "post")


def _code_enums(document: dict[str, Any], schema: Any) -> set[str]:
    """Every `error.code` enum value reachable from a response schema (through `$ref` and `allOf`)."""
    schema = follow_ref(document, schema)
    found: set[str] = set()
    for part in schema.get("allOf", []):
        found |= _code_enums(document, part)
    error = follow_ref(document, schema.get("properties", {}).get("error", {}))
    code = follow_ref(document, error.get("properties", {}).get("code", {}))
    return found | set(code.get("enum", []))


def _operation_codes() -> dict[int, set[str]]:
    document = yaml.safe_load(CONTRACT_SPEC.read_text(encoding="utf-8"))
    path, method = OPERATION
    responses = document["paths"][path][method]["responses"]
    return {
        int(status): _code_enums(document, follow_ref(document, response)["content"]["application/json"]["schema"])
        for status, response in responses.items()
        if int(status) >= 400
    }


def _control_codes() -> set[str]:
    document = yaml.safe_load(CONTROL_SPEC.read_text(encoding="utf-8"))
    return _code_enums(document, document["components"]["schemas"]["ErrorEnvelope"])


def test_every_code_the_operation_can_answer_is_in_its_statuss_enum() -> None:
    documented = _operation_codes()
    wrong = {
        name: (t.status, t.code, sorted(documented[t.status]))
        for name, t in CATALOGUE.items()
        if t.status in documented and t.code not in documented[t.status]
    }
    assert not wrong, f"catalogue entries the contract does not list for their status: {wrong}"


def test_every_code_of_the_catalogue_is_documented_somewhere() -> None:
    known = set().union(*_operation_codes().values()) | _control_codes()
    assert {t.code for t in CATALOGUE.values()} <= known


def test_every_documented_error_status_of_the_operation_has_a_catalogue_entry() -> None:
    assert set(_operation_codes()) <= {t.status for t in CATALOGUE.values()}


def _literals_outside_the_catalogue() -> list[str]:
    codes = {t.code for t in CATALOGUE.values()}
    found = []
    for path in (ROOT / "mock_server").rglob("*.py"):
        if path.name == "errors.py" and path.parent.name == "domain":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in codes:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value}")
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "MockError":
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} MockError(...) instead of MockError.named")
    return found


def test_no_error_code_is_typed_outside_the_catalogue() -> None:
    assert not _literals_outside_the_catalogue()
