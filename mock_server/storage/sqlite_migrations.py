"""Which layout a SQLite state file has, and the steps that bring an older one to the current schema.

`MIGRATIONS[n]` turns a version-n file into a version-(n+1) file inside the store's opening transaction, so a
failed migration leaves the file as it was. To change the schema: bump `storage.base.SCHEMA_VERSION`, change the
DDL of both engines, and register the step here and in `postgres_schema`, with a test that opens each old layout.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mock_server.domain import datasets
from mock_server.domain.errors import InvalidFixtures
from mock_server.domain.fixtures import parse_fixtures
from mock_server.storage.sqlite import APPLICATION_ID, SqliteTx, StateFileError, create_schema

LEGACY_TABLES = frozenset({"base_fixtures", "sessions", "account_groups", "prospects", "conversations", "api_keys"})
"""The tables of a version-1 file (mock 0.x), which carried no version stamp."""

_V1_FIXTURE_TABLES = ("sessions", "account_groups", "prospects", "conversations", "api_keys", "base_fixtures")


def layout_version(conn: sqlite3.Connection, path: Path) -> int:
    """0 for an empty file, the stamped version of a state file of this mock, 1 for an unstamped mock 0.x file;
    StateFileError for a SQLite database of anything else."""
    application_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if application_id == APPLICATION_ID:
        return int(version)
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    tables = {name for name in tables if not name.startswith("sqlite_")}
    if application_id == 0 and version == 0 and not tables:
        return 0
    if application_id == 0 and version == 0 and LEGACY_TABLES <= tables:
        return 1
    shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
    raise StateFileError(
        f"state file {path} is a SQLite database but not a state file of this mock "
        f"(tables: {shown or 'none'}); give --state a new path"
    )


def v1_to_v2(conn: sqlite3.Connection) -> None:
    """Copied fixtures per session become one dataset per distinct document.

    Each session keeps its data (conversations its sent InMails opened become part of its dataset), clock,
    messages, idempotency keys and day counts. The journal and pending faults, whose columns changed, are
    dropped: they describe past requests and test set-ups, not data a client relies on.
    """
    conn.execute("DROP TABLE IF EXISTS journal")
    conn.execute("DROP TABLE IF EXISTS faults")
    for table in _V1_FIXTURE_TABLES:
        conn.execute(f"ALTER TABLE {table} RENAME TO v1_{table}")
    create_schema(conn)
    base = _stored(conn, json.loads(conn.execute("SELECT document FROM v1_base_fixtures").fetchone()[0]))
    conn.execute(
        "INSERT INTO startup (id, base_dataset, max_sessions, idle_seconds) VALUES (1, ?, ?, NULL)",
        (base, 1_000_000),  # Runtime.start sets the configured limits right after opening
    )
    now = time.time()
    rows = conn.execute("SELECT name, clock_offset, clock_frozen_at FROM v1_sessions").fetchall()
    for name, offset, frozen_at in rows:
        dataset = _stored(conn, _v1_document(conn, name))
        conn.execute(
            "INSERT INTO sessions (name, dataset, clock_offset, clock_frozen_at, created, last_used) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (name, dataset, offset, frozen_at, now, now),
        )
        conn.execute(
            "INSERT INTO group_slots (session, group_id, last_slot) "
            "SELECT session, id, last_slot FROM v1_account_groups WHERE session = ? AND last_slot IS NOT NULL",
            (name,),
        )
    for table in _V1_FIXTURE_TABLES:
        conn.execute(f"DROP TABLE v1_{table}")


MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: v1_to_v2}


def _stored(conn: sqlite3.Connection, document: dict[str, Any]) -> str:
    try:
        return datasets.put(SqliteTx(conn), parse_fixtures(document))
    except InvalidFixtures as exc:
        problems = "; ".join(str(exc.details).splitlines())
        raise StateFileError(f"a session's fixtures in the state file are not valid: {problems}") from None


def _v1_document(conn: sqlite3.Connection, session: str) -> dict[str, Any]:
    """A version-1 session's data in the fixture-file format (what its GET /__mock/fixtures showed)."""
    conversations: dict[tuple[str, str], list[str]] = {}
    for group_id, prospect_id, conversation_id in conn.execute(
        "SELECT group_id, prospect_id, id FROM v1_conversations WHERE session = ? ORDER BY position", (session,)
    ):
        conversations.setdefault((group_id, prospect_id), []).append(conversation_id)
    groups = []
    for group_id, name, schedule in conn.execute(
        "SELECT id, name, schedule FROM v1_account_groups WHERE session = ? ORDER BY rowid", (session,)
    ).fetchall():
        prospects = [
            {
                "id": pid,
                "name": pname,
                "connected": bool(connected),
                "conversations": conversations.get((group_id, pid), []),
                "inmailEligible": bool(eligible),
            }
            for pid, pname, connected, eligible in conn.execute(
                "SELECT id, name, connected, inmail_eligible FROM v1_prospects WHERE session = ? AND group_id = ? "
                "ORDER BY position",
                (session, group_id),
            )
        ]
        groups.append({"id": group_id, "name": name, "schedule": json.loads(schedule), "prospects": prospects})
    keys = [
        {
            "key": key,
            "name": kname,
            "permissions": json.loads(perms),
            "accountGroups": json.loads(ags),
            "revoked": bool(revoked),
        }
        for key, kname, perms, ags, revoked in conn.execute(
            "SELECT key, name, permissions, account_groups, revoked FROM v1_api_keys WHERE session = ? "
            "ORDER BY position",
            (session,),
        )
    ]
    document: dict[str, Any] = {"accountGroups": groups, "apiKeys": keys}
    conformance = json.loads(
        conn.execute("SELECT conformance FROM v1_sessions WHERE name = ?", (session,)).fetchone()[0]
    )
    if conformance:
        document["conformance"] = conformance
    return document
