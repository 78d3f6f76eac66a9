"""The contract operation's documented response examples, by status and by name, for `Prefer`.

Naming rule: a named example (`examples: {name: ...}`) goes by its name; a response's lone `example` goes
by its error code (`RATE_LIMITED`), or `default` on a success. Names are unique across the operation's
statuses, so `Prefer: example=<name>` alone finds one response; the document is refused at load otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from openapi import CONTRACT_SPEC, follow_ref

OPERATION_PATH = "/v1/accounts/{accountGroupId}/messages/responses"


@dataclass(frozen=True, slots=True)
class Example:
    status: int
    name: str
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DocumentedExamples:
    by_status: dict[int, tuple[Example, ...]]
    by_name: dict[str, Example]

    def statuses(self) -> str:
        return ", ".join(str(status) for status in sorted(self.by_status))

    def names(self, status: int | None = None) -> str:
        chosen = self.by_name.values() if status is None else self.by_status.get(status, ())
        return ", ".join(example.name for example in chosen)


def _examples_of(document: dict[str, Any], status: int, media: dict[str, Any]) -> tuple[Example, ...]:
    if "examples" in media:
        return tuple(
            Example(status, name, follow_ref(document, entry)["value"]) for name, entry in media["examples"].items()
        )
    body = media["example"]
    error = body.get("error") if isinstance(body, dict) else None
    return (Example(status, error["code"] if isinstance(error, dict) else "default", body),)


@cache
def documented_examples(spec_path: Path = CONTRACT_SPEC) -> DocumentedExamples:
    document = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    responses = document["paths"][OPERATION_PATH]["post"]["responses"]
    by_status: dict[int, tuple[Example, ...]] = {}
    by_name: dict[str, Example] = {}
    for status, response in responses.items():
        media = follow_ref(document, response)["content"]["application/json"]
        by_status[int(status)] = _examples_of(document, int(status), media)
        for example in by_status[int(status)]:
            if example.name in by_name:
                raise ValueError(f"{spec_path}: example name {example.name} is used by two responses")
            by_name[example.name] = example
    return DocumentedExamples(by_status, by_name)


def parse_prefer(header: str) -> dict[str, str]:
    """`Prefer: code=409, example=scheduled` -> {"code": "409", "example": "scheduled"}."""
    preferences: dict[str, str] = {}
    for part in header.replace(";", ",").split(","):
        name, _, value = part.strip().partition("=")
        if name:
            preferences[name.strip().lower()] = value.strip().strip('"')
    return preferences
