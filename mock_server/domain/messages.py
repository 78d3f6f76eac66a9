"""The book of scheduled responses: recording slots, sending what is due, and listing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from mock_server.domain.clock import to_iso
from mock_server.domain.scheduler import Slot
from mock_server.domain.tokens import new_object_id
from mock_server.storage.base import Tx
from mock_server.storage.rows_messages import MessageRow


@dataclass(slots=True)  # per request: a frozen dataclass's init costs three times a plain one's
class NewMessage:
    prospect_id: str
    channel: str
    conversation_id: str | None
    subject: str | None
    message: str
    idempotency_key: str | None


class MessageBook:
    def __init__(self, tx: Tx, session: str) -> None:
        self._tx = tx
        self._session = session

    def count_on_day(self, group_id: str, channel: str, day: date) -> int:
        return self._tx.day_count(self._session, group_id, day.isoformat(), channel)

    def record(self, group_id: str, new: NewMessage, slot: Slot) -> dict[str, Any]:
        """Store the response in its slot and return the 202 `data` the contract defines."""
        row = MessageRow(
            id=new_object_id(),
            prospect_id=new.prospect_id,
            channel=new.channel,
            conversation_id=new.conversation_id,
            subject=new.subject,
            message=new.message,
            scheduled_at=slot.at,
            sent_at=None,
            message_id=None,
            deferred=int(slot.deferred),
            idempotency_key=new.idempotency_key,
        )
        self._tx.insert_message(self._session, group_id, row)
        self._tx.took_slot(self._session, group_id, slot.at, slot.local_day.isoformat(), new.channel)
        return {
            "id": row.id,
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
        due = self._tx.due_messages(self._session, now)
        for message in due:
            conversation_id = None
            if message.channel == "inmail":
                # A sent InMail opens a chat with the prospect, in this session only (the dataset never changes).
                conversation_id = "cnv_" + new_object_id()
                self._tx.open_conversation(self._session, message.group_id, conversation_id, message.prospect_id)
            self._tx.mark_sent(self._session, message.id, new_object_id(), conversation_id)
        return len(due)

    def list(self, group_id: str, status: str | None, limit: int) -> list[dict[str, Any]]:
        return [_view(row) for row in self._tx.list_messages(self._session, group_id, status, limit)]


def _view(row: MessageRow) -> dict[str, Any]:
    status = "sent" if row.sent_at is not None else ("scheduled" if row.deferred else "queued")
    return {
        "id": row.id,
        "status": status,
        "scheduledAt": to_iso(row.scheduled_at),
        "sentAt": None if row.sent_at is None else to_iso(row.sent_at),
        "channel": row.channel,
        "prospectId": row.prospect_id,
        "conversationId": row.conversation_id,
        "messageId": row.message_id,
        "idempotencyKey": row.idempotency_key,
        "deferred": bool(row.deferred),
        "message": row.message,
        "subject": row.subject,
    }
