"""Schemathesis hooks for `schemathesis.toml`: fixtures from the environment, with the demo data as default.

Plain Schemathesis cannot reach the success path of this API: it invents prospect ids, which the contract
answers with 422, and `${NAME}` placeholders in `schemathesis.toml` have no default, so the demo could not
run without exporting variables first. This module, named by `hooks =` in that file, supplies the API key
as an auth provider (so `ignored_auth` can still drop it) and pins the account group, prospect and
conversation into every request. Each fixture reads `SONARLY_<NAME>`, the variable the conformance kit
reads, and falls back to the `conformance:` section of the mock's demo data.

A pin never repairs a case: when pinning an id would make a negative body valid, the generated value stays,
and negative headers are left alone, so a negative case still fails only because of the part Schemathesis
broke. That keeps `negative_data_rejection` sharp: a server that answers a shape error with 422 "unknown
prospect" (or schedules it) is reported, because the ids around the broken part exist. Cases whose only
flaw is their credentials are held to exactly 401 by the check `credentials_decide_401`.

Importing this module registers its hooks, auth and check for the whole process, so nothing but
`schemathesis.toml` imports it (the kit pins its cases in conformance/generation.py instead).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

import schemathesis
import yaml
from requests.structures import CaseInsensitiveDict
from schemathesis import Case, CheckContext, GenerationMode, Response
from schemathesis.core.failures import AcceptedNegativeData, Failure
from schemathesis.core.parameters import ParameterLocation

from conformance.settings import ENV_PREFIX

DEMO_DATA = ("mock_server.data", "demo.yaml")


@cache
def _demo_fixtures() -> dict[str, str]:
    """The demo data's view for the conformance kit; read once, only when a variable is missing."""
    package, name = DEMO_DATA
    document = yaml.safe_load(resources.files(package).joinpath(name).read_text(encoding="utf-8"))
    return {key: str(value) for key, value in (document.get("conformance") or {}).items()}


def fixture(name: str) -> str:
    """`SONARLY_<NAME>` when set and not empty (as the kit reads it), else the demo value."""
    value = os.environ.get(ENV_PREFIX + name.upper(), "")
    return value or _demo_fixtures()[name]


@schemathesis.auth()
class SonarlyApiKey:
    """`Authorization: Bearer <SONARLY_API_KEY>`; as an auth provider, checks like `ignored_auth` can omit it."""

    def get(self, case: Case, context: Any) -> str:
        return fixture("api_key")

    def set(self, case: Case, data: str, context: Any) -> None:
        headers = CaseInsensitiveDict(case.headers or {})
        headers["Authorization"] = f"Bearer {data}"
        case.headers = headers


def _is_negative(case: Case, location: ParameterLocation) -> bool:
    """Whether Schemathesis counts this part of the case as invalid (it revalidates after every edit)."""
    meta = case.meta
    part = meta.components.get(location) if meta is not None else None
    return part is not None and part.mode == GenerationMode.NEGATIVE


def _pin_body(case: Case, body: dict[str, Any], edit: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """Send `edit(body)` instead of `body`, unless that makes a negative body valid.

    Schemathesis revalidates a body against the whole request schema, so undoing restores the label too.
    (Headers are not revalidated that faithfully: undeclared ones such as `Authorization` are dropped.)
    """
    was_negative = _is_negative(case, ParameterLocation.BODY)
    case.body = edit(body)
    if was_negative and not _is_negative(case, ParameterLocation.BODY):
        case.body = body


def _with_prospect(body: dict[str, Any]) -> dict[str, Any]:
    """The InMail fixture for an InMail (exactly `inmail`), the direct-message fixture otherwise."""
    inmail = body.get("channel") == "inmail"
    return {**body, "prospectId": fixture("inmail_prospect_id" if inmail else "prospect_id")}


def _with_conversation(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "conversationId": fixture("conversation_id")}


def _fresh_key(case: Case) -> None:
    """A key per request: generated keys (and the spec's example key) repeat, and a reused key with another
    body is a 409 that would hide the success path."""
    headers = CaseInsensitiveDict(case.headers)
    headers["Idempotency-Key"] = f"st-{uuid.uuid4().hex}"
    case.headers = headers


@schemathesis.hook
def before_call(context: Any, case: Case, **kwargs: Any) -> None:
    """Pin the fixtures into every request, in every phase (`map_case` would miss the spec's examples).

    The account group is always pinned: the contract defines nothing for a group the key cannot reach but
    403, and an empty or slash-bearing path segment is not this operation at all (404).
    """
    case.path_parameters = {**(case.path_parameters or {}), "accountGroupId": fixture("account_group_id")}
    if isinstance(case.body, dict) and "prospectId" in case.body:
        _pin_body(case, case.body, _with_prospect)
    body = case.body
    if isinstance(body, dict) and "conversationId" in body and body.get("prospectId") == fixture("prospect_id"):
        _pin_body(case, body, _with_conversation)
    if case.headers and "Idempotency-Key" in case.headers and not _is_negative(case, ParameterLocation.HEADER):
        _fresh_key(case)


def _authenticated(response: Response) -> bool:
    """Whether the request that was sent carried the configured key (checks read what went on the wire)."""
    return response.request.headers.get("Authorization") == f"Bearer {fixture('api_key')}"


@schemathesis.check
def credentials_decide_401(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """401 exactly when the configured key is missing or replaced, whatever else is wrong with the request.

    The contract checks credentials first, so a case without them is 401 even with a broken body, and a
    case with them is never 401.
    """
    if _authenticated(response) != (response.status_code != 401):
        expected = "not 401 with the configured key" if _authenticated(response) else "401 without the key"
        raise AssertionError(f"Authorization decides 401: expected {expected}, got {response.status_code}")
    return None


@schemathesis.hook
def filter_failure(context: Any, failure: Failure, case: Case, response: Response) -> bool:
    """Keep every failure but `negative_data_rejection` on a 401 to a case sent without the key.

    Coverage sends cases whose only flaw is a missing `Authorization`; the contract answers those 401, not
    the 400 of a shape error. `credentials_decide_401` holds such cases to exactly 401 instead.
    """
    return not (
        isinstance(failure, AcceptedNegativeData) and response.status_code == 401 and not _authenticated(response)
    )
