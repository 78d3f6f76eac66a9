"""The book of scheduled responses: recording slots, sending what is due, and listing."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date
from typing import Any

from mock_server.domain.clock import to_iso
from mock_server.domain.scheduler import Slot
from mock_server.domain.tokens import new_object_id

COLUMNS = (
    "id, prospect_id, channel, conversation_id, subject, message, scheduled_at, sent_at, message_id, "
    "deferred, idempotency_key"
)

STATUS_CONDITIONS = {
    "sent": "sent_at IS NOT NULL",
    "scheduled": "sent_at IS NULL AND deferred = 1",
    "queued": "sent_at IS NULL AND deferred = 0",
}


@dataclass(frozen=True)
class NewMessage:
    prospect_id: str
    channel: str
    conversation_id: str | None
    subject: str | None
    message: str
    idempotency_key: str | None


class MessageBook:
    def __init__(self, conn: sqlite3.Connection, session: str) -> None:
        self._conn = conn
        self._session = session

    def last_slot(self, group_id: str) -> float | None:
        """The group's previous slot in this session (None before the first)."""
        row = self._conn.execute(
            "SELECT last_slot FROM group_slots WHERE session = ? AND group_id = ?", (self._session, group_id)
        ).fetchone()
        return None if row is None else float(row[0])

    def count_on_day(self, group_id: str, channel: str, day: date) -> int:
        row = self._conn.execute(
            "SELECT count FROM day_counts WHERE session = ? AND group_id = ? AND local_day = ? AND channel = ?",
            (self._session, group_id, day.isoformat(), channel),
        ).fetchone()
        return 0 if row is None else row[0]

    def record(self, group_id: str, new: NewMessage, slot: Slot) -> dict[str, Any]:
        """Store the response in its slot and return the 202 `data` the contract defines."""
        message_id = new_object_id()
        self._conn.execute(
            f"INSERT INTO messages (session, group_id, {COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?)",
            (
                self._session,
                group_id,
                message_id,
                new.prospect_id,
                new.channel,
                new.conversation_id,
                new.subject,
                new.message,
                slot.at,
                int(slot.deferred),
                new.idempotency_key,
            ),
        )
        self._conn.execute(
            "INSERT INTO group_slots (session, group_id, last_slot) VALUES (?, ?, ?) "
            "ON CONFLICT (session, group_id) DO UPDATE SET last_slot = excluded.last_slot",
            (self._session, group_id, slot.at),
        )
        self._conn.execute(
            "INSERT INTO day_counts (session, group_id, local_day, channel, count) VALUES (?, ?, ?, ?, 1) "
            "ON CONFLICT (session, group_id, local_day, channel) DO UPDATE SET count = count + 1",
            (self._session, group_id, slot.local_day.isoformat(), new.channel),
        )
        return {
            "id": message_id,
            "status": slot.status,
            "scheduledAt": to_iso(slot.at),
            "sentAt": None,
            "channel": new.channel,
            "conversationId": new.conversation_id,
            "messageId": None,
            "idempotencyKey": new.idempotency_key,
            "deferred": slot.deferred,
        }

    def send_due(self, now: float) -> int:
        """Send every response whose slot the clock has reached; an InMail opens the prospect's chat."""
        due = self._conn.execute(
            "SELECT id, group_id, prospect_id, channel FROM messages "
            "WHERE session = ? AND sent_at IS NULL AND scheduled_at <= ? ORDER BY scheduled_at",
            (self._session, now),
        ).fetchall()
        for message_id, group_id, prospect_id, channel in due:
            conversation_id = self._open_conversation(group_id, prospect_id) if channel == "inmail" else None
            self._conn.execute(
                "UPDATE messages SET sent_at = scheduled_at, message_id = ?, "
                "conversation_id = COALESCE(conversation_id, ?) WHERE session = ? AND id = ?",
                (new_object_id(), conversation_id, self._session, message_id),
            )
        return len(due)

    def list(self, group_id: str, status: str | None, limit: int) -> list[dict[str, Any]]:
        condition = STATUS_CONDITIONS.get(status or "", "1 = 1")
        rows = self._conn.execute(
            f"SELECT {COLUMNS} FROM messages WHERE session = ? AND group_id = ? AND {condition} "
            "ORDER BY scheduled_at, rowid LIMIT ?",
            (self._session, group_id, limit),
        )
        return [_view(row) for row in rows]

    def _open_conversation(self, group_id: str, prospect_id: str) -> str:
        """A sent InMail opens a chat with the prospect, in this session only (the dataset never changes)."""
        conversation_id = "cnv_" + new_object_id()
        self._conn.execute(
            "INSERT INTO opened_conversations (session, group_id, id, prospect_id) VALUES (?, ?, ?, ?)",
            (self._session, group_id, conversation_id, prospect_id),
        )
        return conversation_id


def opened_conversations(conn: sqlite3.Connection, session: str) -> dict[tuple[str, str], list[str]]:
    """Conversations the session's sent InMails opened, by (group, prospect), oldest first."""
    opened: dict[tuple[str, str], list[str]] = {}
    for group_id, prospect_id, conversation_id in conn.execute(
        "SELECT group_id, prospect_id, id FROM opened_conversations WHERE session = ? ORDER BY rowid", (session,)
    ):
        opened.setdefault((group_id, prospect_id), []).append(conversation_id)
    return opened


def opened_with(conn: sqlite3.Connection, session: str, group_id: str, prospect_id: str) -> tuple[str, ...]:
    """Conversations the session's sent InMails opened with one prospect, oldest first."""
    return tuple(
        row[0]
        for row in conn.execute(
            "SELECT id FROM opened_conversations WHERE session = ? AND group_id = ? AND prospect_id = ? ORDER BY rowid",
            (session, group_id, prospect_id),
        )
    )


def _view(row: tuple[Any, ...]) -> dict[str, Any]:
    (
        message_id,
        prospect_id,
        channel,
        conversation_id,
        subject,
        message,
        scheduled_at,
        sent_at,
        sent_message_id,
        deferred,
        idempotency_key,
    ) = row
    status = "sent" if sent_at is not None else ("scheduled" if deferred else "queued")
    return {
        "id": message_id,
        "status": status,
        "scheduledAt": to_iso(scheduled_at),
        "sentAt": None if sent_at is None else to_iso(sent_at),
        "channel": channel,
        "prospectId": prospect_id,
        "conversationId": conversation_id,
        "messageId": sent_message_id,
        "idempotencyKey": idempotency_key,
        "deferred": bool(deferred),
        "message": message,
        "subject": subject,
    }
