"""The one primitive every named operation is built on: run a statement with parameters, get a cursor."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

Params = Sequence[Any]

SESSION_TABLES = (
    "group_slots",
    "opened_conversations",
    "day_counts",
    "messages",
    "idempotency_keys",
    "journal",
    "faults",
)
"""Every table with a `session` column: dropping a session deletes its rows from each."""


class Cursor(Protocol):
    """What both DB-API cursors (sqlite3, psycopg) give back from `execute`."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Statements:
    """Base of the row modules: they only call `execute`, which each engine implements."""

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        raise NotImplementedError

    def one(self, sql: str, params: Params = ()) -> Any:
        """The first row, or None."""
        return self.execute(sql, params).fetchone()

    def scalar(self, sql: str, params: Params = ()) -> Any:
        """The first column of the first row, or None when there is no row."""
        row = self.execute(sql, params).fetchone()
        return None if row is None else row[0]
