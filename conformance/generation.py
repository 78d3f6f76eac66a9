"""Fixture-aware case generation: Schemathesis cases pinned to the configured account group and prospects.

Plain Schemathesis never reaches the success path (random prospect ids get 422). Pinning the valid-looking
parts of every case to fixtures makes positive cases succeed and makes negative cases fail *only* because of
their broken part, so a server that skips shape validation cannot hide behind a 422.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import hypothesis.strategies as st
from jsonschema import Draft4Validator
from schemathesis import APIOperation, Case, GenerationMode

from conformance.messages import new_key
from conformance.settings import Settings
from conformance.spec_rules import header_schema, properties

FIXTURE_PROSPECT_PERCENT = 85
FIXTURE_CONVERSATION_PERCENT = 70
IDEMPOTENCY_KEY = "Idempotency-Key"


@dataclass(frozen=True)
class Pinning:
    """What counts as well-formed, read from the spec: only well-formed values are swapped for fixtures."""

    settings: Settings
    prospect_id: Callable[[Any], bool]
    conversation_id: Callable[[Any], bool]
    key: Callable[[Any], bool]

    @classmethod
    def for_operation(cls, operation: APIOperation, settings: Settings) -> Pinning:
        members = properties(operation)

        def valid(schema: dict[str, Any] | None) -> Callable[[Any], bool]:
            return Draft4Validator(schema or {}).is_valid

        return cls(
            settings,
            valid(members.get("prospectId")),
            valid(members.get("conversationId")),
            valid(header_schema(operation, IDEMPOTENCY_KEY)),
        )

    def body(self, body: dict[str, Any], rolls: tuple[int, int]) -> None:
        """Swap well-formed ids for fixtures, keeping any broken value so the case stays as invalid as generated."""
        settings, inmail = self.settings, body.get("channel") == "inmail"
        if self.prospect_id(body.get("prospectId")) and "prospectId" in body and rolls[0] < FIXTURE_PROSPECT_PERCENT:
            fixture = settings.inmail_prospect_id if inmail else None
            body["prospectId"] = fixture or settings.prospect_id
        if inmail or "conversationId" not in body or not self.conversation_id(body["conversationId"]):
            return
        if settings.conversation_id and rolls[1] < FIXTURE_CONVERSATION_PERCENT:
            if body.get("prospectId") == settings.prospect_id:
                body["conversationId"] = settings.conversation_id

    def case(self, case: Case, rolls: tuple[int, int]) -> Case:
        """Pin group, credentials and a fresh Idempotency-Key; Schemathesis revalidates the case's mode after."""
        settings = self.settings
        case.path_parameters = {**case.path_parameters, "accountGroupId": settings.account_group_id}
        headers = case.headers
        headers["Authorization"] = f"Bearer {settings.api_key}"
        key = headers.get(IDEMPOTENCY_KEY)
        if key is None or self.key(key):
            headers[IDEMPOTENCY_KEY] = new_key("contract")
        case.headers = headers
        if isinstance(case.body, dict):
            body = dict(case.body)
            self.body(body, rolls)
            case.body = body
        return case


def fixture_cases(operation: APIOperation, mode: GenerationMode, settings: Settings) -> st.SearchStrategy[Case]:
    """Schemathesis cases for one mode, pinned to the fixtures."""
    pinning = Pinning.for_operation(operation, settings)
    rolls = st.tuples(st.integers(0, 99), st.integers(0, 99))
    pinned = st.tuples(operation.as_strategy(generation_mode=mode), rolls).map(lambda pair: pinning.case(*pair))
    # Pinning credentials repairs negative cases whose only flaw was the Authorization header; drop those.
    return pinned.filter(lambda case: case.meta is None or case.meta.generation.mode == mode)
