"""Named operations on sessions, the startup configuration and the content-addressed datasets."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from mock_server.storage.executor import SESSION_TABLES, Statements

SIZE_TABLES = {
    "messages": "messages",
    "idempotencyKeys": "idempotency_keys",
    "journalEntries": "journal",
    "faults": "faults",
}
"""What `GET /__mock/sessions` counts per session: label shown -> table."""


class Startup(NamedTuple):
    base_dataset: str
    max_sessions: int
    idle_seconds: float | None


class SessionRow(NamedTuple):
    dataset: str
    clock_offset: float
    clock_frozen_at: float | None


class ListedSession(NamedTuple):
    name: str
    dataset: str
    created: float
    last_used: float


DATASET_OR_BASE = (
    "COALESCE((SELECT dataset FROM sessions WHERE name = ?), (SELECT base_dataset FROM startup WHERE id = 1))"
)
"""The dataset a session runs on, or the base dataset for one not created yet (one `?`: the session's name)."""


class SessionRows(Statements):
    # -- datasets: immutable documents, shared by every session whose fixtures have the same content
    def put_dataset(self, dataset_id: str, document: str) -> None:
        self.execute(
            "INSERT INTO datasets (id, document) VALUES (?, ?) ON CONFLICT (id) DO NOTHING", (dataset_id, document)
        )

    def dataset_document(self, dataset_id: str) -> str | None:
        return self.scalar("SELECT document FROM datasets WHERE id = ?", (dataset_id,))

    def collect_dataset(self, dataset_id: str) -> None:
        """Delete the dataset if neither a session nor the startup configuration points at it."""
        self.execute(
            "DELETE FROM datasets WHERE id = ? AND NOT EXISTS (SELECT 1 FROM sessions WHERE dataset = ?) "
            "AND NOT EXISTS (SELECT 1 FROM startup WHERE base_dataset = ?)",
            (dataset_id, dataset_id, dataset_id),
        )

    # -- startup: what new sessions start from, and the limits every replica applies
    def startup(self) -> Startup:
        row = self.one("SELECT base_dataset, max_sessions, idle_seconds FROM startup WHERE id = 1")
        return Startup(str(row[0]), int(row[1]), None if row[2] is None else float(row[2]))

    def startup_dataset(self) -> str | None:
        return self.scalar("SELECT base_dataset FROM startup WHERE id = 1")

    def set_startup(self, base_dataset: str, max_sessions: int, idle_seconds: float | None) -> None:
        self.execute(
            "INSERT INTO startup (id, base_dataset, max_sessions, idle_seconds) VALUES (1, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET base_dataset = excluded.base_dataset, "
            "max_sessions = excluded.max_sessions, idle_seconds = excluded.idle_seconds",
            (base_dataset, max_sessions, idle_seconds),
        )

    # -- sessions
    def session_exists(self, name: str) -> bool:
        return self.one("SELECT 1 FROM sessions WHERE name = ?", (name,)) is not None

    def session(self, name: str) -> SessionRow | None:
        row = self.one("SELECT dataset, clock_offset, clock_frozen_at FROM sessions WHERE name = ?", (name,))
        return None if row is None else SessionRow(*row)

    def dataset_and_faults(self, name: str) -> tuple[str, bool]:
        """`dataset_or_base` and whether the session has faults waiting, in one statement (the fast path's gate)."""
        row = self.one(f"SELECT {DATASET_OR_BASE}, EXISTS (SELECT 1 FROM faults WHERE session = ?)", (name, name))
        assert row is not None, "a SELECT without FROM returns one row"
        return str(row[0]), bool(row[1])

    def dataset_or_base(self, name: str) -> str:
        """The session's dataset id, or the base dataset's for a session that does not exist (yet)."""
        return str(self.scalar(f"SELECT {DATASET_OR_BASE}", (name,)))

    def last_used(self, name: str) -> float | None:
        return self.scalar("SELECT last_used FROM sessions WHERE name = ?", (name,))

    def set_last_used(self, name: str, now: float) -> None:
        self.execute("UPDATE sessions SET last_used = ? WHERE name = ?", (now, name))

    def insert_session(self, name: str, now: float) -> None:
        """A new session on the base dataset with the real clock (nothing if another replica just made it)."""
        self.execute(
            "INSERT INTO sessions (name, dataset, clock_offset, clock_frozen_at, created, last_used) "
            "SELECT ?, base_dataset, 0, NULL, ?, ? FROM startup WHERE id = 1 ON CONFLICT (name) DO NOTHING",
            (name, now, now),
        )

    def count_sessions(self) -> int:
        return int(self.scalar("SELECT COUNT(*) FROM sessions"))

    def idle_sessions(self, before: float, keep: str, limit: int) -> list[str]:
        """Up to `limit` sessions last used before `before`, least recently used first, never `keep`."""
        rows = self.execute(
            "SELECT name FROM sessions WHERE last_used < ? AND name != ? ORDER BY last_used LIMIT ?",
            (before, keep, limit),
        )
        return [str(row[0]) for row in rows]

    def oldest_use(self, keep: str) -> float | None:
        return self.scalar("SELECT MIN(last_used) FROM sessions WHERE name != ?", (keep,))

    def delete_session(self, name: str) -> str | None:
        """Delete the session's row; its dataset id, or None when there was no such session."""
        return self.scalar("DELETE FROM sessions WHERE name = ? RETURNING dataset", (name,))

    def clear_session(self, name: str, tables: Iterable[str] = SESSION_TABLES) -> None:
        """Delete the session's rows from each of `tables` (a subset of SESSION_TABLES)."""
        for table in tables:
            if table not in SESSION_TABLES:
                raise ValueError(f"{table} is not a session table")
            self.execute(f"DELETE FROM {table} WHERE session = ?", (name,))

    def set_dataset(self, name: str, dataset_id: str) -> None:
        self.execute("UPDATE sessions SET dataset = ? WHERE name = ?", (dataset_id, name))

    def write_clock(self, name: str, offset: float, frozen_at: float | None) -> None:
        self.execute(
            "UPDATE sessions SET clock_offset = ?, clock_frozen_at = ? WHERE name = ?", (offset, frozen_at, name)
        )

    def listed_sessions(self) -> list[ListedSession]:
        rows = self.execute("SELECT name, dataset, created, last_used FROM sessions ORDER BY name")
        return [ListedSession(*row) for row in rows]

    def session_sizes(self) -> dict[str, dict[str, int]]:
        """Rows per session of each table of SIZE_TABLES, by label, then session name."""
        sizes: dict[str, dict[str, int]] = {}
        for label, table in SIZE_TABLES.items():
            rows: Any = self.execute(f"SELECT session, COUNT(*) FROM {table} GROUP BY session")
            sizes[label] = {str(session): int(count) for session, count in rows}
        return sizes
