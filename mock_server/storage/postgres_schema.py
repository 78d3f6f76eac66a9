"""The PostgreSQL layout, its version table and its migrations.

The tables live in one schema of the database (`sonarly_mock` unless told otherwise), next to whatever else the
database holds. `schema_version` says whose tables they are and which layout they have: a new mock on an older
layout runs `MIGRATIONS[n]` (n -> n+1) in the opening transaction, a newer layout or someone else's tables are
refused with one line. Replicas starting together take an advisory lock, so exactly one creates or migrates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from psycopg import sql

from mock_server.storage.base import SCHEMA_VERSION, StateFileError

if TYPE_CHECKING:
    from mock_server.storage.postgres import PostgresTx

APPLICATION = "sonarly-mock"

# The SQLite layout (mock_server/storage/sqlite.py) in PostgreSQL's types. Tables listed in insertion order
# carry an identity column named like SQLite's implicit `rowid`, so both engines share those statements.
TABLES = """
CREATE TABLE IF NOT EXISTS datasets (id TEXT PRIMARY KEY, document TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS startup (
    id INTEGER PRIMARY KEY CHECK (id = 1), base_dataset TEXT NOT NULL, max_sessions BIGINT NOT NULL,
    idle_seconds DOUBLE PRECISION);
CREATE TABLE IF NOT EXISTS sessions (
    name TEXT PRIMARY KEY, dataset TEXT NOT NULL, clock_offset DOUBLE PRECISION NOT NULL DEFAULT 0,
    clock_frozen_at DOUBLE PRECISION, created DOUBLE PRECISION NOT NULL, last_used DOUBLE PRECISION NOT NULL);
CREATE INDEX IF NOT EXISTS sessions_by_dataset ON sessions (dataset);
CREATE INDEX IF NOT EXISTS sessions_by_last_use ON sessions (last_used);
CREATE TABLE IF NOT EXISTS group_slots (
    session TEXT NOT NULL, group_id TEXT NOT NULL, last_slot DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (session, group_id));
CREATE TABLE IF NOT EXISTS opened_conversations (
    rowid BIGINT GENERATED ALWAYS AS IDENTITY, session TEXT NOT NULL, group_id TEXT NOT NULL, id TEXT NOT NULL,
    prospect_id TEXT NOT NULL, PRIMARY KEY (session, group_id, id));
CREATE INDEX IF NOT EXISTS opened_by_prospect ON opened_conversations (session, group_id, prospect_id);
CREATE TABLE IF NOT EXISTS day_counts (
    session TEXT NOT NULL, group_id TEXT NOT NULL, local_day TEXT NOT NULL, channel TEXT NOT NULL,
    count BIGINT NOT NULL, PRIMARY KEY (session, group_id, local_day, channel));
CREATE TABLE IF NOT EXISTS messages (
    rowid BIGINT GENERATED ALWAYS AS IDENTITY, session TEXT NOT NULL, id TEXT NOT NULL, group_id TEXT NOT NULL,
    prospect_id TEXT NOT NULL, channel TEXT NOT NULL, conversation_id TEXT, subject TEXT, message TEXT NOT NULL,
    scheduled_at DOUBLE PRECISION NOT NULL, sent_at DOUBLE PRECISION, message_id TEXT, deferred INTEGER NOT NULL,
    idempotency_key TEXT, PRIMARY KEY (session, id));
CREATE INDEX IF NOT EXISTS messages_due ON messages (session, scheduled_at) WHERE sent_at IS NULL;
CREATE INDEX IF NOT EXISTS messages_by_group ON messages (session, group_id, scheduled_at);
CREATE INDEX IF NOT EXISTS messages_sent ON messages (session, sent_at) WHERE sent_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS idempotency_keys (
    session TEXT NOT NULL, group_id TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL,
    response TEXT NOT NULL, expires_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (session, group_id, key));
CREATE INDEX IF NOT EXISTS idempotency_expiry ON idempotency_keys (session, expires_at);
CREATE TABLE IF NOT EXISTS faults (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, session TEXT NOT NULL, status INTEGER, connection TEXT,
    retry_after INTEGER, latency_ms INTEGER NOT NULL, remaining INTEGER, rate DOUBLE PRECISION, seed BIGINT NOT NULL,
    draws BIGINT NOT NULL, hits BIGINT NOT NULL, method TEXT, path_prefix TEXT);
CREATE INDEX IF NOT EXISTS faults_by_session ON faults (session, id);
CREATE TABLE IF NOT EXISTS journal (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, session TEXT NOT NULL, authenticated INTEGER NOT NULL,
    ring_position BIGINT NOT NULL, at DOUBLE PRECISION NOT NULL, mock_time DOUBLE PRECISION, method TEXT NOT NULL,
    path TEXT NOT NULL, status INTEGER, code TEXT, fault BIGINT, duration_ms DOUBLE PRECISION NOT NULL,
    trace_id TEXT NOT NULL, idempotency_key TEXT, api_key TEXT, request_body TEXT, response_body TEXT);
CREATE INDEX IF NOT EXISTS journal_by_ring ON journal (session, authenticated, seq);
"""

MIGRATIONS: dict[int, Callable[[PostgresTx], None]] = {}
"""Version n -> n+1 of the PostgreSQL layout. Version 2 is the first one PostgreSQL has; to change the layout,
bump base.SCHEMA_VERSION, change TABLES and register the step here and in sqlite_migrations."""


def bring_to_current_version(tx: PostgresTx, where: str) -> None:
    """Create the layout in an empty schema, migrate an older one, refuse anything else (in one transaction)."""
    from mock_server.storage.postgres import SCHEMA_LOCK

    tx.execute("SELECT pg_advisory_xact_lock(?, hashtext(?))", (SCHEMA_LOCK, tx.schema))
    tx.connection.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(tx.schema)))
    tx.connection.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(tx.schema)))
    version = _stamped_version(tx, where)
    if version == 0:
        for statement in TABLES.split(";\n"):
            if statement.strip():
                tx.execute(statement)
        tx.execute("CREATE TABLE schema_version (application TEXT NOT NULL, version INTEGER NOT NULL)")
        tx.execute("INSERT INTO schema_version (application, version) VALUES (?, ?)", (APPLICATION, SCHEMA_VERSION))
        return
    if version > SCHEMA_VERSION:
        raise StateFileError(
            f"database {where} (schema {tx.schema}) has layout version {version}, newer than this mock's "
            f"({SCHEMA_VERSION}); upgrade the mock, or use another database or schema"
        )
    while version < SCHEMA_VERSION:
        if version not in MIGRATIONS:
            raise StateFileError(
                f"database {where} (schema {tx.schema}) has layout version {version}, which this "
                "mock cannot migrate; use another database or schema"
            )
        MIGRATIONS[version](tx)
        version += 1
        tx.execute("UPDATE schema_version SET version = ?", (version,))


def _stamped_version(tx: PostgresTx, where: str) -> int:
    """0 for an empty schema; the version of a schema of this mock; StateFileError for anything else."""
    tables = {
        str(row[0])
        for row in tx.execute("SELECT tablename FROM pg_tables WHERE schemaname = ?", (tx.schema,)).fetchall()
    }
    if not tables:
        return 0
    if "schema_version" in tables:
        row = tx.one("SELECT application, version FROM schema_version")
        if row is not None and row[0] == APPLICATION:
            return int(row[1])
    shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
    raise StateFileError(
        f"database {where}: schema {tx.schema} holds tables that are not this mock's ({shown}); "
        "use another database or schema"
    )
