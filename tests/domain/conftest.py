"""Fixtures for the domain tests: a real store seeded with the demo data, as the mock starts, on each engine.

Every test that uses `store` or `conn` runs twice: on SQLite in memory and on PostgreSQL (a schema of its own
in the suite's throwaway cluster), so the domain's rules are proved on both engines.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from mock_server.domain.fixtures import load_fixtures
from mock_server.domain.sessions import install_base_fixtures
from mock_server.storage import Store, Tx
from support.postgres import PostgresCluster

from .helpers import SESSION, WED_10AM, freeze

ENGINES = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def engine_database(postgres_cluster: PostgresCluster) -> str:
    """One database for every PostgreSQL store of the domain tests; each store takes a schema of its own."""
    return postgres_cluster.new_database()


@contextmanager
def new_store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """An empty store of the engine the test is parametrised with, removed afterwards."""
    if request.param == "sqlite":
        from mock_server.storage.sqlite import SqliteStore

        sqlite_store = SqliteStore()
        try:
            yield sqlite_store
        finally:
            sqlite_store.close()
        return
    from mock_server.storage.postgres import PostgresStore

    url = request.getfixturevalue("engine_database")
    postgres_store = PostgresStore(url, schema=f"t_{uuid.uuid4().hex[:12]}", pool_size=4)
    try:
        yield postgres_store
    finally:
        postgres_store.drop_schema()
        postgres_store.close()


@pytest.fixture(params=ENGINES)
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """A store + demo fixtures, as Runtime.start does; session SESSION's clock frozen at WED_10AM."""
    with new_store(request) as db:
        with db.transaction() as tx:
            install_base_fixtures(tx, load_fixtures())
        freeze(db, WED_10AM, SESSION)
        yield db


@pytest.fixture(params=ENGINES)
def conn(request: pytest.FixtureRequest) -> Iterator[Tx]:
    """An empty store inside one open transaction, for the modules that need no fixtures."""
    with new_store(request) as empty, empty.transaction() as tx:
        yield tx
