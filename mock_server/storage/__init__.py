"""Where the mock keeps its state: one interface (`Store`, `Tx`), two engines (SQLite, PostgreSQL).

No SQL outside this package: the domain calls named operations on a `Tx` and decides; each engine runs them.
"""

from __future__ import annotations

from pathlib import Path

from mock_server.storage.base import SCHEMA_VERSION, StateFileError, Store, Tx
from mock_server.storage.executor import SESSION_TABLES
from mock_server.storage.postgres import DEFAULT_SCHEMA, is_postgres_url
from mock_server.storage.sqlite import SqliteStore

__all__ = [
    "DEFAULT_SCHEMA",
    "SCHEMA_VERSION",
    "SESSION_TABLES",
    "StateFileError",
    "Store",
    "Tx",
    "check_state",
    "is_postgres_url",
    "open_store",
]


def open_store(
    state: str | Path | None = None, schema: str = DEFAULT_SCHEMA, pool_size: int = 10, timeout: float = 5.0
) -> Store:
    """The store `--state` names: None is SQLite in memory, a `postgresql://` URL is PostgreSQL, anything else
    a SQLite file. StateFileError (one line) when it cannot be used."""
    if state is not None and is_postgres_url(str(state)):
        from mock_server.storage.postgres import PostgresStore

        return PostgresStore(str(state), schema=schema, pool_size=pool_size, timeout=timeout)
    return SqliteStore(None if state is None else Path(state))


def check_state(state: str | Path, pool_size: int = 1, timeout: float = 5.0) -> None:
    """Open the store as `serve` will (creating or migrating it), then close it; StateFileError if unusable.

    The CLI calls this before uvicorn starts, so a bad file or database is one line and exit 2, not a worker
    crash loop."""
    open_store(state, pool_size=pool_size, timeout=timeout).close()
