"""Who may call: authentication (401) and authorization (403), in the contract's order."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from mock_server.domain.datasets import Dataset
from mock_server.domain.errors import AccessDenied, Unauthenticated
from mock_server.domain.sessions import dataset_of
from mock_server.domain.tokens import key_digest
from mock_server.storage.base import Tx

REQUIRED_PERMISSION = "messages:write"


@dataclass(slots=True)  # per request: a frozen dataclass's init costs three times a plain one's
class Caller:
    """The authenticated key, named by its fixture name and digest; the value itself is not kept."""

    name: str
    digest: str
    permissions: frozenset[str]
    account_groups: frozenset[str]


def authenticate(tx: Tx, session: str, api_key: str) -> Caller:
    """Find the key in the session's fixtures (the base fixtures for a session not created yet)."""
    return identify(dataset_of(tx, session), api_key)


def identify(dataset: Dataset, api_key: str) -> Caller:
    """Find the key in `dataset` by digest, then confirm it in constant time."""
    digest = key_digest(api_key)
    row = dataset.keys.get(digest)
    if row is None or not hmac.compare_digest(
        row.key.encode("utf-8", "surrogatepass"), api_key.encode("utf-8", "surrogatepass")
    ):
        raise Unauthenticated("The API key is not known.")
    if row.revoked:
        raise Unauthenticated("The API key has been revoked.")
    return Caller(row.name, digest, row.permissions, row.account_groups)


def authorize(caller: Caller, account_group_id: str) -> None:
    if REQUIRED_PERMISSION not in caller.permissions:
        raise AccessDenied(f"This API key lacks the permission {REQUIRED_PERMISSION}.")
    if account_group_id not in caller.account_groups:
        raise AccessDenied("This API key has no access to this account group.")
