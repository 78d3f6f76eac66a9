"""SQLite's memory statistics go off only where shutting SQLite down is allowed, and the store works either way.

Each case runs in a fresh interpreter: the setting is process-wide, and this test process has SQLite in use."""

from __future__ import annotations

import subprocess
import sys
import textwrap

COUNTED = """
import ctypes, _sqlite3
_lib = ctypes.CDLL(_sqlite3.__file__)
_lib.sqlite3_memory_used.restype = ctypes.c_int64

def counted() -> int:
    return _lib.sqlite3_memory_used()

def queue_one(store) -> None:
    from mock_server.domain.fixtures import load_fixtures
    from mock_server.domain.service import queue_response
    from mock_server.domain.sessions import install_base_fixtures

    with store.transaction() as tx:
        install_base_fixtures(tx, load_fixtures(None))
    body = {"prospectId": "prs_ada_lovelace", "message": "hi"}
    first = queue_response(store, "default", "ag_acme", body, "k1")
    again = queue_response(store, "default", "ag_acme", body, "k1")
    assert again.replayed and again.data == first.data, (first, again)
"""


def run(script: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", COUNTED + textwrap.dedent(script)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_fresh_process_turns_them_off_and_its_store_keeps_every_202() -> None:
    out = run("""
        from mock_server.storage.sqlite import SqliteStore
        from mock_server.storage.sqlite_process import quiet_memory_statistics

        assert quiet_memory_statistics()
        store = SqliteStore()
        queue_one(store)
        print(counted(), quiet_memory_statistics())  # nothing counted; a second call leaves the open store alone
        queue_one(SqliteStore())
        store.close()
    """)
    assert out == "0 True"


def test_with_a_connection_already_open_nothing_changes() -> None:
    out = run("""
        import sqlite3
        from mock_server.storage.sqlite import SqliteStore
        from mock_server.storage.sqlite_process import quiet_memory_statistics

        earlier = sqlite3.connect(":memory:")
        earlier.execute("CREATE TABLE t (x)")
        refused = quiet_memory_statistics()
        store = SqliteStore()
        queue_one(store)
        earlier.execute("INSERT INTO t VALUES (1)")
        print(refused, counted() > 0, earlier.execute("SELECT x FROM t").fetchall())
    """)
    assert out == "False True [(1,)]"
