"""Fill one session's account group with N scheduled messages and their idempotency keys, on either engine.

Why SQL and not the store: `mock_server.storage` offers named operations of one request each (record a message,
bind a key, move the group's last slot), one transaction per request; 10^6 of them take minutes on SQLite and
far longer on PostgreSQL (a round trip each). So one real request through the mock writes a template (its
message, key, slot and day count, in the engine's own layout), and each engine's bulk `INSERT ... SELECT`
copies that template N times: message i gets its own id and key, a slot i seconds after the template's
(bench/fixtures.yaml: a 1 s gap, every day, no practical cap), and the key's stored answer names its message.
The group's last slot and its day counts are then set to what N accepted requests would have left, so the
next request is scheduled after the N messages, as it would be. PostgreSQL then gets the `VACUUM ANALYZE`
its autovacuum would give a table that grew this much.
"""

from __future__ import annotations

import http.client
import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import harness
import psycopg

FIXTURES = harness.BENCH / "fixtures.yaml"
GAP = 1.0  # bench/fixtures.yaml: minGapSeconds
SESSION, GROUP, TEMPLATE_KEY = "default", "ag_acme", "template"
BODY = {"prospectId": "prs_ada_lovelace", "message": "Thanks for the context. I can send details this afternoon."}
SCHEMA = "sonarly_mock"
DAY_EXPRESSION = {
    "sqlite": "date(scheduled_at, 'unixepoch')",
    "postgresql": "to_char(to_timestamp(scheduled_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
}


@dataclass(frozen=True)
class Filled:
    messages: int
    keys: int
    seconds: float
    size_mb: float


def serve_options(state: str, fixtures: Path) -> list[str]:
    return ["--state", state, "--data", str(fixtures), "--log-level", "warning"]


def seed_template(state: str, fixtures: Path, log: Path) -> None:
    """One accepted request through a real `serve` on `state`: the schema, the session and the template rows."""
    server = harness.start_mock("template", serve_options(state, fixtures), log=log)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        headers = {"Authorization": f"Bearer {harness.WRK_ARGS[0]}", "Content-Type": "application/json",
                   "Idempotency-Key": TEMPLATE_KEY}  # fmt: skip
        conn.request("POST", harness.PATH, body=json.dumps(BODY), headers=headers)
        response = conn.getresponse()
        body = response.read()
        conn.close()
        if response.status != 202:
            raise RuntimeError(f"template request answered {response.status}: {body[:300]!r}")
    finally:
        harness.stop(server.process)


class Filler:
    """The bulk statements, written once with `?`; each engine runs them on its own connection."""

    def __init__(self, engine: str, conn: Any) -> None:
        self.engine = engine
        self.conn = conn

    def run(self, sql: str, params: Sequence[Any] = ()) -> Any:
        if self.engine == "postgresql":
            cursor = psycopg.ClientCursor(self.conn)
            cursor.execute(sql.replace("?", "%s"), params)
            return cursor
        return self.conn.execute(sql, params)

    def columns(self, table: str) -> list[str]:
        """The table's columns in order, without PostgreSQL's identity columns (the database numbers those)."""
        if self.engine == "sqlite":
            return [str(row[1]) for row in self.conn.execute(f"PRAGMA table_info({table})")]
        rows = self.run(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
            "AND is_identity = 'NO' ORDER BY ordinal_position",
            (SCHEMA, table),
        ).fetchall()
        return [str(row[0]) for row in rows]

    def numbers(self, count: int) -> str:
        """A row source `n(i)` of 1..count in the engine's dialect."""
        if self.engine == "sqlite":
            return f"(WITH RECURSIVE m(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM m WHERE i < {int(count)}) " \
                   "SELECT i FROM m) AS n"  # fmt: skip
        return f"generate_series(1, {int(count)}) AS n(i)"

    def copy(self, table: str, where: str, count: int, overrides: dict[str, tuple[str, Sequence[Any]]]) -> Any:
        """INSERT `count` copies of the one row matching `where`, with `overrides` as SQL over `n.i`."""
        columns = self.columns(table)
        template = self.run(f"SELECT {', '.join(columns)} FROM {table} WHERE {where}").fetchone()
        if template is None:
            raise RuntimeError(f"no template row in {table} where {where}")
        values = dict(zip(columns, template, strict=True))
        select: list[str] = []
        params: list[Any] = []
        for column in columns:
            expression, extra = overrides.get(column, ("?", (values[column],)))
            select.append(expression)
            params.extend(extra)
        self.run(
            f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(select)} FROM {self.numbers(count)}", params
        )
        return values


