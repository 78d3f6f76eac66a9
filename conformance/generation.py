"""Fixture-aware case generation: Schemathesis cases pinned to the configured account group and prospects.

Plain Schemathesis never reaches the success path (random prospect ids get 422). Pinning the valid-looking
parts of every case to fixtures makes positive cases succeed and makes negative cases fail *only* because of
their broken part, so a server that skips shape validation cannot hide behind a 422.
"""

from __future__ import annotations

import re
from typing import Any

import hypothesis.strategies as st
from schemathesis import APIOperation, Case, GenerationMode

from conformance.messages import new_key
from conformance.settings import Settings

FIXTURE_PROSPECT_PERCENT = 85
FIXTURE_CONVERSATION_PERCENT = 70
_VALID_KEY = re.compile(r"^[!-~]{1,255}$")


def _valid_id(value: Any) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= 128


def _pin_body(body: dict[str, Any], settings: Settings, rolls: tuple[int, int]) -> None:
    """Swap well-formed ids for fixtures, keeping any broken value so the case stays as invalid as generated."""
    inmail = body.get("channel") == "inmail"
    if _valid_id(body.get("prospectId")) and rolls[0] < FIXTURE_PROSPECT_PERCENT:
        fixture = settings.inmail_prospect_id if inmail else None
        body["prospectId"] = fixture or settings.prospect_id
    if inmail or not _valid_id(body.get("conversationId")) or not settings.conversation_id:
        return
    if rolls[1] < FIXTURE_CONVERSATION_PERCENT and body.get("prospectId") == settings.prospect_id:
        body["conversationId"] = settings.conversation_id


def pin(case: Case, settings: Settings, rolls: tuple[int, int]) -> Case:
    """Pin group, credentials and a fresh Idempotency-Key; Schemathesis revalidates the case's mode after."""
    case.path_parameters = {**case.path_parameters, "accountGroupId": settings.account_group_id}
    headers = case.headers
    headers["Authorization"] = f"Bearer {settings.api_key}"
    key = headers.get("Idempotency-Key")
    if key is None or (isinstance(key, str) and _VALID_KEY.match(key)):
        headers["Idempotency-Key"] = new_key("contract")
    case.headers = headers
    if isinstance(case.body, dict):
        body = dict(case.body)
        _pin_body(body, settings, rolls)
        case.body = body
    return case


def fixture_cases(operation: APIOperation, mode: GenerationMode, settings: Settings) -> st.SearchStrategy[Case]:
    """Schemathesis cases for one mode, pinned to the fixtures."""
    rolls = st.tuples(st.integers(0, 99), st.integers(0, 99))
    pinned = st.tuples(operation.as_strategy(generation_mode=mode), rolls).map(
        lambda pair: pin(pair[0], settings, pair[1])
    )
    # Pinning credentials repairs negative cases whose only flaw was the Authorization header; drop those.
    return pinned.filter(lambda case: case.meta is None or case.meta.generation.mode == mode)
