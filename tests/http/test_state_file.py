"""`--state` files: stamped with a schema version, old ones migrated, anything else refused in one line.

A user notices three things: a state file written by an older mock keeps its sessions, messages and keys;
a file that is not a state file stops `serve` with one line and exit status 2 (no traceback, and no worker
restart loop with `--workers 2`); and every state file says which schema version it has.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from importlib import resources
from pathlib import Path

import httpx
import pytest
import yaml
from helpers import assert_accepted, assert_ok, bearer, post

from mock_server.config import MockConfig
from mock_server.domain.idempotency import fingerprint
from mock_server.domain.tokens import key_digest
from mock_server.http.app import create_app
from mock_server.storage import SCHEMA_VERSION, StateFileError
from mock_server.storage import check_state as check_state_file
from mock_server.storage.sqlite import APPLICATION_ID
from support.mock_fixtures import API_KEY
from support.mock_process import ROOT, MockProcess, free_port

# The layout of state files written before schema versions existed (version 1), exactly as that mock made it.
V1_SCHEMA = """
CREATE TABLE base_fixtures (id INTEGER PRIMARY KEY CHECK (id = 1), document TEXT NOT NULL);
CREATE TABLE sessions (
    name TEXT PRIMARY KEY, clock_offset REAL NOT NULL DEFAULT 0, clock_frozen_at REAL,
    conformance TEXT NOT NULL DEFAULT '{}');
CREATE TABLE account_groups (
    session TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, schedule TEXT NOT NULL,
    last_slot REAL, PRIMARY KEY (session, id));
CREATE TABLE prospects (
    session TEXT NOT NULL, id TEXT NOT NULL, group_id TEXT NOT NULL, name TEXT NOT NULL,
    connected INTEGER NOT NULL, inmail_eligible INTEGER NOT NULL, position INTEGER NOT NULL,
    PRIMARY KEY (session, group_id, id));
CREATE TABLE conversations (
    session TEXT NOT NULL, id TEXT NOT NULL, group_id TEXT NOT NULL, prospect_id TEXT NOT NULL,
    position INTEGER NOT NULL, PRIMARY KEY (session, group_id, id));
CREATE INDEX conversations_by_prospect ON conversations (session, group_id, prospect_id, position);
CREATE TABLE api_keys (
    session TEXT NOT NULL, key_hash TEXT NOT NULL, key TEXT NOT NULL, name TEXT NOT NULL,
    permissions TEXT NOT NULL, account_groups TEXT NOT NULL, revoked INTEGER NOT NULL,
    position INTEGER NOT NULL, PRIMARY KEY (session, key_hash));
CREATE TABLE day_counts (
    session TEXT NOT NULL, group_id TEXT NOT NULL, local_day TEXT NOT NULL, channel TEXT NOT NULL,
    count INTEGER NOT NULL, PRIMARY KEY (session, group_id, local_day, channel));
CREATE TABLE messages (
    session TEXT NOT NULL, id TEXT NOT NULL, group_id TEXT NOT NULL, prospect_id TEXT NOT NULL,
    channel TEXT NOT NULL, conversation_id TEXT, subject TEXT, message TEXT NOT NULL,
    scheduled_at REAL NOT NULL, sent_at REAL, message_id TEXT, deferred INTEGER NOT NULL,
    idempotency_key TEXT, PRIMARY KEY (session, id));
CREATE INDEX messages_due ON messages (session, scheduled_at) WHERE sent_at IS NULL;
CREATE INDEX messages_by_group ON messages (session, group_id, scheduled_at);
CREATE INDEX messages_sent ON messages (session, sent_at) WHERE sent_at IS NOT NULL;
CREATE TABLE idempotency_keys (
    session TEXT NOT NULL, group_id TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL,
    response TEXT NOT NULL, expires_at REAL NOT NULL, PRIMARY KEY (session, group_id, key));
CREATE INDEX idempotency_expiry ON idempotency_keys (session, expires_at);
CREATE TABLE journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, session TEXT NOT NULL, at REAL NOT NULL, method TEXT NOT NULL,
    path TEXT NOT NULL, status INTEGER NOT NULL, trace_id TEXT NOT NULL, idempotency_key TEXT, api_key TEXT);
CREATE TABLE faults (
    id INTEGER PRIMARY KEY AUTOINCREMENT, session TEXT NOT NULL, status INTEGER, latency_ms INTEGER NOT NULL,
    remaining INTEGER NOT NULL, method TEXT, path_prefix TEXT);