def fill_rows(filler: Filler, count: int) -> None:
    """Messages, keys, the group's last slot and its day counts, as `count` accepted requests leave them."""
    scope = f"session = '{SESSION}' AND group_id = '{GROUP}'"
    template_id, slot, response = filler.run(
        f"SELECT m.id, m.scheduled_at, k.response FROM messages AS m JOIN idempotency_keys AS k "
        f"ON k.session = m.session AND k.group_id = m.group_id AND k.key = m.idempotency_key "
        f"WHERE m.session = '{SESSION}' AND m.group_id = '{GROUP}' AND m.idempotency_key = ?",
        (TEMPLATE_KEY,),
    ).fetchone()
    filler.copy("messages", f"{scope} AND idempotency_key = '{TEMPLATE_KEY}'", count, {
        "id": ("'msg_fill_' || n.i", ()),
        "idempotency_key": ("'fill-' || n.i", ()),
        "scheduled_at": ("? + n.i * ?", (float(slot), GAP)),
        "sent_at": ("NULL", ()),
        "message_id": ("NULL", ()),
    })  # fmt: skip
    filler.copy("idempotency_keys", f"{scope} AND key = '{TEMPLATE_KEY}'", count, {
        "key": ("'fill-' || n.i", ()),
        "response": ("replace(replace(?, ?, 'msg_fill_' || n.i), ?, '\"fill-' || n.i || '\"')",
                     (str(response), str(template_id), f'"{TEMPLATE_KEY}"')),
    })  # fmt: skip
    filler.run(f"UPDATE group_slots SET last_slot = ? WHERE {scope}", (float(slot) + count * GAP,))
    filler.run(f"DELETE FROM day_counts WHERE {scope}")
    day = DAY_EXPRESSION[filler.engine]
    filler.run(
        f"INSERT INTO day_counts (session, group_id, local_day, channel, count) "
        f"SELECT session, group_id, {day}, channel, count(*) FROM messages WHERE {scope} "
        f"GROUP BY session, group_id, {day}, channel"
    )


def fill_sqlite(path: Path, count: int) -> Filled:
    started = time.monotonic()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        fill_rows(Filler("sqlite", conn), count)
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    messages, keys = count_rows("sqlite", str(path))
    size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6
    return Filled(messages, keys, time.monotonic() - started, size)


def fill_postgres(url: str, count: int) -> Filled:
    started = time.monotonic()
    with psycopg.connect(url, options=f"-c search_path={SCHEMA}") as conn:
        with conn.transaction():
            fill_rows(Filler("postgresql", conn), count)
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
    messages, keys = count_rows("postgresql", url)
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return Filled(messages, keys, time.monotonic() - started, (row[0] if row else 0) / 1e6)


def count_rows(engine: str, state: str) -> tuple[int, int]:
    """(messages, idempotency keys) of the bench's session and group."""
    queries = [f"SELECT count(*) FROM {table} WHERE session = '{SESSION}' AND group_id = '{GROUP}'"
               for table in ("messages", "idempotency_keys")]  # fmt: skip
    if engine == "sqlite":
        with sqlite3.connect(state) as conn:
            counts = [int(conn.execute(q).fetchone()[0]) for q in queries]
        conn.close()
    else:
        with psycopg.connect(state, options=f"-c search_path={SCHEMA}") as pg:
            counts = [int((pg.execute(q).fetchone() or (0,))[0]) for q in queries]
    return counts[0], counts[1]
