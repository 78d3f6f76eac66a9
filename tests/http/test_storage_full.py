"""A store that cannot grow: every write a clear 503, nothing half-kept, and room again once sessions are deleted.

Why: the in-memory state lives on SQLite's memdb VFS, which stops at 1 GiB (a state file stops when its disk is
full). SQLite then answers SQLITE_FULL, which must reach a client as the catalogue's 503 with what to do about
it, never as a 500 or a traceback, and must never leave a 202 without its message or a message without its 202.
The cap is lowered here with `PRAGMA max_page_count`, which SQLite enforces with the same SQLITE_FULL.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from helpers import DM_BODY, assert_accepted, assert_error, bearer
from starlette.testclient import TestClient

from mock_server import MockConfig, create_app
from mock_server.domain.errors import StorageFull
from mock_server.http import runtime
from mock_server.storage.sqlite import SqliteStore
from support.mock_fixtures import API_KEY, RESPONSES_PATH

MESSAGES = "/__mock/accounts/ag_acme/messages"


@pytest.fixture
def stores(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every store the apps of the test open, to reach the SQLite connection behind one."""
    opened: list[Any] = []
    real = runtime.open_store

    def keep(*args: Any, **kwargs: Any) -> Any:
        opened.append(real(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(runtime, "open_store", keep)
    return opened


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast-path", "full-path"])
def test_a_full_in_memory_state_answers_503_keeps_every_202_and_recovers(stores: list[Any], fast_path: bool) -> None:
    with TestClient(create_app(MockConfig(rate_limit="off", fast_path=fast_path))) as client:
        (store,) = stores
        assert isinstance(store, SqliteStore)
        pages = store._connection.execute("PRAGMA page_count").fetchone()[0]
        store._connection.execute(f"PRAGMA max_page_count = {pages + 4}")
        accepted = []
        for index in range(500):
            response = post_with_key(client, f"k{index}")
            if response.status_code != 202:
                break
            accepted.append(assert_accepted(response)["id"])
        error = assert_error(response, 503, "SERVICE_UNAVAILABLE")
        assert error["message"] == "The mock's storage is full."
        assert "DELETE /__mock/sessions/{name}" in error["details"] and "--state FILE" in error["details"]
        assert accepted, "the cap was reached before any request: the test proves nothing"

        assert_error(post_with_key(client, f"k{index}"), 503, "SERVICE_UNAVAILABLE")  # a retry meets the same wall
        kept = client.get(MESSAGES).json()["data"]["messages"]
        assert [message["id"] for message in kept] == accepted  # reads still work; nothing refused was kept

        assert client.delete("/__mock/sessions/default").status_code == 200  # the default session is reset
        assert_accepted(post_with_key(client, f"k{index}"))


def post_with_key(client: TestClient, key: str) -> Any:
    return client.post(RESPONSES_PATH, json=DM_BODY, headers={**bearer(API_KEY), "Idempotency-Key": key})


def test_an_sqlite_without_memdb_keeps_the_state_in_mode_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite before 3.36 (or built without memdb) has no such VFS: the store opens `mode=memory` instead."""
    real = sqlite3.connect
    opened: list[str] = []

    def without_memdb(database: str, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        opened.append(database)
        if "vfs=memdb" in database:
            raise sqlite3.OperationalError("no such vfs: memdb")
        return real(database, *args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", without_memdb)
    store = SqliteStore()
    try:
        assert [uri.partition("?")[2] for uri in opened] == ["vfs=memdb", "mode=memory"]
        with store.transaction() as tx:
            assert tx.session_exists("default") is False
    finally:
        store.close()


class FullAtCommit:
    """The store's cursor, but its COMMIT finds no room: what memdb answers at its cap, since it grows its buffer
    when the pages are written at commit (a lowered max_page_count refuses earlier, at the statement)."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self.cursor = cursor

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        if sql == "COMMIT":
            full = sqlite3.OperationalError("database or disk is full")
            full.sqlite_errorcode = sqlite3.SQLITE_FULL
            raise full
        return self.cursor.execute(sql, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cursor, name)


def test_a_commit_that_finds_no_room_keeps_nothing_of_its_transaction() -> None:
    store = SqliteStore()
    try:
        real = store._cursor
        store._cursor = FullAtCommit(real)  # type: ignore[assignment]
        with pytest.raises(StorageFull) as refused, store.transaction() as tx:
            tx.insert_session("refused", 0.0)
        assert refused.value.status == 503 and "--state FILE" in (refused.value.details or "")
        store._cursor = real
        assert not store._connection.in_transaction
        with store.transaction() as tx:
            assert not tx.session_exists("refused")
    finally:
        store.close()
