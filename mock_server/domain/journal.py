"""The request journal: what each session's clients sent and got, newest first, bounded and without secrets.

Two rings per session, trimmed separately: requests that carried a valid API key (the session's real
traffic, KEEP_AUTHENTICATED) and requests that did not (KEEP_UNAUTHENTICATED). A stranger hammering a
session without a key can then only cycle the small ring; the entries a team is reading stay put. Every
stored text is bounded (a visible `…[truncated N chars]` marker says how much was cut) and scrubbed of key
values before it is written, so no size of input and no pasted key ever reaches the database.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from mock_server.domain.clock import from_iso, to_iso
from mock_server.domain.redaction import bound, redact_keys
from mock_server.storage.base import Tx
from mock_server.storage.rows_journal import JournalRow

KEEP_AUTHENTICATED: Final = 1000
KEEP_UNAUTHENTICATED: Final = 200
# A ring is trimmed back to its KEEP every TRIM_EVERY entries: trimming walks KEEP index entries (about
# 60 µs for 1000), too much for every request, so a ring holds at most KEEP + TRIM_EVERY - 1 entries.
TRIM_EVERY: Final = 32
MAX_PATH_CHARS: Final = 2048
MAX_KEY_CHARS: Final = 256
MAX_BODY_CHARS: Final = 8192
MAX_SEQ: Final = 2**63 - 1  # SQLite's largest integer: a larger `since` means "after everything"

_STATUS_FILTER: Final = re.compile(r"([1-5])(?:([0-9]{2})|[xX]{2})")


@dataclass(slots=True)  # per request: a frozen dataclass's init costs three times a plain one's
class Body:
    """The first bytes of a body, as the recorder kept them, and the size of the whole body in bytes."""

    head: bytes
    size: int


@dataclass(slots=True)  # built for every request: a plain slotted init costs a third of a frozen one
class JournalEntry:
    at: float
    method: str
    path: str
    status: int | None  # None: no response was sent (an injected dropped or reset connection)
    trace_id: str
    idempotency_key: str | None
    api_key_name: str | None
    code: str | None = None
    fault: int | None = None  # the id of the injected fault that answered this request
    duration_ms: float = 0.0
    mock_time: float | None = None
    request_body: Body | None = None
    response_body: Body | None = None

    @property
    def authenticated(self) -> bool:
        """A request is the session's own traffic when a fixture key authenticated it (a 403 included)."""
        return self.api_key_name is not None


@dataclass(frozen=True, slots=True)
class JournalFilter:
    """Which entries a reader wants; every field narrows, None means any."""

    status: tuple[int, int] | None = None
    code: str | None = None
    path_prefix: str | None = None
    idempotency_key: str | None = None
    after_seq: int | None = None
    since_at: float | None = None

    @classmethod
    def from_query(
        cls,
        status: str | None = None,
        code: str | None = None,
        path: str | None = None,
        idempotency_key: str | None = None,
        since: str | None = None,
    ) -> JournalFilter:
        """The filter a reader wrote as query parameters; ValueError names the parameter that is wrong."""
        after_seq, since_at = (None, None) if since is None else parse_since(since)
        return cls(
            status=None if status is None else parse_status(status),
            code=code,
            path_prefix=path,
            idempotency_key=idempotency_key,
            after_seq=after_seq,
            since_at=since_at,
        )

    @property
    def resumes(self) -> bool:
        """With a starting point the reader is catching up: give the entries right after it, not the newest."""
        return self.after_seq is not None or self.since_at is not None


def parse_status(text: str) -> tuple[int, int]:
    """`409` -> (409, 409), `4xx` (or `4XX`) -> (400, 499); ValueError for anything else."""
    match = _STATUS_FILTER.fullmatch(text)
    if match is None:
        raise ValueError("status: must be a status code such as 409 or a class such as 4xx")
    if match.group(2) is None:
        low = int(match.group(1)) * 100
        return low, low + 99
    return int(text), int(text)


