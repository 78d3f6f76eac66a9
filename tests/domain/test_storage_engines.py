"""What the PostgreSQL engine adds to the shared interface: its layout's version, sessions that never wait on
each other, a lost database as a 503 that heals itself, and text PostgreSQL cannot hold."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

from mock_server.domain.errors import DatabaseUnavailable
from mock_server.domain.fixtures import load_fixtures
from mock_server.domain.sessions import install_base_fixtures
from mock_server.storage import SCHEMA_VERSION, StateFileError, open_store
from mock_server.storage.postgres import PostgresStore, redacted

from .helpers import DM, GROUP, listed, queue


def test_a_url_is_shown_without_its_password():
    assert redacted("postgresql://mock:s3cret@db.internal:5432/mock") == "postgresql://mock:***@db.internal:5432/mock"
    assert redacted("postgres://mock@db:5432/mock") == "postgres://mock@db:5432/mock"


@pytest.fixture
def pg_url(engine_database: str) -> str:
    return engine_database


@pytest.fixture
def schema() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def pg_store(pg_url: str, schema: str) -> Iterator[PostgresStore]:
    store = PostgresStore(pg_url, schema=schema, pool_size=4, timeout=2.0)
    with store.transaction() as tx:
        install_base_fixtures(tx, load_fixtures())
    yield store
    store.drop_schema()
    store.close()


def test_the_layout_is_stamped_and_reopening_it_changes_nothing(pg_url, schema):
    first = PostgresStore(pg_url, schema=schema, pool_size=2)
    first.close()
    second = PostgresStore(pg_url, schema=schema, pool_size=2)
    with second.reading() as tx:
        assert tx.one("SELECT application, version FROM schema_version") == ("sonarly-mock", SCHEMA_VERSION)
    second.drop_schema()
    second.close()


def test_replicas_starting_together_create_the_layout_once(pg_url, schema):
    errors: list[BaseException] = []

    def start() -> None:
        try:
            open_store(pg_url, schema=schema, pool_size=1).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    store = PostgresStore(pg_url, schema=schema, pool_size=1)
    with store.reading() as tx:
        assert tx.scalar("SELECT COUNT(*) FROM schema_version") == 1
    store.drop_schema()
    store.close()


def test_a_newer_layout_is_refused_in_one_line(pg_url, schema):
    store = PostgresStore(pg_url, schema=schema, pool_size=1)
    with store.transaction() as tx:
        tx.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    with pytest.raises(StateFileError) as refused:
        PostgresStore(pg_url, schema=schema, pool_size=1)
    message = str(refused.value)
    assert f"layout version {SCHEMA_VERSION + 1}, newer than this mock's ({SCHEMA_VERSION})" in message
    assert "\n" not in message
    store.drop_schema()
    store.close()


def test_tables_that_are_not_the_mocks_are_refused_and_left_alone(pg_url, schema):
    with psycopg.connect(pg_url, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
        connection.execute(f'CREATE TABLE "{schema}".invoices (id int, total numeric)')
    with pytest.raises(StateFileError, match=r"holds tables that are not this mock's \(invoices\)"):
        PostgresStore(pg_url, schema=schema, pool_size=1)
    with psycopg.connect(pg_url, autocommit=True) as connection:
        assert connection.execute(f'SELECT COUNT(*) FROM "{schema}".invoices').fetchone() == (0,)
        connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def test_an_unreachable_database_is_one_line_at_start():
    with pytest.raises(StateFileError) as refused:
        open_store("postgresql://mock:s3cret@127.0.0.1:9/mock", timeout=1.0)
    message = str(refused.value)
    assert message.startswith("cannot use the database postgresql://mock:***@127.0.0.1:9/mock")
    assert "s3cret" not in message


@contextmanager
def holding(store: PostgresStore, session: str) -> Iterator[None]:
    """Another thread holds a transaction of `session` open (its lock taken) for the length of the block."""
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with store.transaction(session):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(10), "the holder never got the lock"
        yield
    finally:
        release.set()
        holder.join()


def test_two_sessions_never_wait_on_each_other(pg_store):
    """A transaction holding session a's lock delays another of a, never one of b."""
    waited: list[float] = []

    def use_a() -> None:
        began = time.monotonic()
        with pg_store.transaction("a"):
            waited.append(time.monotonic() - began)

    with holding(pg_store, "a"):
        started = time.monotonic()
        with pg_store.transaction("b") as tx:
            tx.session_exists("b")
        assert time.monotonic() - started < 1.0, "session b waited for session a"
        other = threading.Thread(target=use_a)
        other.start()
        time.sleep(0.5)
    other.join()
    assert waited and waited[0] >= 0.4, "a second transaction of session a did not wait for the first"


def test_a_lost_database_is_a_503_then_heals_by_itself(pg_store, pg_url):
    """Every pooled connection is killed (what a restart does to them): the next use is DatabaseUnavailable,
    a 503 with Retry-After, and once the cool-down passes the store works again without a restart."""
    with pg_store.reading() as tx:
        assert tx.session_exists("default")
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'sonarly-mock' AND datname = current_database() AND pid <> pg_backend_pid()"
        )
    with pytest.raises(DatabaseUnavailable) as lost:
        for _ in range(5):  # the pool may hand out a connection it already replaced; one of them is dead
            with pg_store.reading() as tx:
                tx.session_exists("default")
    assert lost.value.status == 503 and lost.value.code == "SERVICE_UNAVAILABLE"
    assert lost.value.headers == {"Retry-After": "1"}
    deadline = time.monotonic() + 10
    while True:
        try:
            with pg_store.reading() as tx:
                assert tx.session_exists("default")
            break
        except DatabaseUnavailable:
            assert time.monotonic() < deadline, "the store did not recover"
            time.sleep(0.2)
    assert pg_store.reachable()


def test_text_postgresql_cannot_hold_is_kept_readable(pg_store):
    outcome = queue(pg_store, {**DM, "message": "before\x00after"}, "nul-key")
    assert outcome.data["status"] in ("queued", "scheduled")
    assert [m["message"] for m in listed(pg_store)] == ["before\ufffdafter"]
    assert queue(pg_store, {**DM, "message": "before\x00after"}, "nul-key").replayed
    assert [m["idempotencyKey"] for m in listed(pg_store, GROUP)] == ["nul-key"]


def test_a_lock_wait_past_the_timeout_is_a_503_for_that_request_only(pg_url, schema):
    """A session busy for longer than --db-timeout answers its next request 503; the database is not down,
    so the other sessions go on at once (no cool-down)."""
    store = PostgresStore(pg_url, schema=schema, pool_size=4, timeout=0.5)
    try:
        with holding(store, "a"):
            with pytest.raises(DatabaseUnavailable), store.transaction("a"):
                pass
            started = time.monotonic()
            with store.transaction("b") as tx:
                tx.session_exists("b")
            assert time.monotonic() - started < 0.3, "a busy session put the whole store in its cool-down"
    finally:
        store.drop_schema()
        store.close()
