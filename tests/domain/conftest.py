"""Fixtures for the domain tests: a real in-memory store seeded with the demo data, as the mock starts."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from mock_server.domain.fixtures import load_fixtures
from mock_server.domain.sessions import install_base_fixtures
from mock_server.domain.store import Store

from .helpers import SESSION, WED_10AM, freeze


@pytest.fixture
def store() -> Iterator[Store]:
    """Store() + demo fixtures, as Runtime.start does; session SESSION's clock frozen at WED_10AM."""
    db = Store()
    with db.transaction() as conn:
        install_base_fixtures(conn, load_fixtures())
    freeze(db, WED_10AM, SESSION)
    yield db
    db.close()


@pytest.fixture
def conn() -> Iterator[sqlite3.Connection]:
    """An empty in-memory store inside one open transaction, for the modules that need no fixtures."""
    empty = Store()
    with empty.transaction() as connection:
        yield connection
    empty.close()
