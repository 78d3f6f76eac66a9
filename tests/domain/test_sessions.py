"""sessions + datasets: sessions share immutable fixtures, keep their own state, are capped and expire."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest

from mock_server.domain import sessions
from mock_server.domain.fixtures import load_fixtures, parse_fixtures
from mock_server.domain.sessions import SessionLimitReached, SessionLimits
from mock_server.storage import SESSION_TABLES, Store

from .conftest import ENGINES, new_store
from .helpers import DM, GROUP, INMAIL, SESSION, advance, queue

NOW = 1_800_000_000.0


def count(store: Store, table: str) -> int:
    with store.reading() as conn:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def other_document() -> dict:
    document = copy.deepcopy(load_fixtures().document)
    document["accountGroups"][0]["name"] = "Acme, renamed"
    return document


def test_sessions_share_one_dataset_and_creating_one_adds_one_row(store):
    datasets_before, rows_before = count(store, "datasets"), count(store, "sessions")
    with store.transaction() as conn:
        for index in range(50):
            sessions.create(conn, f"cheap-{index}", NOW)
    assert count(store, "datasets") == datasets_before
    assert count(store, "sessions") == rows_before + 50


def test_replaced_fixtures_are_one_dataset_per_content_and_go_when_unused(store):
    document = other_document()
    with store.transaction() as conn:
        for name in ("a", "b"):
            sessions.replace_fixtures(conn, name, parse_fixtures(copy.deepcopy(document)))
    assert count(store, "datasets") == 2, "two sessions with the same document share one dataset"
    with store.transaction() as conn:
        sessions.reset_session(conn, "a")
        assert sessions.fixtures_document(conn, "a") == sessions.fixtures_document(conn, sessions.DEFAULT_SESSION)
    assert count(store, "datasets") == 2, "b still uses it"
    with store.transaction() as conn:
        assert sessions.drop_session(conn, "b")
    assert count(store, "datasets") == 1, "nobody uses it any more"


def test_an_inmail_opens_its_conversation_in_its_session_only(store):
    queue(store, INMAIL)
    advance(store, 3600)
    queue(store, DM)  # sends what is due
    with store.transaction() as conn:
        mine = sessions.fixtures_document(conn, SESSION)
        sessions.ensure_session(conn, "other")
        theirs = sessions.fixtures_document(conn, "other")

    def grace(document: dict) -> dict:
        return next(p for g in document["accountGroups"] for p in g["prospects"] if p["id"] == INMAIL["prospectId"])

    assert len(grace(mine)["conversations"]) == 1
    assert grace(theirs)["conversations"] == []


def test_dropping_a_session_deletes_every_row_it_had(store):
    queue(store, DM, key="k")
    with store.transaction() as conn:
        assert sessions.drop_session(conn, SESSION)
        assert not sessions.drop_session(conn, SESSION)
        for table in SESSION_TABLES:
            assert conn.execute(f"SELECT COUNT(*) FROM {table} WHERE session = ?", (SESSION,)).fetchone()[0] == 0
        assert not conn.session_exists(SESSION)


@pytest.fixture(params=ENGINES)
def capped_store(request: pytest.FixtureRequest) -> Iterator[Callable[[int, float | None], Store]]:
    """A factory of stores (of the engine the test runs on) with the demo fixtures and these session limits;
    each is closed (and on PostgreSQL dropped) after the test."""
    with ExitStack() as stores:

        def make(max_sessions: int, idle: float | None) -> Store:
            store = stores.enter_context(new_store(request))
            with store.transaction() as conn:
                sessions.install_base_fixtures(conn, load_fixtures(), SessionLimits.of(max_sessions, idle))
            return store

        yield make


def test_past_the_cap_creating_a_session_is_refused_until_one_expires(capped_store):
    store = capped_store(3, 100)
    with store.transaction() as conn:
        sessions.touch(conn, "one", NOW)
        sessions.touch(conn, "two", NOW + 10)
    with store.transaction() as conn, pytest.raises(SessionLimitReached) as refused:
        sessions.touch(conn, "three", NOW + 40)
    assert (refused.value.status, refused.value.code) == (429, "RATE_LIMITED")
    assert refused.value.headers == {"Retry-After": "60"}, "`one` expires 100 s after NOW"
    with store.transaction() as conn:
        assert sessions.touch(conn, "three", NOW + 101) == ["one"]
        assert {s["name"] for s in sessions.list_sessions(conn)} == {"default", "two", "three"}


def test_idle_sessions_expire_but_default_never_does(capped_store):
    store = capped_store(10, 5)
    with store.transaction() as conn:
        sessions.touch(conn, sessions.DEFAULT_SESSION, NOW)
        sessions.touch(conn, "idle", NOW)
        sessions.touch(conn, "used", NOW)
        sessions.touch(conn, "used", NOW + 4)
        assert sessions.expire_idle(conn, NOW + 6) == ["idle"]
        assert conn.session_exists(sessions.DEFAULT_SESSION)
        assert conn.session_exists("used")


def test_a_session_idle_past_the_limit_is_renewed_not_revived(capped_store):
    store = capped_store(10, 5)
    queue(store, DM, key="k", session="stale")
    with store.transaction() as conn:
        conn.execute("UPDATE sessions SET last_used = ? WHERE name = 'stale'", (NOW,))
        assert sessions.touch(conn, "stale", NOW + 60) == ["stale"]
    assert not queue(store, DM, key="k", session="stale").replayed


@pytest.mark.parametrize("idle", [None, 0, -1, float("inf")])
def test_no_idle_limit_means_never_expire(idle):
    assert SessionLimits.of(5, idle).idle_seconds is None


def test_an_unknown_session_reads_the_base_dataset_without_being_created(store):
    with store.reading() as conn:
        assert GROUP in sessions.dataset_of(conn, "not-yet").groups
        assert not conn.session_exists("not-yet")
