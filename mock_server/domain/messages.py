"""The book of scheduled responses: recording slots, sending what is due, and listing."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from mock_server.domain.clock import to_iso
from mock_server.domain.fixtures import schedule_from_document
from mock_server.domain.scheduler import SendingSchedule, Slot
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

    def schedule_of(self, group_id: str) -> tuple[SendingSchedule, float | None]:
        """The group's sending schedule and its previous slot (None before the first)."""
        schedule_json, last_slot = self._conn.execute(
            "SELECT schedule, last_slot FROM account_groups WHERE session = ? AND id = ?",
            (self._session, group_id),
        ).fetchone()
        return _schedule(schedule_json), last_slot

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
            "UPDATE account_groups SET last_slot = ? WHERE session = ? AND id = ?",
            (slot.at, self._session, group_id),
        )
        self._conn.execute(
            "INSERT INTO day_counts VALUES (?, ?, ?, ?, 1) ON CONFLICT (session, group_id, local_day, channel) "
            "DO UPDATE SET count = count + 1",
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
        conversation_id = "cnv_" + new_object_id()
        self._conn.execute(
            "INSERT INTO conversations VALUES (?, ?, ?, ?, (SELECT COALESCE(MAX(position), 0) + 1 "
            "FROM conversations WHERE session = ?))",
            (self._session, conversation_id, group_id, prospect_id, self._session),
        )
        return conversation_id


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


@lru_cache(maxsize=256)
def _schedule(schedule_json: str) -> SendingSchedule:
    return schedule_from_document(json.loads(schedule_json))