"""
FROZEN_AT = 1777471200.0  # 2026-04-29T14:00:00Z, a Wednesday, 10:00 in New York
LEGACY = "legacy"


def demo_document() -> dict:
    return yaml.safe_load(resources.files("mock_server.data").joinpath("demo.yaml").read_text(encoding="utf-8"))


def write_v1_state(path: Path) -> None:
    """A version-1 file with session `legacy`: a renamed prospect, a frozen clock, and one message under a key
    (the rows the old mock wrote for one 202)."""
    document = demo_document()
    conn = sqlite3.connect(path)
    conn.executescript(V1_SCHEMA)
    conn.execute("INSERT INTO base_fixtures (id, document) VALUES (1, ?)", (json.dumps(document),))
    conn.execute("INSERT INTO sessions (name, clock_frozen_at) VALUES (?, ?)", (LEGACY, FROZEN_AT))
    conn.execute("INSERT INTO sessions (name) VALUES ('default')")
    for session in (LEGACY, "default"):
        _v1_fixture_rows(conn, session, document)
    _v1_message_rows(conn)
    conn.commit()
    conn.close()


def _v1_fixture_rows(conn: sqlite3.Connection, session: str, document: dict) -> None:
    """The copy of the fixtures a version-1 mock made for each session."""
    position = 0
    for group in document["accountGroups"]:
        last_slot = FROZEN_AT if session == LEGACY and group["id"] == "ag_acme" else None
        conn.execute(
            "INSERT INTO account_groups (session, id, name, schedule, last_slot) VALUES (?, ?, ?, ?, ?)",
            (session, group["id"], group["name"], json.dumps(group["schedule"]), last_slot),
        )
        for prospect in group["prospects"]:
            position += 1
            renamed = session == LEGACY and prospect["id"] == "prs_ada_lovelace"
            conn.execute(
                "INSERT INTO prospects (session, id, group_id, name, connected, inmail_eligible, position) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    session,
                    prospect["id"],
                    group["id"],
                    "Ada (renamed in legacy)" if renamed else prospect["name"],
                    int(prospect["connected"]),
                    int(prospect.get("inmailEligible", True)),
                    position,
                ),
            )
            for conversation in prospect["conversations"]:
                position += 1
                conn.execute(
                    "INSERT INTO conversations (session, id, group_id, prospect_id, position) VALUES (?, ?, ?, ?, ?)",
                    (session, conversation, group["id"], prospect["id"], position),
                )
    for index, key in enumerate(document["apiKeys"]):
        conn.execute(
            "INSERT INTO api_keys (session, key_hash, key, name, permissions, account_groups, revoked, position) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                session,
                key_digest(key["key"]),
                key["key"],
                key["name"],
                json.dumps(sorted(key["permissions"])),
                json.dumps(sorted(key["accountGroups"])),
                int(key.get("revoked", False)),
                index,
            ),
        )


def _v1_message_rows(conn: sqlite3.Connection) -> None:
    """What a version-1 mock stored for one 202 in session `legacy` under the key `legacy-key`."""
    data = {
        "id": "0123456789abcdef01234567",
        "status": "queued",
        "scheduledAt": "2026-04-29T14:00:00.000Z",
        "sentAt": None,
        "channel": "direct_message",
        "conversationId": "cnv_ada_lovelace",
        "messageId": None,
        "idempotencyKey": "legacy-key",
        "deferred": False,
    }
    conn.execute(
        "INSERT INTO messages (session, id, group_id, prospect_id, channel, conversation_id, subject, message, "
        "scheduled_at, sent_at, message_id, deferred, idempotency_key) VALUES (?, ?, 'ag_acme', 'prs_ada_lovelace', "
        "'direct_message', 'cnv_ada_lovelace', NULL, 'Hi', ?, NULL, NULL, 0, 'legacy-key')",
        (LEGACY, data["id"], FROZEN_AT),
    )
    conn.execute(
        "INSERT INTO idempotency_keys (session, group_id, key, fingerprint, response, expires_at) "
        "VALUES (?, 'ag_acme', 'legacy-key', ?, ?, ?)",
        (
            LEGACY,
            fingerprint({"prospectId": "prs_ada_lovelace", "message": "Hi"}),
            json.dumps(data),
            FROZEN_AT + 24 * 3600,
        ),
    )
    conn.execute(
        "INSERT INTO day_counts (session, group_id, local_day, channel, count) "
        "VALUES (?, 'ag_acme', '2026-04-29', 'direct_message', 1)",
        (LEGACY,),
    )


def stamp(path: Path) -> tuple[int, int]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA application_id").fetchone()[0], conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


def test_a_version_1_state_file_is_migrated_with_its_sessions_messages_and_keys(tmp_path: Path):
    state = tmp_path / "old.db"
    write_v1_state(state)
    with MockProcess("--rate-limit", "off", "--state", str(state)) as server:
        control = httpx.Client(base_url=f"{server.base_url}/__mock", headers={"X-Mock-Session": LEGACY})
        api = httpx.Client(base_url=server.base_url, headers={**bearer(API_KEY), "X-Mock-Session": LEGACY})
        with control, api:
            clock = assert_ok(control.get("/clock"))
            assert (clock["now"], clock["frozen"]) == ("2026-04-29T14:00:00.000Z", True)
            [acme] = [g for g in assert_ok(control.get("/fixtures"))["accountGroups"] if g["id"] == "ag_acme"]
            assert acme["prospects"][0]["name"] == "Ada (renamed in legacy)"
            replay = post(api, {"prospectId": "prs_ada_lovelace", "message": "Hi"}, key="legacy-key")
            assert assert_accepted(replay)["id"] == "0123456789abcdef01234567"
            assert replay.headers.get("idempotent-replayed") == "true"
            following = assert_accepted(post(api, key="after-migration"))
            assert following["scheduledAt"] == "2026-04-29T14:01:00.000Z", "the group's last slot was kept (60 s gap)"
            listed = assert_ok(control.get("/sessions"))["sessions"]
            assert {s["name"] for s in listed} == {"default", LEGACY}
    assert stamp(state) == (APPLICATION_ID, SCHEMA_VERSION)


def test_a_new_state_file_records_its_schema_version(tmp_path: Path):
    state = tmp_path / "new.db"
    check_state_file(state)
    assert stamp(state) == (APPLICATION_ID, SCHEMA_VERSION)
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    check_state_file(empty)
    assert stamp(empty) == (APPLICATION_ID, SCHEMA_VERSION)


def other_application(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    conn.commit()
    conn.close()


def newer_version(path: Path) -> None:
    check_state_file(path)
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    ("make", "says"),
    [
        pytest.param(lambda p: p.write_text("not a database\n" * 100), "not a SQLite database", id="text_file"),
        pytest.param(lambda p: p.write_bytes(bytes(range(256)) * 64), "not a SQLite database", id="binary_file"),
        pytest.param(lambda p: p.mkdir(), "is a directory", id="directory"),
        pytest.param(other_application, "not a state file of this mock", id="other_sqlite_app"),
        pytest.param(newer_version, "newer than this mock", id="newer_version"),
    ],
)
def test_an_unusable_state_file_is_one_clear_error(tmp_path: Path, make, says):
    state = tmp_path / "state.db"
    make(state)
    with pytest.raises(StateFileError) as raised:
        check_state_file(state)
    message = str(raised.value)
    assert says in message and str(state) in message and "\n" not in message, message
    with pytest.raises(StateFileError):
        create_app(MockConfig(state=str(state)))


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_with_a_bad_state_file_prints_one_line_and_exits_2(tmp_path: Path, workers: str):
    state = tmp_path / "state.db"
    state.write_text("hello, I am a text file\n")
    command = ["serve", "--port", str(free_port()), "--state", str(state), "--workers", workers]
    done = subprocess.run(
        [sys.executable, "-m", "mock_server", *command], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "not a SQLite database" in lines[0], done.stderr
    assert state.read_text() == "hello, I am a text file\n", "the file was left as it was"


def test_a_database_of_another_application_is_left_untouched(tmp_path: Path):
    state = tmp_path / "invoices.db"
    other_application(state)
    before = state.read_bytes()
    with pytest.raises(StateFileError):
        check_state_file(state)
    assert state.read_bytes() == before, "not even switched to WAL mode"


def test_serve_with_an_unreachable_database_prints_one_line_without_the_password():
    """A fleet replica pointed at a database it cannot reach says so in one line and exits 2, the password
    hidden, instead of starting workers that would answer 503 forever."""
    url = "postgresql://mock:s3cret@127.0.0.1:9/mock"
    command = ["serve", "--port", str(free_port()), "--state", url, "--db-timeout", "1"]
    done = subprocess.run(
        [sys.executable, "-m", "mock_server", *command], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "cannot use the database postgresql://mock:***@127.0.0.1:9/mock" in lines[0]
    assert "s3cret" not in done.stderr
