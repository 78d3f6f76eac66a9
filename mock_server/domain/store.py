"""The one SQLite database behind every session: schema, connection and transactions.

Every read-modify-write runs inside `Store.transaction()`, which takes SQLite's write lock up front
(`BEGIN IMMEDIATE`). That makes idempotency and slot assignment atomic across threads and across
several worker processes sharing one state file, by construction rather than by timing.
"""

from __future__ import annotations

import fcntl
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS base_fixtures (id INTEGER PRIMARY KEY CHECK (id = 1), document TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    name TEXT PRIMARY KEY, clock_offset REAL NOT NULL DEFAULT 0, clock_frozen_at REAL,
    conformance TEXT NOT NULL DEFAULT '{}');
CREATE TABLE IF NOT EXISTS account_groups (
    session TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, schedule TEXT NOT NULL,
    last_slot REAL, PRIMARY KEY (session, id));
CREATE TABLE IF NOT EXISTS prospects (
    session TEXT NOT NULL, id TEXT NOT NULL, group_id TEXT NOT NULL, name TEXT NOT NULL,
    connected INTEGER NOT NULL, inmail_eligible INTEGER NOT NULL, position INTEGER NOT NULL,
    PRIMARY KEY (session, group_id, id));
CREATE TABLE IF NOT EXISTS conversations (
    session TEXT NOT NULL, id TEXT NOT NULL, group_id TEXT NOT NULL, prospect_id TEXT NOT NULL,
    position INTEGER NOT NULL, PRIMARY KEY (session, group_id, id));
CREATE INDEX IF NOT EXISTS conversations_by_prospect ON conversations (session, group_id, prospect_id, position);
CREATE TABLE IF NOT EXISTS api_keys (
    session TEXT NOT NULL, key_hash TEXT NOT NULL, key TEXT NOT NULL, name TEXT NOT NULL,
    permissions TEXT NOT NULL, account_groups TEXT NOT NULL, revoked INTEGER NOT NULL,
    position INTEGER NOT NULL, PRIMARY KEY (session, key_hash));
CREATE TABLE IF NOT EXISTS day_counts (
    session TEXT NOT NULL, group_id TEXT NOT NULL, local_day TEXT NOT NULL, channel TEXT NOT NULL,
    count INTEGER NOT NULL, PRIMARY KEY (session, group_id, local_day, channel));
CREATE TABLE IF NOT EXISTS messages (
    session TEXT NOT NULL, id TEXT NOT NULL, group_id TEXT NOT NULL, prospect_id TEXT NOT NULL,
    channel TEXT NOT NULL, conversation_id TEXT, subject TEXT, message TEXT NOT NULL,
    scheduled_at REAL NOT NULL, sent_at REAL, message_id TEXT, deferred INTEGER NOT NULL,
    idempotency_key TEXT, PRIMARY KEY (session, id));
CREATE INDEX IF NOT EXISTS messages_due ON messages (session, scheduled_at) WHERE sent_at IS NULL;
CREATE INDEX IF NOT EXISTS messages_by_group ON messages (session, group_id, scheduled_at);
CREATE INDEX IF NOT EXISTS messages_sent ON messages (session, sent_at) WHERE sent_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS idempotency_keys (
    session TEXT NOT NULL, group_id TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL,
    response TEXT NOT NULL, expires_at REAL NOT NULL, PRIMARY KEY (session, group_id, key));
CREATE INDEX IF NOT EXISTS idempotency_expiry ON idempotency_keys (session, expires_at);
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, session TEXT NOT NULL, at REAL NOT NULL, method TEXT NOT NULL,
    path TEXT NOT NULL, status INTEGER NOT NULL, trace_id TEXT NOT NULL, idempotency_key TEXT,
    api_key TEXT);
CREATE INDEX IF NOT EXISTS journal_by_session ON journal (session, seq);
CREATE TABLE IF NOT EXISTS faults (
    id INTEGER PRIMARY KEY AUTOINCREMENT, session TEXT NOT NULL, status INTEGER, latency_ms INTEGER NOT NULL,
    remaining INTEGER NOT NULL, method TEXT, path_prefix TEXT);
CREATE INDEX IF NOT EXISTS faults_by_session ON faults (session, id);
"""

SESSION_TABLES = (
    "account_groups",
    "prospects",
    "conversations",
    "api_keys",
    "day_counts",
    "messages",
    "idempotency_keys",
    "journal",
    "faults",
)


class Store:
    """One connection per process, serialised by a lock; SQLite's own lock serialises processes."""

    def __init__(self, path: Path | None = None) -> None:
        if path is None:
            target, uri = f"file:sonarly-mock-{uuid.uuid4().hex}?mode=memory", True
        else:
            target, uri = str(path), False
        self._connection = sqlite3.connect(target, uri=uri, isolation_level=None, check_same_thread=False, timeout=30.0)
        self._lock = threading.RLock()
        self._lock_file = None if path is None else open(f"{path}.lock", "a+b")
        self.path = path
        with self._lock:
            if path is not None:
                self._connection.execute("PRAGMA journal_mode=WAL")
                self._connection.execute("PRAGMA synchronous=NORMAL")
            self._connection.execute("PRAGMA busy_timeout=30000")
            self._connection.executescript(SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        with self._lock, self._between_processes():
            connection = self._connection
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    @contextmanager
    def _between_processes(self) -> Iterator[None]:
        """Queue writers of a shared state file on an flock, which the kernel hands over at once.

        Left to SQLite, a worker that finds the write lock taken sleeps in growing steps (1 ms, 2 ms, ...)
        before it retries: with two workers that costs more than the second worker brings.
        """
        if self._lock_file is None:
            yield
            return
        fcntl.flock(self._lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """Autocommit use of the connection: each statement is its own atomic read or write."""
        with self._lock:
            yield self._connection

    def close(self) -> None:
        with self._lock:
            self._connection.close()
            if self._lock_file is not None:
                self._lock_file.close()
