"""retention.purge: expired keys, long-sent messages and past day counts go; everything still in use stays."""

from __future__ import annotations

from mock_server.domain.idempotency import RETENTION_SECONDS
from mock_server.domain.retention import Retention, purge
from mock_server.domain.sessions import read_clock

from .helpers import DM, INMAIL, SESSION, advance, freeze, listed, local, queue, send_due

HOUR = 3600.0


def purge_now(store, sent_seconds=HOUR):
    with store.transaction() as conn:
        return purge(conn, SESSION, read_clock(conn, SESSION).now(), Retention(sent_seconds=sent_seconds))


def rows(store, table):
    with store.transaction() as conn:
        return conn.execute(f"SELECT COUNT(*) FROM {table} WHERE session = ?", (SESSION,)).fetchone()[0]


def test_a_sent_message_stays_listed_within_the_retention(store):
    queue(store, DM)
    advance(store, 1)
    send_due(store)
    advance(store, HOUR - 10)
    purge_now(store)
    assert [m["status"] for m in listed(store)] == ["sent"]


def test_a_sent_message_is_purged_after_the_retention(store):
    queue(store, DM)
    advance(store, 1)
    send_due(store)
    advance(store, HOUR)
    purge_now(store)
    assert listed(store) == []


def test_an_unsent_message_is_never_purged(store):
    freeze(store, local(2024, 6, 12, 7))
    queue(store, DM)
    queue(store, INMAIL)
    advance(store, HOUR)
    purge_now(store, sent_seconds=0)
    assert [m["status"] for m in listed(store)] == ["scheduled", "scheduled"]


def test_an_expired_key_is_deleted_and_a_live_one_kept(store):
    queue(store, DM, "old")
    advance(store, RETENTION_SECONDS - 60)
    queue(store, DM, "young")
    advance(store, 60)
    purge_now(store, sent_seconds=1e9)
    with store.transaction() as conn:
        kept = [r[0] for r in conn.execute("SELECT key FROM idempotency_keys WHERE session = ?", (SESSION,))]
    assert kept == ["young"]


def test_day_counts_older_than_two_days_are_deleted(store):
    queue(store, DM)
    assert rows(store, "day_counts") == 1
    advance(store, 3 * 24 * HOUR)
    purge_now(store, sent_seconds=1e9)
    assert rows(store, "day_counts") == 0


def test_todays_day_counts_are_kept(store):
    queue(store, DM)
    advance(store, HOUR)
    purge_now(store, sent_seconds=1e9)
    assert rows(store, "day_counts") == 1
