"""Named operations on the request journal and the pending fault rules."""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

from mock_server.storage.executor import Statements

JOURNAL_COLUMNS = (
    "seq, at, mock_time, method, path, status, code, fault, duration_ms, trace_id, idempotency_key, api_key, "
    "request_body, response_body"
)
FAULT_COLUMNS = (
    "id, status, connection, retry_after, latency_ms, remaining, rate, seed, draws, hits, method, path_prefix"
)


class JournalRow(NamedTuple):
    """One entry as written: everything but `seq`, which the database assigns in order."""

    at: float
    mock_time: float | None
    method: str
    path: str
    status: int | None
    code: str | None
    fault: int | None
    duration_ms: float
    trace_id: str
    idempotency_key: str | None
    api_key: str | None
    request_body: str | None
    response_body: str | None


class JournalQuery(Protocol):
    """Which entries a reader wants (mock_server.domain.journal.JournalFilter); None means any."""

    @property
    def status(self) -> tuple[int, int] | None: ...
    @property
    def code(self) -> str | None: ...
    @property
    def path_prefix(self) -> str | None: ...
    @property
    def idempotency_key(self) -> str | None: ...
    @property
    def after_seq(self) -> int | None: ...
    @property
    def since_at(self) -> float | None: ...
    @property
    def resumes(self) -> bool: ...


class FaultRow(NamedTuple):
    """A pending rule, in FAULT_COLUMNS order."""

    id: int
    status: int | None
    connection: str | None
    retry_after: int | None
    latency_ms: int
    remaining: int | None
    rate: float | None
    seed: int
    draws: int
    hits: int
    method: str | None
    path_prefix: str | None


class JournalRows(Statements):
    # -- journal: two rings per session (authenticated or not), each trimmed back to its newest entries
    def insert_journal(self, session: str, ring: int, row: JournalRow) -> int:
        """Append the entry at the next position of its ring, counted in the same statement; returns it."""
        position = self.scalar(
            "INSERT INTO journal (session, authenticated, ring_position, at, mock_time, method, path, status, code, "
            "fault, duration_ms, trace_id, idempotency_key, api_key, request_body, response_body) "
            "VALUES (?, ?, COALESCE((SELECT ring_position FROM journal WHERE session = ? AND authenticated = ? "
            "ORDER BY seq DESC LIMIT 1), 0) + 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ring_position",
            (session, ring, session, ring, *row),
        )
        return int(position)

    def trim_ring(self, session: str, ring: int, keep: int) -> None:
        self.execute(
            "DELETE FROM journal WHERE session = ? AND authenticated = ? AND seq <= (SELECT seq FROM journal "
            "WHERE session = ? AND authenticated = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)",
            (session, ring, session, ring, keep),
        )

    def journal_entries(self, session: str, wanted: JournalQuery, limit: int) -> list[tuple[Any, ...]]:
        """Up to `limit` matching rows (JOURNAL_COLUMNS), newest first; resuming, the `limit` right after."""
        clauses, params = _where(session, wanted)
        order = "ASC" if wanted.resumes else "DESC"
        # Only fixed fragments are joined into the statement; every value is a parameter.
        rows = self.execute(
            f"SELECT {JOURNAL_COLUMNS} FROM journal WHERE {' AND '.join(clauses)} ORDER BY seq {order} LIMIT ?",
            (*params, limit),
        ).fetchall()
        return list(reversed(rows)) if wanted.resumes else list(rows)

    # -- faults
    def count_faults(self, session: str) -> int:
        return int(self.scalar("SELECT COUNT(*) FROM faults WHERE session = ?", (session,)))

    def insert_fault(self, session: str, row: FaultRow) -> int:
        """Store a rule (its id, draws and hits are ignored: the database numbers it, and it starts unused)."""
        return int(
            self.scalar(
                "INSERT INTO faults (session, status, connection, retry_after, latency_ms, remaining, rate, seed, "
                "draws, hits, method, path_prefix) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?) RETURNING id",
                (session, *row[1:7], row.seed, row.method, row.path_prefix),
            )
        )

    def any_fault(self, session: str) -> bool:
        return self.one("SELECT 1 FROM faults WHERE session = ? LIMIT 1", (session,)) is not None

    def matching_faults(self, session: str, method: str, path: str) -> list[FaultRow]:
        """Rules with uses left whose method and path prefix match, oldest first."""
        rows = self.execute(
            f"SELECT {FAULT_COLUMNS} FROM faults WHERE session = ? AND (remaining IS NULL OR remaining > 0) "
            "AND (method IS NULL OR method = ?) AND (path_prefix IS NULL OR substr(?, 1, length(path_prefix)) = "
            "path_prefix) ORDER BY id",
            (session, method, path),
        )
        return [FaultRow(*row) for row in rows]

    def count_draw(self, fault_id: int) -> None:
        self.execute("UPDATE faults SET draws = draws + 1 WHERE id = ?", (fault_id,))

    def use_fault(self, fault_id: int) -> None:
        """One hit: counted, one use fewer, and the rule gone once it has none left."""
        self.execute("UPDATE faults SET hits = hits + 1, remaining = remaining - 1 WHERE id = ?", (fault_id,))
        self.execute("DELETE FROM faults WHERE id = ? AND remaining <= 0", (fault_id,))

    def faults(self, session: str) -> list[FaultRow]:
        return [
            FaultRow(*row)
            for row in self.execute(f"SELECT {FAULT_COLUMNS} FROM faults WHERE session = ? ORDER BY id", (session,))
        ]

    def fault(self, session: str, fault_id: int) -> FaultRow | None:
        row = self.one(f"SELECT {FAULT_COLUMNS} FROM faults WHERE session = ? AND id = ?", (session, fault_id))
        return None if row is None else FaultRow(*row)

    def delete_fault(self, session: str, fault_id: int) -> None:
        self.execute("DELETE FROM faults WHERE session = ? AND id = ?", (session, fault_id))


def _where(session: str, wanted: JournalQuery) -> tuple[list[str], list[Any]]:
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
