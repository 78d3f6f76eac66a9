"""Authentication (401), authorization (403) and the order of checks: 401 > 403 > 429 > 400."""

from __future__ import annotations

import base64
import json

import pytest
from helpers import (
    DM_BODY,
    JSON_HEADERS,
    add_fault,
    assert_accepted,
    assert_error,
    bearer,
    group_path,
    pending_faults,
    post,
    raw_send,
)

from support.mock_fixtures import (
    API_KEY,
    GLOBEX_KEY,
    GROUP,
    OTHER_GROUP,
    READONLY_KEY,
    RESPONSES_PATH,
    REVOKED_KEY,
)

MALFORMED = b'{"prospectId": "prs_ada_lovelace", "message": '
BASIC = "Basic " + base64.b64encode(f"{API_KEY}:".encode()).decode()

UNAUTHENTICATED = [
    pytest.param(None, id="missing_header"),
    pytest.param(BASIC, id="basic_scheme"),
    pytest.param(f"Token {API_KEY}", id="token_scheme"),
    pytest.param(API_KEY, id="key_without_scheme"),
    pytest.param("Bearer sk_test_no_such_key", id="unknown_key"),
    pytest.param(f"Bearer {REVOKED_KEY}", id="revoked_key"),
    pytest.param("Bearer", id="bearer_without_token"),
]


@pytest.mark.parametrize("authorization", UNAUTHENTICATED)
def test_bad_or_missing_key_is_401(bare, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}
    assert_error(post(bare, headers=headers), 401, "UNAUTHORIZED")


@pytest.mark.parametrize("authorization", ["Bearer ", "Bearer  ", "Bearer \t"], ids=["space", "two_spaces", "tab"])
def test_empty_bearer_token_is_401(mock_url, mock_session, recorded_exchanges, authorization):
    """h11 refuses trailing white space in a header value, so these go out through http.client."""
    headers = {"Authorization": authorization, "X-Mock-Session": mock_session, **JSON_HEADERS}
    response = raw_send(mock_url, "POST", RESPONSES_PATH, headers, json.dumps(DM_BODY).encode())
    recorded_exchanges.add(response)
    assert_error(response, 401, "UNAUTHORIZED")


@pytest.mark.parametrize("authorization", UNAUTHENTICATED[:6])
def test_401_wins_over_malformed_json(bare, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}
    assert_error(post(bare, content=MALFORMED, headers=headers), 401, "UNAUTHORIZED")


def test_401_wins_over_wrong_content_type_and_bad_idempotency_key(bare):
    response = bare.post(
        group_path(), content=b"hello", headers={"Content-Type": "text/plain", "Idempotency-Key": "has space"}
    )
    assert_error(response, 401, "UNAUTHORIZED")


def test_401_wins_over_unknown_group(bare):
    assert_error(post(bare, path=group_path("ag_no_such_group")), 401, "UNAUTHORIZED")


@pytest.mark.parametrize(
    ("key", "group"),
    [
        pytest.param(READONLY_KEY, GROUP, id="read_only_key"),
        pytest.param(API_KEY, OTHER_GROUP, id="foreign_group"),
        pytest.param(GLOBEX_KEY, GROUP, id="foreign_group_other_key"),
        pytest.param(API_KEY, "ag_no_such_group", id="unknown_group"),
        pytest.param(READONLY_KEY, OTHER_GROUP, id="read_only_key_foreign_group"),
    ],
)
def test_valid_key_without_permission_or_access_is_403(bare, key, group):
    assert_error(post(bare, path=group_path(group), headers=bearer(key)), 403, "FORBIDDEN")


@pytest.mark.parametrize(
    ("key", "group"),
    [
        pytest.param(READONLY_KEY, GROUP, id="read_only_key"),
        pytest.param(API_KEY, OTHER_GROUP, id="foreign_group"),
        pytest.param(API_KEY, "ag_no_such_group", id="unknown_group"),
    ],
)
def test_403_wins_over_invalid_body(bare, key, group):
    path = group_path(group)
    assert_error(post(bare, content=MALFORMED, path=path, headers=bearer(key)), 403, "FORBIDDEN")
    assert_error(post(bare, {"priority": "high"}, path=path, headers=bearer(key)), 403, "FORBIDDEN")
    assert_error(post(bare, key="bad key", path=path, headers=bearer(key)), 403, "FORBIDDEN")


def test_the_globex_key_is_accepted_in_its_own_group(bare):
    body = {"prospectId": "prs_linus_torvalds", "message": "Hallo Linus"}
    data = assert_accepted(post(bare, body, path=group_path(OTHER_GROUP), headers=bearer(GLOBEX_KEY)))
    assert data["conversationId"] == "cnv_linus_torvalds"


def test_order_of_checks_401_then_403_then_429_then_400(bare, api, control):
    """A pending 429 (an injected one; the shared mock has no rate limit) sits between 403 and 400."""
    add_fault(control, status=429, count=1)
    assert_error(post(bare, content=MALFORMED), 401, "UNAUTHORIZED")
    assert_error(post(bare, content=MALFORMED, headers=bearer(REVOKED_KEY)), 401, "UNAUTHORIZED")
    assert_error(post(api, content=MALFORMED, headers=bearer(READONLY_KEY)), 403, "FORBIDDEN")
    assert_error(post(api, content=MALFORMED, path=group_path(OTHER_GROUP)), 403, "FORBIDDEN")
    assert [fault["remaining"] for fault in pending_faults(control)] == [1], "401/403 must not consume the fault"
    limited = post(api, content=MALFORMED)
    assert_error(limited, 429, "RATE_LIMITED")
    assert int(limited.headers["Retry-After"]) >= 1
    assert_error(post(api, content=MALFORMED), 400, "VALIDATION_ERROR")
