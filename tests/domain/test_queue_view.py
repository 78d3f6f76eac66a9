"""Tx.queue_view, the one read that opens every queued response, and the day counter built on it.

Each read it replaces stays a named operation of its own (`bound_key`, `day_count`, ...); these tests hold the
combined read to what those give, on both engines, so the scheduler decides the same from either.
"""

from __future__ import annotations

from datetime import date

from mock_server.domain.messages import MessageBook
from mock_server.storage.rows_messages import BoundKey

from .helpers import DM, GROUP, SESSION, queue

KEY = "view-key-1"


def test_a_missing_session_has_no_view(store):
    with store.transaction() as tx:
        assert tx.queue_view("nobody", GROUP, KEY, "direct_message") is None


def test_the_view_reads_what_the_separate_statements_read(store):
    queue(store, DM, key=KEY)
    with store.transaction() as tx:
        view = tx.queue_view(SESSION, GROUP, KEY, "direct_message")
        assert view is not None
        slot = tx.list_messages(SESSION, GROUP, None, 10)[0].scheduled_at
        assert (view.clock_offset, view.clock_frozen_at) == (tx.session(SESSION)[1], tx.session(SESSION)[2])
        assert view.last_slot == slot
        assert view.next_due == slot  # unsent: due at its slot
        assert view.bound == tx.bound_key(SESSION, GROUP, KEY)
        assert isinstance(view.bound, BoundKey)
        assert view.latest_count == tx.day_count(SESSION, GROUP, view.latest_day or "", "direct_message") == 1


def test_without_a_key_or_messages_the_view_has_none_of_them(store):
    with store.transaction() as tx:
        tx.insert_session("fresh", 0.0)
        view = tx.queue_view("fresh", GROUP, None, "direct_message")
        assert view is not None
        assert (view.next_due, view.last_slot, view.bound, view.latest_day, view.latest_count) == (None,) * 5


def test_the_latest_day_is_the_channels_own(store):
    with store.transaction() as tx:
        tx.insert_session("fresh", 0.0)
        tx.took_slot("fresh", GROUP, 1.0, "2026-03-09", "direct_message")
        tx.took_slot("fresh", GROUP, 2.0, "2026-03-10", "direct_message")
        tx.took_slot("fresh", GROUP, 3.0, "2026-03-11", "inmail")
        view = tx.queue_view("fresh", GROUP, None, "direct_message")
        assert view is not None
        assert (view.latest_day, view.latest_count) == ("2026-03-10", 1)


def test_the_day_counter_answers_every_day_as_the_day_counts_do(store):
    """A later day than the latest counted holds none, that day its count, an earlier one is read."""
    with store.transaction() as tx:
        tx.insert_session("fresh", 0.0)
        for day, times in (("2026-03-09", 3), ("2026-03-11", 2)):
            for _ in range(times):
                tx.took_slot("fresh", GROUP, 1.0, day, "direct_message")
        tx.took_slot("fresh", GROUP, 1.0, "2026-03-12", "inmail")
        view = tx.queue_view("fresh", GROUP, None, "direct_message")
        assert view is not None
        count = MessageBook(tx, "fresh").day_counter(GROUP, "direct_message", (view.latest_day, view.latest_count))
        for day in (date(2026, 3, d) for d in range(8, 14)):
            assert count(day) == tx.day_count("fresh", GROUP, day.isoformat(), "direct_message"), day


def test_with_no_day_counted_every_day_holds_none(conn):
    count = MessageBook(conn, SESSION).day_counter(GROUP, "direct_message", (None, None))
    assert count(date(2026, 3, 9)) == 0
