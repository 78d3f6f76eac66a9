"""The fleet engine: every replica of the mock on one PostgreSQL database (psycopg 3 and its pool).

What makes the contract hold across hosts is the database, not the processes: each write transaction of a
session first takes that session's transaction-scoped advisory lock, so "look up the key, else take the next
slot and bind the key" runs for one request of the session at a time, whichever replica answers, while two
sessions never wait on each other. Changes to the set of sessions and datasets (creating past the cap,
dropping, sweeping, replacing fixtures) also take one registry lock; the order is always session, then
registry, and a sweep only *tries* other sessions' locks, so no two transactions wait on each other in a cycle.

A database that is down or restarting is a 503 with Retry-After, never a 500: every error of the connection
(refused, reset, shut down by the administrator, a pool timeout, a statement timeout) becomes
`DatabaseUnavailable`. After one, the store answers 503 at once for a second instead of making every
request wait for a dead server, and asks the pool to check its idle connections, so the fleet recovers by
itself as soon as PostgreSQL accepts connections again. A 202 is sent only after COMMIT returned, so no
accepted request is lost; a request whose COMMIT failed got a 503 and its retry with the same key replays
or schedules it, never twice.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import errors, sql
from psycopg.conninfo import make_conninfo
from psycopg_pool import ConnectionPool, PoolTimeout

from mock_server.domain.errors import DatabaseUnavailable
from mock_server.storage.base import SCHEMA_VERSION, StateFileError, Store, Tx
from mock_server.storage.executor import Cursor, Params
from mock_server.storage.postgres_schema import bring_to_current_version

SESSION_LOCKS = 0x536F6E4D  # "SonM": the advisory-lock class of session locks (objid: hash of schema/session)
REGISTRY_LOCK = SESSION_LOCKS + 1
SCHEMA_LOCK = SESSION_LOCKS + 2
DEFAULT_SCHEMA = "sonarly_mock"
COOL_DOWN = 1.0
"""Seconds the store answers 503 at once after losing the database, before trying it again."""
URL_SCHEMES = ("postgresql://", "postgres://")
BUSY = (errors.QueryCanceled, errors.LockNotAvailable, errors.TransactionRollback)
"""Errors of a database that answers but is busy (a statement or lock wait past --db-timeout, a deadlock
broken): a 503 for this request only, no cool-down for the others."""

# The pool logs every failed reconnection attempt with the server's multi-line message; while the database is
# down the request log already shows each 503, so only its errors are worth a line.
logging.getLogger("psycopg.pool").setLevel(logging.ERROR)


def is_postgres_url(state: str | None) -> bool:
    return state is not None and state.startswith(URL_SCHEMES)


def redacted(url: str) -> str:
    """The URL without its password, for messages, logs and /healthz."""
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", url)


class PostgresTx(Tx):
    """The named operations on one pooled connection; `?` becomes psycopg's `%s`.

    PostgreSQL's text cannot hold U+0000, which JSON strings, bodies and paths may carry: it is stored as
    U+FFFD (the replacement character), the one place where the engines differ in what they keep.
    """

    engine = "postgresql"

    def __init__(self, connection: psycopg.Connection[Any], schema: str) -> None:
        self.connection = connection
        self.schema = schema
        self._holds_registry = False

    def execute(self, sql_text: str, params: Params = ()) -> Cursor:
        if any(isinstance(param, str) and "\x00" in param for param in params):
            params = [param.replace("\x00", "\ufffd") if isinstance(param, str) else param for param in params]
        return self.connection.execute(_placeholders(sql_text), params)

    def lock_session(self, name: str) -> None:
        self.execute("SELECT pg_advisory_xact_lock(?, hashtext(?))", (SESSION_LOCKS, f"{self.schema}/{name}"))

    def lock_registry(self) -> None:
        """Taken at most once per transaction: the domain asks wherever it needs it, the server is asked once."""
        if not self._holds_registry:
            self.execute("SELECT pg_advisory_xact_lock(?, hashtext(?))", (REGISTRY_LOCK, self.schema))
            self._holds_registry = True

    def try_lock_session(self, name: str) -> bool:
        return bool(
            self.scalar("SELECT pg_try_advisory_xact_lock(?, hashtext(?))", (SESSION_LOCKS, f"{self.schema}/{name}"))
        )

    def delete_batch(self, table: str, where: str, params: tuple[Any, ...], batch: int) -> int:
        """PostgreSQL has no rowid to delete a bounded batch by: the physical row address (ctid) does it."""
        return self.execute(
            f"DELETE FROM {table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {table} WHERE {where} LIMIT ?))",
            (*params, batch),
        ).rowcount


class PostgresStore(Store):
    """A pool of connections to one database; the tables live in `schema` (created if missing)."""

    engine = "postgresql"

    def __init__(self, url: str, schema: str = DEFAULT_SCHEMA, pool_size: int = 10, timeout: float = 5.0) -> None:
        self.location = redacted(url)
        self.schema = schema
        self._timeout = timeout
        self._down_until = 0.0
        self._failing = False
        self._checking = threading.Lock()
        try:
            conninfo = make_conninfo(url, connect_timeout=max(1, round(timeout)), application_name="sonarly-mock")
        except psycopg.ProgrammingError as exc:
            reason = " ".join(str(exc).split())
            raise StateFileError(f"--state {self.location} is not a PostgreSQL URL ({reason})") from None
        self._pool = ConnectionPool(
            conninfo,
            min_size=min(2, pool_size),
            max_size=pool_size,
            timeout=timeout,
            kwargs={"autocommit": True},
            configure=self._configure,
            open=False,
            name="sonarly-mock",
        )
        try:
            # One connection of our own first: its error says why (refused, authentication, no such database),
            # where the pool would only say that it timed out.
            with psycopg.connect(conninfo, autocommit=True) as connection, connection.transaction():
                bring_to_current_version(PostgresTx(connection, schema), self.location)
            self._pool.open(wait=True, timeout=timeout)
        except StateFileError:
            self._pool.close()
            raise
        except (psycopg.Error, TimeoutError) as exc:
            self._pool.close()
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise StateFileError(f"cannot use the database {self.location} ({reason}); check --state") from None

    def _configure(self, connection: psycopg.Connection[Any]) -> None:
        """Every pooled connection looks in the mock's schema and gives up on a statement after the timeout."""
        connection.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
        connection.execute(sql.SQL("SET statement_timeout = {}").format(sql.Literal(round(self._timeout * 1000))))

    @contextmanager
    def transaction(self, session: str | None = None) -> Iterator[PostgresTx]:
        with self._connection() as connection, connection.transaction():
            tx = PostgresTx(connection, self.schema)
            if session is None:
                tx.lock_registry()
            else:
                tx.lock_session(session)
            yield tx

    @contextmanager
    def reading(self) -> Iterator[PostgresTx]:
        with self._connection() as connection:
            yield PostgresTx(connection, self.schema)

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection; any failure of the database inside the block is DatabaseUnavailable.

        While the database is being lost or coming back, a request waits at most COOL_DOWN for a connection
        (not the whole --db-timeout), so a replica keeps answering 503s at once rather than stalling."""
        if time.monotonic() < self._down_until:
            raise DatabaseUnavailable(retry_after=COOL_DOWN)
        try:
            with self._pool.connection(timeout=COOL_DOWN if self._failing else self._timeout) as connection:
                yield connection
            self._failing = False
        except PoolTimeout:
            if self._failing:
                self._lost()
            raise DatabaseUnavailable(retry_after=COOL_DOWN) from None  # else only busy: no cool-down
        except BUSY:
            raise DatabaseUnavailable(retry_after=COOL_DOWN) from None
        except (psycopg.OperationalError, psycopg.InterfaceError):
            self._lost()
            raise DatabaseUnavailable(retry_after=COOL_DOWN) from None

    def _lost(self) -> None:
        """Answer 503 at once for COOL_DOWN, and have the pool replace its broken idle connections."""
        self._failing = True
        self._down_until = time.monotonic() + COOL_DOWN
        if self._checking.acquire(blocking=False):
            threading.Thread(target=self._check_pool, daemon=True, name="sonarly-pool-check").start()

    def _check_pool(self) -> None:
        try:
            self._pool.check()
        except psycopg.Error:
            pass
        finally:
            self._checking.release()

    def reachable(self) -> bool:
        try:
            with self._connection() as connection:
                connection.execute("SELECT 1")
            return True
        except DatabaseUnavailable:
            return False

    def close(self) -> None:
        self._pool.close()

    def drop_schema(self) -> None:
        """Delete every table of this store (the tests' throwaway schemas)."""
        with self._pool.connection() as connection:
            connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self.schema)))


_converted: dict[str, str] = {}


def _placeholders(sql_text: str) -> str:
    """The statement with psycopg's placeholders (the statements are fixed texts: the cache stays small)."""
    converted = _converted.get(sql_text)
    if converted is None:
        converted = _converted[sql_text] = sql_text.replace("?", "%s")
    return converted


__all__ = ["SCHEMA_VERSION", "PostgresStore", "PostgresTx", "is_postgres_url", "redacted"]
