"""access: 401 for unknown or revoked keys, 403 for a missing permission or account group."""

from __future__ import annotations

import pytest

from mock_server.domain.access import AccessDenied, Unauthenticated, authenticate, authorize

from .helpers import GROUP, OTHER_GROUP, SESSION


def caller_for(store, api_key, session=SESSION):
    with store.transaction() as conn:
        return authenticate(conn, session, api_key)


def test_a_known_key_authenticates_as_its_fixture(store):
    caller = caller_for(store, "sk_test_acme_writer")
    assert caller.name.startswith("Acme integration key")
    assert (caller.permissions, caller.account_groups) == ({"messages:write"}, {GROUP})


def test_the_caller_does_not_carry_the_key_itself(store):
    assert "sk_test_acme_writer" not in repr(caller_for(store, "sk_test_acme_writer"))


@pytest.mark.parametrize("api_key", ["sk_test_nobody", "", "sk_test_acme_writer ", "SK_TEST_ACME_WRITER"])
def test_an_unknown_key_is_unauthenticated(store, api_key):
    with pytest.raises(Unauthenticated, match="not known"):
        caller_for(store, api_key)


def test_a_revoked_key_is_unauthenticated(store):
    with pytest.raises(Unauthenticated, match="revoked"):
        caller_for(store, "sk_test_revoked")


def test_a_key_with_write_permission_and_the_group_is_authorized(store):
    authorize(caller_for(store, "sk_test_acme_writer"), GROUP)


def test_a_key_without_messages_write_is_denied(store):
    with pytest.raises(AccessDenied, match="messages:write"):
        authorize(caller_for(store, "sk_test_acme_readonly"), GROUP)


@pytest.mark.parametrize("group", [OTHER_GROUP, "ag_does_not_exist"])
def test_a_key_without_access_to_the_group_is_denied(store, group):
    with pytest.raises(AccessDenied, match="account group"):
        authorize(caller_for(store, "sk_test_acme_writer"), group)


def test_a_missing_permission_is_reported_before_a_missing_group(store):
    with pytest.raises(AccessDenied, match="messages:write"):
        authorize(caller_for(store, "sk_test_acme_readonly"), OTHER_GROUP)
