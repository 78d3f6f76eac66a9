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
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from mock_server.domain.clock import from_iso, to_iso
from mock_server.domain.redaction import bound, redact_keys

KEEP_AUTHENTICATED: Final = 1000
KEEP_UNAUTHENTICATED: Final = 200
# A ring is trimmed back to its KEEP every TRIM_EVERY entries: trimming walks KEEP index entries (about
# 60 µs for 1000), too much for every request, so a ring holds at most KEEP + TRIM_EVERY - 1 entries.
TRIM_EVERY: Final = 32
MAX_PATH_CHARS: Final = 2048
MAX_KEY_CHARS: Final = 256
MAX_BODY_CHARS: Final = 8192
MAX_SEQ: Final = 2**63 - 1  # SQLite's largest integer: a larger `since` means "after everything"

# The table is this module's; the store creates it with the rest of the schema.
JOURNAL_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, session TEXT NOT NULL, authenticated INTEGER NOT NULL,
    ring_position INTEGER NOT NULL, at REAL NOT NULL, mock_time REAL, method TEXT NOT NULL, path TEXT NOT NULL,
    status INTEGER, code TEXT, fault INTEGER, duration_ms REAL NOT NULL, trace_id TEXT NOT NULL,
    idempotency_key TEXT, api_key TEXT, request_body TEXT, response_body TEXT);
CREATE INDEX IF NOT EXISTS journal_by_ring ON journal (session, authenticated, seq);
"""
# One index serves both the per-ring trim of every write and the reads (a session holds at most
# KEEP_AUTHENTICATED + KEEP_UNAUTHENTICATED rows, so sorting them by seq is cheap); a second index would
# cost every request's write.

_COLUMNS: Final = (
    "seq, at, mock_time, method, path, status, code, fault, duration_ms, trace_id, idempotency_key, api_key, "
    "request_body, response_body"
)
_STATUS_FILTER: Final = re.compile(r"([1-5])(?:([0-9]{2})|[xX]{2})")


@dataclass(frozen=True)
class Body:
    """The first bytes of a body, as the recorder kept them, and the size of the whole body in bytes."""

    head: bytes
    size: int


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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


def record(conn: sqlite3.Connection, session: str, entry: JournalEntry, secrets: Iterable[str] = ()) -> None:
    """Append the entry (bounded, `secrets` and key-shaped values masked); every TRIM_EVERY entries of its
    ring, trim the ring back to its newest KEEP. The position in the ring is counted per ring, so sessions
    interleaving their requests in any pattern still trim on time."""
    hidden, ring = tuple(secrets), int(entry.authenticated)
    newest_in_ring = conn.execute(
        "SELECT ring_position FROM journal WHERE session = ? AND authenticated = ? ORDER BY seq DESC LIMIT 1",
        (session, ring),
    ).fetchone()
    position = 1 if newest_in_ring is None else newest_in_ring[0] + 1
    conn.execute(
        "INSERT INTO journal (session, authenticated, ring_position, at, mock_time, method, path, status, code, "
        "fault, duration_ms, trace_id, idempotency_key, api_key, request_body, response_body) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            session,
            ring,
            position,
            entry.at,
            entry.mock_time,
            entry.method[:16],
            bound(redact_keys(entry.path, hidden), MAX_PATH_CHARS),
            entry.status,
            None if entry.code is None else entry.code[:64],
            entry.fault,
            entry.duration_ms,
            entry.trace_id,
            None if entry.idempotency_key is None else bound(redact_keys(entry.idempotency_key, hidden), MAX_KEY_CHARS),
            entry.api_key_name,
            stored_body(entry.request_body, hidden),
            stored_body(entry.response_body, hidden),
        ),
    )
    if position % TRIM_EVERY == 0:
        conn.execute(
            "DELETE FROM journal WHERE session = ? AND authenticated = ? AND seq <= (SELECT seq FROM journal "
            "WHERE session = ? AND authenticated = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)",
            (session, ring, session, ring, KEEP_AUTHENTICATED if ring else KEEP_UNAUTHENTICATED),
        )


def stored_body(body: Body | None, secrets: tuple[str, ...] = ()) -> str | None:
    """The body as text, keys masked, at most MAX_BODY_CHARS and a marker naming how many bytes were cut."""
    if body is None or body.size == 0:
        return None
    text = redact_keys(body.head.decode("utf-8", errors="replace"), secrets)
    kept = text[:MAX_BODY_CHARS]
    cut = body.size - len(body.head) + len(text[MAX_BODY_CHARS:].encode("utf-8", errors="replace"))
    return kept if cut <= 0 else f"{kept}…[truncated {cut} bytes]"


def newest(
    conn: sqlite3.Connection, session: str, limit: int, wanted: JournalFilter | None = None
) -> list[dict[str, Any]]:
    """Up to `limit` matching entries, newest first; with a starting point, the `limit` right after it."""
    wanted = wanted or JournalFilter()
    clauses, params = _where(session, wanted)
    order = "ASC" if wanted.resumes else "DESC"
    # Only fixed fragments are joined into the statement; every value is a parameter.
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM journal WHERE {' AND '.join(clauses)} ORDER BY seq {order} LIMIT ?",
        (*params, limit),
    ).fetchall()
    if wanted.resumes:
        rows.reverse()
    return [_shown(row) for row in rows]


def _where(session: str, wanted: JournalFilter) -> tuple[list[str], list[Any]]:
    clauses: list[str] = ["session = ?"]
    params: list[Any] = [session]
    if wanted.status is not None:
        clauses.append("status BETWEEN ? AND ?")
        params.extend(wanted.status)
    if wanted.code is not None:
        clauses.append("code = ?")
        params.append(wanted.code)
    if wanted.path_prefix is not None:
        clauses.append("substr(path, 1, ?) = ?")
        params.extend((len(wanted.path_prefix), wanted.path_prefix))
    if wanted.idempotency_key is not None:
        clauses.append("idempotency_key = ?")
        params.append(wanted.idempotency_key)
    if wanted.after_seq is not None:
        clauses.append("seq > ?")
        params.append(wanted.after_seq)
    if wanted.since_at is not None:
        # To the millisecond, as `at` is shown: the `at` of an entry, given back, includes that entry.
        clauses.append("round(at * 1000) >= ?")
        params.append(round(wanted.since_at * 1000))
    return clauses, params


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
    """A JSON body comes back as JSON (easier to read and to filter with jq); anything else as its text."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text
