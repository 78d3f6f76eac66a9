"""`Prefer` answers every documented example of the contract operation, by status, by name or both.

The examples are read from openapi/sonarly.yaml here, so a new example is tested automatically.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import yaml
from helpers import SPEC_PATH, assert_accepted, assert_error, bearer, envelope, list_messages, post

from support.mock_fixtures import READONLY_KEY
from support.openapi_examples import resolve_pointer

# --- Prefer: every documented example ---------------------------------------------------------------------

_OPERATION_POINTER = "#/paths/~1v1~1accounts~1{accountGroupId}~1messages~1responses/post/responses"


def _spec_examples() -> list[tuple[int, str, dict[str, Any]]]:
    """(status, name, body) of every documented response example, named as the spec's description says:
    by its key under `examples`, or by its error code for a response's lone `example`."""
    document = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    found = []
    for status, response in resolve_pointer(document, _OPERATION_POINTER).items():
        if "$ref" in response:
            response = resolve_pointer(document, response["$ref"])
        media = response["content"]["application/json"]
        if "examples" in media:
            for name, entry in media["examples"].items():
                entry = resolve_pointer(document, entry["$ref"]) if "$ref" in entry else entry
                found.append((int(status), name, entry["value"]))
        else:
            error = media["example"].get("error")
            found.append((int(status), error["code"] if error else "default", media["example"]))
    return found


EXAMPLES = _spec_examples()
EXAMPLE_IDS = [f"{status}-{name}" for status, name, _ in EXAMPLES]
RETRY_AFTER_STATUSES = {429, 503, 504}


def _assert_is_example(response: httpx.Response, status: int, body: dict[str, Any]) -> None:
    assert response.status_code == status, response.text
    answered = envelope(response)
    assert {**answered, "traceId": None} == {**body, "traceId": None}
    assert answered["traceId"] != body["traceId"], "a fresh trace id, not the example's"
    if status in RETRY_AFTER_STATUSES:
        assert int(response.headers["Retry-After"]) >= 1
    else:
        assert "retry-after" not in response.headers


def test_example_names_are_unique_across_statuses():
    names = [name for _, name, _ in EXAMPLES]
    assert len(names) == len(set(names)), sorted(names)


def test_every_error_code_and_variant_has_an_example():
    names = {name for _, name, _ in EXAMPLES}
    codes = {body["error"]["code"] for _, _, body in EXAMPLES if body.get("error")}
    assert {"PROSPECT_NOT_CONNECTED", "INMAIL_NOT_ELIGIBLE", "IDEMPOTENCY_CONFLICT", "IDEMPOTENCY_KEY_IN_USE"} <= names
    assert {"SERVICE_UNAVAILABLE", "GATEWAY_TIMEOUT", "RATE_LIMITED", "INTERNAL_ERROR", "UPSTREAM_ERROR"} <= codes
    variants = {name for status, name, _ in EXAMPLES if status in (400, 422)}
    assert {"missingField", "tooLong", "inmailWithoutSubject", "invalidIdempotencyKey", "malformedJson"} <= variants
    assert {"unknownProspect", "unknownConversation", "anotherProspectsConversation"} <= variants


@pytest.mark.parametrize(("status", "name", "body"), EXAMPLES, ids=EXAMPLE_IDS)
def test_prefer_code_and_example_answers_that_example(api, control, status, name, body):
    _assert_is_example(post(api, headers={"Prefer": f"code={status}, example={name}"}), status, body)
    assert list_messages(control) == [], "an example schedules nothing"


@pytest.mark.parametrize(("status", "name", "body"), EXAMPLES, ids=EXAMPLE_IDS)
def test_prefer_example_alone_picks_it_by_name(api, status, name, body):
    _assert_is_example(post(api, headers={"Prefer": f'example="{name}"'}), status, body)


@pytest.mark.parametrize("status", sorted({status for status, _, _ in EXAMPLES}))
def test_prefer_code_alone_answers_the_first_example_of_that_status(api, status):
    first = next(body for documented, _, body in EXAMPLES if documented == status)
    _assert_is_example(post(api, headers={"Prefer": f"code={status}"}), status, first)


def test_prefer_409_with_the_issue_s_own_words(api):
    response = post(api, headers={"Prefer": "code=409, example=PROSPECT_NOT_CONNECTED"})
    assert_error(response, 409, "PROSPECT_NOT_CONNECTED")


def test_prefer_unknown_example_is_400_listing_the_names(api):
    error = assert_error(post(api, headers={"Prefer": "example=NOPE"}), 400, "VALIDATION_ERROR")
    assert "example=NOPE" in error["details"]
    for _, name, _ in EXAMPLES:
        assert name in error["details"], name


def test_prefer_example_of_another_status_is_400_listing_that_status_names(api):
    error = assert_error(post(api, headers={"Prefer": "code=409, example=tooLong"}), 400, "VALIDATION_ERROR")
    listed = error["details"].partition("(examples: ")[2].rstrip(")").split(", ")
    assert listed == [name for status, name, _ in EXAMPLES if status == 409], error["details"]


@pytest.mark.parametrize("preference", ["code=418", "code=200", "code=abc"])
def test_prefer_undocumented_status_is_400_naming_the_documented_statuses(api, preference):
    error = assert_error(post(api, headers={"Prefer": preference}), 400, "VALIDATION_ERROR")
    assert "Prefer" in error["details"]
    for status in {status for status, _, _ in EXAMPLES}:
        assert str(status) in error["details"], error["details"]


def test_other_preferences_are_ignored(api):
    assert_accepted(post(api, headers={"Prefer": "return=minimal, respond-async"}))


def test_prefer_still_requires_auth(bare, api):
    assert_error(post(bare, headers={"Prefer": "code=202"}), 401, "UNAUTHORIZED")
    assert_error(post(api, headers={"Prefer": "example=queued", **bearer(READONLY_KEY)}), 403, "FORBIDDEN")
