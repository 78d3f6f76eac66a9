"""What every engine offers the domain: a store of transactions, and a transaction of named operations.

    Store                       open_store(None | path | postgresql://...) picks the engine
    ├── SqliteStore             one process's connection; SQLite's write lock serialises writers
    └── PostgresStore           a connection pool; per-session advisory locks serialise only one session

    Tx = SessionRows + MessageRows + JournalRows    the named operations, each one or two statements
    ├── SqliteTx                `?` placeholders as written
    └── PostgresTx              the same statements with `%s`, plus the few that differ (locks, purges)

The domain never writes SQL: it calls `tx.day_count(session, group, day, channel)` and decides. Statements are
written once, in the row modules, in the subset of SQL both engines speak; where the dialects differ (DDL, locks,
deleting by row identity) each engine writes its own. PostgreSQL tables that SQLite orders by its implicit `rowid`
carry an identity column of that name, so "in insertion order" is the same statement on both.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager

from mock_server.storage.rows_journal import JournalRows
from mock_server.storage.rows_messages import MessageRows
from mock_server.storage.rows_sessions import SessionRows

SCHEMA_VERSION = 2
"""The layout's version, the same for both engines. 1: the unversioned SQLite layout of mock 0.x (fixtures
copied into every session); 2: content-addressed datasets (the first layout PostgreSQL has)."""


class StateFileError(Exception):
    """The `--state` file or database cannot be used; the message is one line that says why and what to do."""


class Tx(SessionRows, MessageRows, JournalRows):
    """One unit of work on the store: every named operation, run on one connection.

    Inside `Store.transaction()` the operations commit together or not at all; inside `Store.reading()` each
    one is its own atomic statement.
    """

    engine = "sqlite"

    def lock_registry(self) -> None:
        """Serialise with every other change to the set of sessions and datasets (creating, dropping, the cap).

        SQLite's write lock already serialises every write transaction; PostgreSQL takes an advisory lock."""

    def try_lock_session(self, name: str) -> bool:
        """Take another session's lock if it is free right now (a sweep skips a session in use)."""
        return True


class Store(ABC):
    """A database of sessions; `transaction(session)` is the only way to change it."""

    engine: str
    location: str
    """Where the data lives, for messages and /healthz (a path, ':memory:', or a URL without its password)."""

    @abstractmethod
    def transaction(self, session: str | None = None) -> AbstractContextManager[Tx]:
        """A write transaction, committed when the block ends and rolled back if it raises.

        With `session`, it is serialised with every other transaction of that session only (two teams in two
        sessions never wait on each other where the engine allows it); without, with every registry change.
        """

    @abstractmethod
    def reading(self) -> AbstractContextManager[Tx]:
        """Autocommit use of a connection: each operation is its own atomic statement."""

    def reachable(self) -> bool:
        """Whether the database answers now (always, for an embedded one)."""
        return True

    @abstractmethod
    def close(self) -> None: ...