def parse_since(text: str) -> tuple[int | None, float | None]:
    """A journal `seq` (digits: entries after it) or an ISO 8601 time (entries at or after it)."""
    if text.isascii() and text.isdigit():
        return min(int(text), MAX_SEQ), None
    try:
        return None, from_iso(text)
    except ValueError:
        raise ValueError(
            "since: must be a journal seq (an entry's `seq`) or an ISO 8601 date-time such as 2026-03-09T10:00:00Z"
        ) from None


def record(tx: Tx, session: str, entry: JournalEntry, secrets: Iterable[str] = ()) -> None:
    """Append the entry (bounded, `secrets` and key-shaped values masked); every TRIM_EVERY entries of its
    ring, trim the ring back to its newest KEEP. The position in the ring is counted per ring, so sessions
    interleaving their requests in any pattern still trim on time."""
    hidden, ring = tuple(secrets), int(entry.authenticated)
    key = entry.idempotency_key
    row = JournalRow(
        at=entry.at,
        mock_time=entry.mock_time,
        method=entry.method[:16],
        path=bound(redact_keys(entry.path, hidden), MAX_PATH_CHARS),
        status=entry.status,
        code=None if entry.code is None else entry.code[:64],
        fault=entry.fault,
        duration_ms=entry.duration_ms,
        trace_id=entry.trace_id,
        idempotency_key=None if key is None else bound(redact_keys(key, hidden), MAX_KEY_CHARS),
        api_key=entry.api_key_name,
        request_body=stored_body(entry.request_body, hidden),
        response_body=stored_body(entry.response_body, hidden),
    )
    position = tx.insert_journal(session, ring, row)
    if position % TRIM_EVERY == 0:
        tx.trim_ring(session, ring, KEEP_AUTHENTICATED if ring else KEEP_UNAUTHENTICATED)


def stored_body(body: Body | None, secrets: tuple[str, ...] = ()) -> str | None:
    """The body as text, keys masked, at most MAX_BODY_CHARS and a marker naming how many bytes were cut."""
    if body is None or body.size == 0:
        return None
    text = redact_keys(body.head.decode("utf-8", errors="replace"), secrets)
    if body.size == len(body.head) and len(text) <= MAX_BODY_CHARS:
        return text  # whole and short, as nearly every body is: nothing to cut or count
    kept = text[:MAX_BODY_CHARS]
    cut = body.size - len(body.head) + len(text[MAX_BODY_CHARS:].encode("utf-8", errors="replace"))
    return kept if cut <= 0 else f"{kept}…[truncated {cut} bytes]"


def newest(tx: Tx, session: str, limit: int, wanted: JournalFilter | None = None) -> list[dict[str, Any]]:
    """Up to `limit` matching entries, newest first; with a starting point, the `limit` right after it."""
    return [_shown(row) for row in tx.journal_entries(session, wanted or JournalFilter(), limit)]


def _shown(row: tuple[Any, ...]) -> dict[str, Any]:
    seq, at, mock_time, method, path, status, code, fault, duration, trace_id, key, api_key, request, response = row
    return {
        "seq": seq,
        "at": to_iso(at),
        "mockTime": None if mock_time is None else to_iso(mock_time),
        "method": method,
        "path": path,
        "status": status,
        "code": code,
        "fault": fault,
        "durationMs": round(duration, 2),
        "traceId": trace_id,
        "idempotencyKey": key,
        "apiKey": api_key,
        "requestBody": _as_value(request),
        "responseBody": _as_value(response),
    }


def _as_value(text: str | None) -> Any:
    """A JSON body comes back as JSON (easier to read and to filter with jq); anything else as its text, and so
    does JSON that could not be sent back as parsed: nested past Python's recursion limit, or holding a lone
    UTF-16 surrogate escape (`"\\ud800"`), which no UTF-8 response can carry."""
    if text is None:
        return None
    try:
        value = json.loads(text)
        json.dumps(value, ensure_ascii=False).encode("utf-8")  # what the journal's response will do with it
    except (ValueError, RecursionError, UnicodeEncodeError):
        return text
    return value
