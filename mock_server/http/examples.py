"""Documented responses and their examples, read from the contract, for `Prefer: code=...`."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from openapi import CONTRACT_SPEC

OPERATION_PATH = "/v1/accounts/{accountGroupId}/messages/responses"


@dataclass(frozen=True)
class DocumentedResponse:
    status: int
    examples: dict[str, dict[str, Any]]


def _resolve(document: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = document
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


@cache
def documented_responses(spec_path: Path = CONTRACT_SPEC) -> dict[int, DocumentedResponse]:
    document = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    responses = document["paths"][OPERATION_PATH]["post"]["responses"]
    result: dict[int, DocumentedResponse] = {}
    for status, response in responses.items():
        media = _resolve(document, response)["content"]["application/json"]
        if "examples" in media:
            examples = {name: _resolve(document, ex)["value"] for name, ex in media["examples"].items()}
        else:
            examples = {"default": media["example"]}
        result[int(status)] = DocumentedResponse(int(status), examples)
    return result


def parse_prefer(header: str) -> dict[str, str]:
    """`Prefer: code=409, example=scheduled` -> {"code": "409", "example": "scheduled"}."""
    preferences: dict[str, str] = {}
    for part in header.replace(";", ",").split(","):
        name, _, value = part.strip().partition("=")
        if name:
            preferences[name.strip().lower()] = value.strip().strip('"')
    return preferences
