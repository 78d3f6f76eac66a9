"""Who may call: authentication (401) and authorization (403), in the contract's order."""

from __future__ import annotations

import hmac
import json
import sqlite3
from dataclasses import dataclass

from mock_server.domain.tokens import key_digest

REQUIRED_PERMISSION = "messages:write"


class Unauthenticated(Exception):
    """No usable API key: 401."""


class AccessDenied(Exception):
    """A valid key that may not do this: 403."""

    status_code = 403


@dataclass(frozen=True)
class Caller:
    """The authenticated key, named by its fixture name and digest; the value itself is not kept."""

    name: str
    digest: str
    permissions: frozenset[str]
    account_groups: frozenset[str]


def authenticate(conn: sqlite3.Connection, session: str, api_key: str) -> Caller:
    digest = key_digest(api_key)
    row = conn.execute(
        "SELECT key, name, permissions, account_groups, revoked FROM api_keys WHERE session = ? AND key_hash = ?",
        (session, digest),
    ).fetchone()
    if row is None or not hmac.compare_digest(
        row[0].encode("utf-8", "surrogatepass"), api_key.encode("utf-8", "surrogatepass")
    ):
        raise Unauthenticated("The API key is not known.")
    _, name, permissions, groups, revoked = row
    if revoked:
        raise Unauthenticated("The API key has been revoked.")
    return Caller(name, digest, frozenset(json.loads(permissions)), frozenset(json.loads(groups)))


def authorize(caller: Caller, account_group_id: str) -> None:
    if REQUIRED_PERMISSION not in caller.permissions:
        raise AccessDenied(f"This API key lacks the permission {REQUIRED_PERMISSION}.")
    if account_group_id not in caller.account_groups:
        raise AccessDenied("This API key has no access to this account group.")
