"""Queueing a response: the contract's steps after the request's shape is known to be valid.

Idempotency, then 422 (unknown data), then 409 (prospect state), then the scheduler; all in one
transaction, so a retry or a concurrent duplicate either replays or conflicts, never schedules twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mock_server.domain.clock import ClockState
from mock_server.domain.errors import InmailNotEligible, ProspectNotConnected, UnknownData
from mock_server.domain.idempotency import DEFAULT_CHANNEL, IdempotencyStore, fingerprint
from mock_server.domain.messages import MessageBook, NewMessage
from mock_server.domain.retention import Retention, purge
from mock_server.domain.retention import due as retention_due
from mock_server.domain.scheduler import next_slot
from mock_server.domain.sessions import OpenSession, open_session
from mock_server.storage.base import Store, Tx
from mock_server.storage.rows_messages import QueueView

DEFAULT_RETENTION = Retention()


@dataclass(slots=True)  # per request: a frozen dataclass's init costs three times a plain one's
class Outcome:
    data: dict[str, Any]
    replayed: bool
    clock: ClockState
    """The session's clock as this request saw it (the journal dates its entry by it)."""


@dataclass(slots=True)  # per request: a frozen dataclass's init costs three times a plain one's
class ProspectState:
    connected: bool
    inmail_eligible: bool
    conversations: tuple[str, ...]


def queue_response(
    store: Store,
    session: str,
    group_id: str,
    body: dict[str, Any],
    idempotency_key: str | None,
    retention: Retention = DEFAULT_RETENTION,
    also: Callable[[Tx, Outcome], None] | None = None,
    first: Callable[[OpenSession, QueueView], None] | None = None,
) -> Outcome:
    """Schedule the response, or replay the one already scheduled under the same key and body.

    `first` runs in the transaction as soon as the session is open and read, before anything is decided: what
    must hold before the request is the domain's (the fast path's caller and body checks, which read the
    session's dataset and faults from that same statement); raising there rolls everything back. `also` runs in
    the same transaction with the outcome, for what must commit with it (the HTTP layer's journal entry of the
    202): both are stored, or neither."""
    with store.transaction(session) as tx:
        outcome = _queue(tx, session, group_id, body, idempotency_key, retention, first)
        if also is not None:
            also(tx, outcome)
        return outcome


def _queue(
    tx: Tx,
    session: str,
    group_id: str,
    body: dict[str, Any],
    idempotency_key: str | None,
    retention: Retention,
    first: Callable[[OpenSession, QueueView], None] | None,
) -> Outcome:
    opened, view = open_session(tx, session, group_id, idempotency_key)
    if first is not None:
        first(opened, view)
    now = opened.clock.now()
    book = MessageBook(tx, session)
    if view.next_due is not None and view.next_due <= now:
        book.send_due(now)
    if retention_due():
        purge(tx, session, now, retention)
    keys = IdempotencyStore(tx, session, group_id, None if idempotency_key is None else (idempotency_key, view.bound))
    body_fingerprint = fingerprint(body)
    if idempotency_key is not None:
        replay = keys.lookup(idempotency_key, body_fingerprint, now)
        if replay is not None:
            return Outcome(replay.data, replayed=True, clock=opened.clock)
    new = _checked_message(tx, opened, group_id, body, idempotency_key)
    slot = next_slot(
        opened.dataset.groups[group_id].schedule,
        now,
        new.channel,
        view.last_slot,
        lambda day: book.count_on_day(group_id, new.channel, day),
    )
    data = book.record(group_id, new, slot)
    if idempotency_key is not None:
        keys.bind(idempotency_key, body_fingerprint, data, now)
    return Outcome(data, replayed=False, clock=opened.clock)


def _checked_message(tx: Tx, opened: OpenSession, group_id: str, body: dict[str, Any], key: str | None) -> NewMessage:
    """Apply the rules that need stored data: 422 for unknown ids, then 409 for the prospect's state."""
    channel = body.get("channel", DEFAULT_CHANNEL)
    prospect_id = body["prospectId"]
    conversation_id = body.get("conversationId")
    prospect = _prospect(tx, opened, group_id, prospect_id, conversation_id)
    if conversation_id is not None and conversation_id not in prospect.conversations:
        raise UnknownData(
            f"conversationId: no conversation {conversation_id} with prospect {prospect_id} in account group {group_id}"
        )
    if channel == "inmail":
        if prospect.conversations or not prospect.inmail_eligible:
            raise InmailNotEligible(
                f"prospectId: {prospect_id} already has a conversation or is not eligible for InMail; "
                "use direct_message"
            )
        return NewMessage(prospect_id, channel, None, body.get("subject"), body["message"], key)
    if not prospect.connected or not prospect.conversations:
        raise ProspectNotConnected(f"prospectId: {prospect_id} is not connected or has no existing chat")
    chosen = conversation_id or prospect.conversations[0]
    return NewMessage(prospect_id, channel, chosen, None, body["message"], key)


def _prospect(
    tx: Tx, session: OpenSession, group_id: str, prospect_id: str, conversation_id: str | None
) -> ProspectState:
    """The prospect in the session's dataset, with the conversations the session's sent InMails opened. Those are
    read only when they can change the answer: the dataset's conversations come first, and when there are some and
    `conversation_id` is absent or one of them, they decide alone (a statement fewer on most requests)."""
    prospect = session.dataset.prospects.get((group_id, prospect_id))
    if prospect is None:
        raise UnknownData(f"prospectId: no prospect {prospect_id} in account group {group_id}")
    conversations = prospect.conversations
    if not conversations or (conversation_id is not None and conversation_id not in conversations):
        conversations = conversations + tx.opened_with(session.name, group_id, prospect_id)
    return ProspectState(prospect.connected, prospect.inmail_eligible, conversations)
