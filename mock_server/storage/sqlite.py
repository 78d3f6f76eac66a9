"""The embedded engine: one SQLite database behind every session, in memory or in a `--state` file.

Every read-modify-write runs inside `Store.transaction()`, which takes SQLite's write lock up front
(`BEGIN IMMEDIATE`). That makes idempotency and slot assignment atomic across threads and across
several worker processes sharing one state file, by construction rather than by timing.

A state file says what it is in its header: `PRAGMA application_id` marks it as this mock's and
`PRAGMA user_version` is its schema version. Opening a file brings it to `SCHEMA_VERSION` through the
migrations of `mock_server.storage.sqlite_migrations`, or refuses it with `StateFileError`: one line saying what is
wrong and what to do, which the CLI prints before any worker starts.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import IO

from mock_server.domain.errors import StorageFull
from mock_server.storage.base import SCHEMA_VERSION, StateFileError, Store, Tx
from mock_server.storage.executor import Cursor, Params

APPLICATION_ID = 0x536F6E4D  # "SonM": PRAGMA application_id of every state file of this mock
# CPython's sqlite3 binds int, float and str directly but sends every other value, None included, through its
# adapter lookup, which for None ends in a failed attribute lookup (an AttributeError built and dropped): 220 ns
# a NULL against 80 ns through this identity adapter, and an accepted request binds five. None stays NULL.
sqlite3.register_adapter(type(None), lambda value: value)

MEMORY_CAP_BYTES = 1 << 30
"""The most an in-memory state holds: SQLite's SQLITE_MEMDB_DEFAULT_MAXSIZE, which Python cannot change."""

# Fixture data lives in immutable, content-addressed datasets (mock_server.domain.datasets); a session points
# at one and keeps only what it changes itself: its clock, each group's last slot, the conversations its sent
# InMails opened, day counts, messages, idempotency keys, journal and faults.
CORE_SCHEMA = """
CREATE TABLE IF NOT EXISTS datasets (id TEXT PRIMARY KEY, document TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS startup (
    id INTEGER PRIMARY KEY CHECK (id = 1), base_dataset TEXT NOT NULL, max_sessions INTEGER NOT NULL,
    idle_seconds REAL);
CREATE TABLE IF NOT EXISTS sessions (
    name TEXT PRIMARY KEY, dataset TEXT NOT NULL, clock_offset REAL NOT NULL DEFAULT 0, clock_frozen_at REAL,
    created REAL NOT NULL, last_used REAL NOT NULL);
CREATE INDEX IF NOT EXISTS sessions_by_dataset ON sessions (dataset);
CREATE INDEX IF NOT EXISTS sessions_by_last_use ON sessions (last_used);
CREATE TABLE IF NOT EXISTS group_slots (
    session TEXT NOT NULL, group_id TEXT NOT NULL, last_slot REAL NOT NULL, PRIMARY KEY (session, group_id));
CREATE TABLE IF NOT EXISTS opened_conversations (
    session TEXT NOT NULL, group_id TEXT NOT NULL, id TEXT NOT NULL, prospect_id TEXT NOT NULL,
    PRIMARY KEY (session, group_id, id));
CREATE INDEX IF NOT EXISTS opened_by_prospect ON opened_conversations (session, group_id, prospect_id);
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
CREATE TABLE IF NOT EXISTS faults (
    id INTEGER PRIMARY KEY AUTOINCREMENT, session TEXT NOT NULL, status INTEGER, connection TEXT,
    retry_after INTEGER, latency_ms INTEGER NOT NULL, remaining INTEGER, rate REAL, seed INTEGER NOT NULL,
    draws INTEGER NOT NULL, hits INTEGER NOT NULL, method TEXT, path_prefix TEXT);
CREATE INDEX IF NOT EXISTS faults_by_session ON faults (session, id);
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, session TEXT NOT NULL, authenticated INTEGER NOT NULL,
    ring_position INTEGER NOT NULL, at REAL NOT NULL, mock_time REAL, method TEXT NOT NULL, path TEXT NOT NULL,
    status INTEGER, code TEXT, fault INTEGER, duration_ms REAL NOT NULL, trace_id TEXT NOT NULL,
    idempotency_key TEXT, api_key TEXT, request_body TEXT, response_body TEXT);
CREATE INDEX IF NOT EXISTS journal_by_ring ON journal (session, authenticated, seq);
"""
# One journal index serves both the per-ring trim of every write and the reads (a session holds at most
# KEEP_AUTHENTICATED + KEEP_UNAUTHENTICATED rows, so sorting them by seq is cheap); a second index would
# cost every request's write.

SCHEMA = CORE_SCHEMA


