"""Named operations on scheduled messages, slots, day counts, opened conversations and idempotency keys.

Every hot-path statement is a lookup by primary key or a range of an index that starts with `session`, so a
session with 10^6 stored messages answers as fast as an empty one (bench/plans.py prints the plans).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from mock_server.storage.executor import Statements

MESSAGE_COLUMNS = (
    "id, prospect_id, channel, conversation_id, subject, message, scheduled_at, sent_at, message_id, "
    "deferred, idempotency_key"
)

STATUS_CONDITIONS = {
    "sent": "sent_at IS NOT NULL",
    "scheduled": "sent_at IS NULL AND deferred = 1",
    "queued": "sent_at IS NULL AND deferred = 0",
}


class MessageRow(NamedTuple):
    """A stored message, in MESSAGE_COLUMNS order."""

    id: str
    prospect_id: str
    channel: str
    conversation_id: str | None
    subject: str | None
    message: str
    scheduled_at: float
    sent_at: float | None
    message_id: str | None
    deferred: int
    idempotency_key: str | None


class DueMessage(NamedTuple):
    id: str
    group_id: str
    prospect_id: str
    channel: str


class BoundKey(NamedTuple):
    fingerprint: str
    response: str
    expires_at: float


class QueueView(NamedTuple):
    """What queueing a response reads before it decides, in one statement (each statement costs more than the
    index lookups in it): the session's dataset and clock, its earliest unsent slot (so the due messages are
    looked for only when there are some), the group's last slot, the Idempotency-Key's binding, and whether
    the session has faults waiting (the fast path hands those requests to the gate that applies them)."""

    dataset: str
    clock_offset: float
    clock_frozen_at: float | None
    next_due: float | None
    last_slot: float | None
    bound: BoundKey | None
    faults_pending: bool


class MessageRows(Statements):
    # -- the operation's opening read
    def queue_view(self, session: str, group_id: str, key: str | None) -> QueueView | None:
        """None when the session does not exist. Only the key's binding is skipped without a key."""
        row = self.one(
            "SELECT s.dataset, s.clock_offset, s.clock_frozen_at, "
            "(SELECT MIN(scheduled_at) FROM messages WHERE session = ? AND sent_at IS NULL), "
            "(SELECT last_slot FROM group_slots WHERE session = ? AND group_id = ?), "
            "k.fingerprint, k.response, k.expires_at, EXISTS (SELECT 1 FROM faults WHERE session = ?) "
            "FROM sessions AS s LEFT JOIN idempotency_keys AS k ON k.session = ? AND k.group_id = ? AND k.key = ? "
            "WHERE s.name = ?",
            (session, session, group_id, session, session, group_id, key, session),
        )
        if row is None:
            return None
        bound = None if row[5] is None else BoundKey(row[5], row[6], row[7])
        return QueueView(row[0], row[1], row[2], row[3], row[4], bound, bool(row[8]))

    # -- the scheduler's memory: each group's last slot and each local day's count per channel
    def day_count(self, session: str, group_id: str, local_day: str, channel: str) -> int:
        count = self.scalar(
            "SELECT count FROM day_counts WHERE session = ? AND group_id = ? AND local_day = ? AND channel = ?",
            (session, group_id, local_day, channel),
        )
        return 0 if count is None else int(count)

    def insert_message(self, session: str, group_id: str, row: MessageRow) -> None:
        self.execute(
            f"INSERT INTO messages (session, group_id, {MESSAGE_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (session, group_id, *row),
        )

    def took_slot(self, session: str, group_id: str, at: float, local_day: str, channel: str) -> None:
        """The group's last slot is now `at`, and its day holds one more message of the channel."""
        self.execute(
            "INSERT INTO group_slots (session, group_id, last_slot) VALUES (?, ?, ?) "
            "ON CONFLICT (session, group_id) DO UPDATE SET last_slot = excluded.last_slot",
            (session, group_id, at),
        )
        self.execute(
            "INSERT INTO day_counts (session, group_id, local_day, channel, count) VALUES (?, ?, ?, ?, 1) "
            "ON CONFLICT (session, group_id, local_day, channel) DO UPDATE SET count = day_counts.count + 1",
            (session, group_id, local_day, channel),
        )

    def due_messages(self, session: str, now: float) -> list[DueMessage]:
        rows = self.execute(
            "SELECT id, group_id, prospect_id, channel FROM messages "
            "WHERE session = ? AND sent_at IS NULL AND scheduled_at <= ? ORDER BY scheduled_at",
            (session, now),
        )
        return [DueMessage(*row) for row in rows]

    def mark_sent(self, session: str, message_id: str, sent_id: str, conversation_id: str | None) -> None:
        """Sent at its slot, with the platform's message id (and the conversation a sent InMail opened)."""
        self.execute(
            "UPDATE messages SET sent_at = scheduled_at, message_id = ?, "
            "conversation_id = COALESCE(conversation_id, ?) WHERE session = ? AND id = ?",
            (sent_id, conversation_id, session, message_id),
        )

    def list_messages(self, session: str, group_id: str, status: str | None, limit: int) -> list[MessageRow]:
        condition = STATUS_CONDITIONS.get(status or "", "1 = 1")
        rows = self.execute(
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE session = ? AND group_id = ? AND {condition} "
            "ORDER BY scheduled_at, rowid LIMIT ?",
            (session, group_id, limit),
        )
        return [MessageRow(*row) for row in rows]

    # -- conversations opened by sent InMails (the dataset itself never changes)
    def open_conversation(self, session: str, group_id: str, conversation_id: str, prospect_id: str) -> None:
        self.execute(
            "INSERT INTO opened_conversations (session, group_id, id, prospect_id) VALUES (?, ?, ?, ?)",
            (session, group_id, conversation_id, prospect_id),
        )

    def opened_conversations(self, session: str) -> list[tuple[str, str, str]]:
        """(group, prospect, conversation) of every conversation opened in the session, oldest first."""
        rows: Any = self.execute(
            "SELECT group_id, prospect_id, id FROM opened_conversations WHERE session = ? ORDER BY rowid", (session,)
        )
        return [(str(g), str(p), str(c)) for g, p, c in rows]

    def opened_with(self, session: str, group_id: str, prospect_id: str) -> tuple[str, ...]:
        rows = self.execute(
            "SELECT id FROM opened_conversations WHERE session = ? AND group_id = ? AND prospect_id = ? ORDER BY rowid",
            (session, group_id, prospect_id),
        )
        return tuple(str(row[0]) for row in rows)

    # -- idempotency keys
    def bound_key(self, session: str, group_id: str, key: str) -> BoundKey | None:
        row = self.one(
            "SELECT fingerprint, response, expires_at FROM idempotency_keys "
            "WHERE session = ? AND group_id = ? AND key = ?",
            (session, group_id, key),
        )
        return None if row is None else BoundKey(*row)

    def bind_key(self, session: str, group_id: str, key: str, bound: BoundKey) -> None:
        self.execute(
            "INSERT INTO idempotency_keys (session, group_id, key, fingerprint, response, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (session, group_id, key) DO UPDATE SET "
            "fingerprint = excluded.fingerprint, response = excluded.response, expires_at = excluded.expires_at",
            (session, group_id, key, *bound),
        )

    # -- retention: one bounded batch per kind, through an index
    def purge_keys(self, session: str, now: float, batch: int) -> int:
        return self.delete_batch("idempotency_keys", "session = ? AND expires_at <= ?", (session, now), batch)

    def purge_sent(self, session: str, sent_before: float, batch: int) -> int:
        where = "session = ? AND sent_at IS NOT NULL AND sent_at <= ?"
        return self.delete_batch("messages", where, (session, sent_before), batch)

    def purge_day_counts(self, session: str, before_day: str, batch: int) -> int:
        return self.delete_batch("day_counts", "session = ? AND local_day < ?", (session, before_day), batch)

    def delete_batch(self, table: str, where: str, params: tuple[Any, ...], batch: int) -> int:
        """Delete at most `batch` rows of `table` matching `where` (fixed fragments; values are parameters),
        picked by row identity: SQLite's `rowid` here, PostgreSQL's `ctid` in its engine."""
        return self.execute(
            f"DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM {table} WHERE {where} LIMIT ?)", (*params, batch)
        ).rowcount
