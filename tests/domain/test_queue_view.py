"""Tx.queue_view, the one read that opens every queued response.

Each read it replaces stays a named operation of its own (`session`, `bound_key`, ...); these tests hold the
combined read to what those give, on both engines, so the operation decides the same from either.
"""

from __future__ import annotations

from mock_server.storage.rows_messages import BoundKey

from .helpers import DM, GROUP, SESSION, queue

KEY = "view-key-1"


def test_a_missing_session_has_no_view(store):
    with store.transaction() as tx:
        assert tx.queue_view("nobody", GROUP, KEY) is None


def test_the_view_reads_what_the_separate_statements_read(store):
    queue(store, DM, key=KEY)
    with store.transaction() as tx:
        view = tx.queue_view(SESSION, GROUP, KEY)
        assert view is not None
        slot = tx.list_messages(SESSION, GROUP, None, 10)[0].scheduled_at
        assert (view.dataset, view.clock_offset, view.clock_frozen_at) == tuple(tx.session(SESSION))
        assert view.last_slot == slot
        assert view.next_due == slot  # unsent: due at its slot
        assert view.bound == tx.bound_key(SESSION, GROUP, KEY)
        assert isinstance(view.bound, BoundKey)


def test_without_a_key_or_messages_the_view_has_none_of_them(store):
    with store.transaction() as tx:
        tx.insert_session("fresh", 0.0)
        view = tx.queue_view("fresh", GROUP, None)
        assert view is not None
        assert (view.next_due, view.last_slot, view.bound) == (None, None, None)


def test_queueing_in_a_session_not_created_yet_creates_it_first(store):
    """The opening read finds no session: it is created (on the base dataset), read again, and the response kept.
    Its clock is the real one, so the slot may be now or later: only that it was scheduled is asserted."""
    outcome = queue(store, DM, key=KEY, session="brand-new")
    assert outcome.data["status"] in {"queued", "scheduled"}
    with store.transaction() as tx:
        assert tx.session_exists("brand-new")
        assert tx.bound_key("brand-new", GROUP, KEY) is not None
        assert [m.id for m in tx.list_messages("brand-new", GROUP, None, 10)] == [outcome.data["id"]]