class SqliteTx(Tx):
    """The named operations on one sqlite3 connection; the statements run as written.

    They all run on the store's one cursor: `Connection.execute` makes a new cursor per statement, which the
    connection tracks with a weak reference, a dozen per request that the garbage collector then walks. Every
    named operation reads its rows before it returns, so no statement ever needs the rows of an earlier one."""

    engine = "sqlite"

    def __init__(self, connection: sqlite3.Connection, cursor: sqlite3.Cursor | None = None) -> None:
        self.connection = connection
        self.cursor = cursor or connection.cursor()

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        return self.cursor.execute(sql, params)


__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "SqliteStore", "SqliteTx", "StateFileError"]


def statements(script: str) -> Iterator[str]:
    """The statements of an SQL script one by one, so that a script can run inside an open transaction
    (`executescript` would commit it first)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending.strip()
            pending = ""
    if pending.strip():
        raise ValueError(f"incomplete SQL statement: {pending.strip()[:80]}")


def create_schema(conn: sqlite3.Connection) -> None:
    """Create every table of the current version and stamp the file with it (inside the caller's transaction)."""
    for statement in statements(SCHEMA):
        conn.execute(statement)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


class SqliteStore(Store):
    """One connection per process, serialised by a lock; SQLite's own lock serialises processes."""

    engine = "sqlite"

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.location = ":memory:" if path is None else str(path)
        self._lock = threading.RLock()
        self._lock_file: IO[bytes] | None = None
        if path is None:
            self._connection = _open_memory()
            self._connection.execute("PRAGMA busy_timeout=30000")
            # Nothing in memory can be synced: without this SQLite still makes the calls at every COMMIT (0.5% of an
            # accepted request's instructions, bench/instructions.py).
            self._connection.execute("PRAGMA synchronous=OFF")
            # Set before the first table exists, after which it is fixed. Why 1 KiB, not 4: a transaction copies
            # every page it changes twice (into the rollback journal, then into memdb's buffer at COMMIT), and an
            # accepted request changes about a dozen pages, one per table and index it writes; with 1 KiB pages it
            # copies a quarter of the bytes: 0.968x the instructions of an accepted request (bench/instructions.py;
            # 512 B pages counted no fewer), and served side by side 1.07x and 1.01x the requests/s in two runs
            # (bench/compare.py). Its page cache stays SQLite's default 2 MB: 0.5 MB served 0.90x, 4 MB 0.97x and
            # 16 MB 0.67x the requests/s of the default.
            self._connection.execute("PRAGMA page_size=1024")
            self._cursor = self._connection.cursor()
            with self.transaction() as tx:
                create_schema(tx.connection)
            return
        self._connection = _open_file(path)
        self._cursor = self._connection.cursor()
        try:
            self._lock_file = open(f"{path}.lock", "a+b")  # held for the store's lifetime
            with self.transaction() as tx:
                _bring_to_current_version(tx.connection, path)
            # Only once the file is known to be ours: WAL mode is stored in the file itself.
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.execute("PRAGMA synchronous=NORMAL")
        except StateFileError:
            self.close()
            raise
        except (sqlite3.Error, OSError) as exc:
            self.close()
            raise StateFileError(_unusable(path, exc)) from None

    def transaction(self, session: str | None = None) -> AbstractContextManager[SqliteTx]:
        """A write transaction: committed when the block ends, rolled back if it raises. SQLite has one write
        lock for the whole database, so `session` changes nothing: every writer waits for the one before."""
        return _Writing(self)

    def reading(self) -> AbstractContextManager[SqliteTx]:
        """Autocommit use of the connection: each statement is its own atomic read or write."""
        return _Reading(self)

    def full(self) -> StorageFull:
        """The refusal of a write that found no room, saying what makes room here."""
        if self.path is None:
            return StorageFull(
                f"the in-memory state reached SQLite's cap of {MEMORY_CAP_BYTES >> 30} GiB: delete sessions that are "
                "no longer needed (DELETE /__mock/sessions/{name}), or serve with --state FILE"
            )
        return StorageFull(f"the disk that holds the state file {self.path} is full")

    def close(self) -> None:
        with self._lock:
            self._connection.close()
            if self._lock_file is not None:
                self._lock_file.close()


class _Writing:
    """`SqliteStore.transaction` as a plain context manager (every request opens one; a generator-based one
    costs twice as much). Writers of a shared state file queue on an flock, which the kernel hands over at once:
    left to SQLite, a worker that finds the write lock taken sleeps in growing steps (1 ms, 2 ms, ...) before it
    retries, and with two workers that costs more than the second worker brings."""

    __slots__ = ("_store",)

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    def __enter__(self) -> SqliteTx:
        store = self._store
        store._lock.acquire()
        try:
            if store._lock_file is not None:
                fcntl.flock(store._lock_file, fcntl.LOCK_EX)
            try:
                store._cursor.execute("BEGIN IMMEDIATE")
            except BaseException:
                self._unlock_file()
                raise
        except BaseException:
            store._lock.release()
            raise
        return SqliteTx(store._connection, store._cursor)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        store = self._store
        try:
            try:
                if kind is None:
                    store._cursor.execute("COMMIT")
                elif store._connection.in_transaction:  # SQLite rolls back by itself after some errors (SQLITE_FULL)
                    store._cursor.execute("ROLLBACK")
            except sqlite3.OperationalError as exc:
                if not _is_full(exc):
                    raise
                if store._connection.in_transaction:  # the commit found no room (memdb grows at commit)
                    store._cursor.execute("ROLLBACK")
                raise store.full() from None
            if _is_full(error):  # a statement of the block found no room; the rollback above undid the rest
                raise store.full() from None
        finally:
            self._unlock_file()
            store._lock.release()

    def _unlock_file(self) -> None:
        if self._store._lock_file is not None:
            fcntl.flock(self._store._lock_file, fcntl.LOCK_UN)


class _Reading:
    """`SqliteStore.reading`: the connection under the store's lock, each statement its own transaction."""

    __slots__ = ("_store",)

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    def __enter__(self) -> SqliteTx:
        self._store._lock.acquire()
        return SqliteTx(self._store._connection, self._store._cursor)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._store._lock.release()
        if _is_full(error):
            raise self._store.full() from None


def _open_memory() -> sqlite3.Connection:
    """A private in-memory database on SQLite's `memdb` VFS (SQLite 3.36 and later), else `mode=memory`.

    Why memdb: a `mode=memory` database keeps every page in its page cache, and each COMMIT walks that cache
    (perf puts the time in the cache's hash table), so an accepted request cost 1.7x as much with 300,000 messages
    stored as with 500, a state a served benchmark reaches within a minute (`bench/growth.py`, bench/RESULTS.md).
    memdb holds the database in one buffer behind an ordinary page cache of 2 MB: a request costs the same at any
    size (2% more instructions while the state is small). Its buffer is capped (MEMORY_CAP_BYTES): past it a write
    is `StorageFull`, a 503, where `mode=memory` would have grown until the kernel killed the process."""
    name = f"sonarly-mock-{uuid.uuid4().hex}"  # no leading "/": private to this connection
    try:
        return sqlite3.connect(f"file:{name}?vfs=memdb", uri=True, isolation_level=None, check_same_thread=False)
    except sqlite3.OperationalError:  # "no such vfs: memdb": an SQLite older than 3.36, or built without it
        return sqlite3.connect(f"file:{name}?mode=memory", uri=True, isolation_level=None, check_same_thread=False)


def _is_full(error: BaseException | None) -> bool:
    """SQLITE_FULL: the in-memory cap reached or the state file's disk full (every other error stays itself)."""
    return isinstance(error, sqlite3.OperationalError) and error.sqlite_errorcode == sqlite3.SQLITE_FULL


def _open_file(path: Path) -> sqlite3.Connection:
    """Connect to a state file; anything that is not a readable SQLite file is a StateFileError."""
    if path.is_dir():
        raise StateFileError(f"state file {path} is a directory; give --state the path of a file")
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise StateFileError(f"state file {path} cannot be read and written by this user; check its permissions")
    connection: sqlite3.Connection | None = None
    try:
        connection = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30.0)
        connection.execute("PRAGMA busy_timeout=30000")
        connection.execute("PRAGMA schema_version").fetchone()  # reads the header: fails for a non-database
    except sqlite3.Error as exc:
        if connection is not None:
            connection.close()
        raise StateFileError(_unusable(path, exc)) from None
    return connection


def _unusable(path: Path, exc: BaseException) -> str:
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, sqlite3.DatabaseError) and "not a database" in reason:
        return f"state file {path} is not a SQLite database ({reason}); give --state a new path or delete the file"
    return f"state file {path} cannot be used ({reason}); give --state a new path or fix the file"


def _bring_to_current_version(conn: sqlite3.Connection, path: Path) -> None:
    """Create the schema in an empty file, migrate an older one, refuse anything else (in one transaction)."""
    from mock_server.storage.sqlite_migrations import MIGRATIONS, layout_version

    version = layout_version(conn, path)
    if version == 0:
        create_schema(conn)
        return
    if version > SCHEMA_VERSION:
        raise StateFileError(
            f"state file {path} has schema version {version}, newer than this mock's ({SCHEMA_VERSION}); "
            "upgrade the mock or give --state a new path"
        )
    while version < SCHEMA_VERSION:
        MIGRATIONS[version](conn)
        version += 1
        conn.execute(f"PRAGMA user_version = {version}")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
