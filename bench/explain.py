"""Which statements a request runs, and how each engine plans them on a full store.

Why capture instead of listing the statements by hand: the list would drift from the code. The mock runs
in this process (`create_app` behind Starlette's TestClient) on the filled store, with every engine's
`Tx.execute` (the one primitive each named operation calls) wrapped to record the statement and its
parameters and which kind of request ran it. Each distinct statement is then explained on the same store:
`EXPLAIN QUERY PLAN` on SQLite; on PostgreSQL `EXPLAIN` of the statement with its values (the custom plan)
and `EXPLAIN EXECUTE` of it prepared with `plan_cache_mode = force_generic_plan` (the generic plan a replica
may switch to once psycopg prepares a statement it has run five times).

Flags: a SQLite `SCAN t` that uses no index; a PostgreSQL `Seq Scan on t`. A PostgreSQL sequential scan is
explained again with `enable_seqscan = off`: if an index then serves it, the planner merely preferred reading
a small table whole (harmless); if it is still a sequential scan, no index can serve it (a real finding).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

SCHEMA = "sonarly_mock"
BODY = {"prospectId": "prs_ada_lovelace", "message": "Thanks for the context. I can send details this afternoon."}
AUTH = {"Authorization": "Bearer sk_test_acme_writer", "Content-Type": "application/json"}
RESPONSES = "/v1/accounts/ag_acme/messages/responses"
POSTS = 64  # past the journal's trim (every 32 entries of a ring) and the retention pass (every 50 requests)
NODE = r"(SEARCH|SCAN|USE TEMP|\(no|(\w[\w ]*)?(Scan|Insert|Update|Delete|Result|Sort|Limit|Join|Loop)\b)"
BIG_TABLE = 10_000  # rows: a sequential scan of a table this large on the hot path is a finding

NAMES = {
    ("SELECT", "idempotency_keys"): "idempotency lookup",
    ("INSERT", "idempotency_keys"): "idempotency bind",
    ("DELETE", "idempotency_keys"): "purge expired keys",
    ("SELECT", "group_slots"): "last slot",
    ("INSERT", "group_slots"): "last slot update",
    ("SELECT", "day_counts"): "day count",
    ("INSERT", "day_counts"): "day count update",
    ("DELETE", "day_counts"): "purge old day counts",
    ("INSERT", "messages"): "message insert",
    ("UPDATE", "messages"): "send a due message",
    ("DELETE", "messages"): "purge sent messages",
    ("INSERT", "journal"): "journal insert",
    ("DELETE", "journal"): "journal trim",
    ("SELECT", "journal"): "journal read",
    ("SELECT", "faults"): "fault lookup",
    ("SELECT", "sessions"): "session read",
    ("UPDATE", "sessions"): "session touch",
    ("SELECT", "datasets"): "dataset read",
    ("SELECT", "startup"): "startup settings",
    ("SELECT", "opened_conversations"): "opened conversations",
    ("UPDATE", "faults"): "fault consume",
    ("DELETE", "faults"): "fault delete",
    ("INSERT", "faults"): "fault insert",
}


@dataclass
class Captured:
    """One distinct statement: its text, the first parameters seen, and which requests ran it how often."""

    sql: str
    params: tuple[Any, ...]
    phases: dict[str, int] = field(default_factory=dict)

    @property
    def label(self) -> str:
        verb = self.sql.split(None, 1)[0].upper()
        table = re.search(r"\b(?:FROM|INTO|UPDATE)\s+(\w+)", self.sql, re.IGNORECASE)
        name = table.group(1) if table else "-"
        if verb == "SELECT" and name == "messages" and re.search(r"sent_at IS NULL AND scheduled_at <=", self.sql):
            return "due-messages scan"
        if verb == "SELECT" and re.search(r"\bFROM sessions AS s\b", self.sql):
            return "opening read"  # Tx.queue_view: the session, its next due slot, the last slot, the key
        if "advisory" in self.sql:
            return "session lock" if "xact_lock" in self.sql else "lock"
        return NAMES.get((verb, name), f"{verb.lower()} {name}")


@dataclass(frozen=True)
class Plan:
    captured: Captured
    lines: tuple[str, ...]
    verdict: str
    flagged: bool

    @property
    def compact(self) -> str:
        """The plan's access steps on one line (no filters, conditions or costs), for a table cell; a generic
        plan is shown only where its steps differ from the custom plan's."""
        parts: dict[str, list[str]] = {"": []}
        current = ""
        for line in self.lines:
            if line.startswith("with enable_seqscan"):
                break
            text = line.strip().removeprefix("->").strip()
            if line.endswith(" plan:"):
                current = line.split()[0]
                parts[current] = []
            elif ":" not in text and re.match(NODE, text):
                parts[current].append(text)
        custom, generic = parts.get("custom"), parts.get("generic")
        if custom is None:
            return " / ".join(parts[""])
        shown = " / ".join(custom)
        return shown if not generic or generic == custom else f"{shown}; generic: {' / '.join(generic)}"


class Recorder:
    """Wraps `execute` of the given Tx classes; records only while `phase` is set."""

    def __init__(self) -> None:
        self.phase: str | None = None
        self.seen: dict[str, Captured] = {}

    @contextmanager
    def wrapping(self, classes: Sequence[type]) -> Iterator[None]:
        originals = {cls: cls.__dict__["execute"] for cls in classes}
        for cls, original in originals.items():
            setattr(cls, "execute", self._wrap(original))  # noqa: B010 (the method is replaced on purpose)
        try:
            yield
        finally:
            for cls, original in originals.items():
                setattr(cls, "execute", original)  # noqa: B010

    def _wrap(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def execute(tx: Any, sql: str, params: Sequence[Any] = ()) -> Any:
            if self.phase is not None:
                entry = self.seen.setdefault(sql, Captured(sql, tuple(params)))
                entry.phases[self.phase] = entry.phases.get(self.phase, 0) + 1
            return original(tx, sql, params)

        return execute


def drive(client: Any, recorder: Recorder) -> None:
    """The requests whose statements matter: new keys, a replay, a fault hit, and two control reads."""

    def post(key: str, phase: str) -> int:
        recorder.phase = phase
        status = int(client.post(RESPONSES, json=BODY, headers={**AUTH, "Idempotency-Key": key}).status_code)
        recorder.phase = None
        return status

    statuses = [post(f"plan-{i}", "POST new key") for i in range(POSTS)]
    statuses.append(post("plan-0", "POST replay"))
    fault = {"status": 503, "count": 1, "method": "POST", "pathPrefix": RESPONSES}
    added = client.post("/__mock/faults", json=fault)
    statuses.append(post("plan-fault", "POST hit by a fault"))
    if set(statuses[:-1]) != {202} or added.status_code >= 300 or statuses[-1] != 503:
        raise RuntimeError(f"unexpected answers while capturing: {statuses}, fault {added.status_code}")
    recorder.phase = "control: list messages"
    client.get("/__mock/accounts/ag_acme/messages", params={"limit": 10})
    recorder.phase = "control: journal"
    client.get("/__mock/journal", params={"limit": 10})
    recorder.phase = None


def capture(state: str, fixtures: Path) -> list[Captured]:
    """Run `drive` through the whole app, in this process, on `state`; the statements in first-seen order."""
    from starlette.testclient import TestClient

    from mock_server.config import MockConfig
    from mock_server.http import runtime
    from mock_server.http.app import create_app
    from mock_server.storage.postgres import PostgresTx
    from mock_server.storage.sqlite import SqliteTx

    recorder, stores = Recorder(), []
    opener = runtime.open_store

    def remembered(*args: Any, **kwargs: Any) -> Any:
        stores.append(opener(*args, **kwargs))
        return stores[-1]

    runtime.open_store = remembered
    try:
        with recorder.wrapping([SqliteTx, PostgresTx]):
            config = MockConfig(state=state, data=str(fixtures), rate_limit="off", log_level="warning")
            with TestClient(create_app(config)) as client:
                drive(client, recorder)
    finally:
        runtime.open_store = opener
        for store in stores:
            store.close()
    return list(recorder.seen.values())


# --- SQLite ------------------------------------------------------------------------------------------


def explain_sqlite(path: Path, statements: Sequence[Captured]) -> list[Plan]:
    conn = sqlite3.connect(path)
    try:
        return [_sqlite_plan(conn, entry) for entry in statements if _explainable(entry.sql)]
    finally:
        conn.close()


def _sqlite_plan(conn: sqlite3.Connection, entry: Captured) -> Plan:
    rows = conn.execute("EXPLAIN QUERY PLAN " + entry.sql, entry.params).fetchall()
    lines = tuple(str(row[3]) for row in rows) or ("(no table read: a keyed write)",)
    full = [line for line in lines if re.match(r"SCAN (?!CONSTANT ROW)\w+$", line)]
    walks = [line for line in lines if re.match(r"SCAN \w+ USING", line)]
    if full:
        return Plan(entry, lines, "FULL SCAN: " + "; ".join(full), True)
    if walks:
        return Plan(entry, lines, "index walk (ordered, stops at LIMIT): " + "; ".join(walks), False)
    return Plan(entry, lines, "index" if any("SEARCH" in line for line in lines) else "no scan", False)


def _explainable(sql: str) -> bool:
    return sql.lstrip().split(None, 1)[0].upper() in {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH"}


# --- PostgreSQL --------------------------------------------------------------------------------------


def explain_postgres(url: str, statements: Sequence[Captured]) -> list[Plan]:
    with psycopg.connect(url, autocommit=True, options=f"-c search_path={SCHEMA}") as conn:
        conn.prepare_threshold = None  # our own PREPARE only: psycopg's automatic ones would collide
        conn.execute("ANALYZE")  # what autovacuum keeps up to date on a live database
        sizes = {
            str(name): int(rows)
            for name, rows in conn.execute(
                "SELECT relname, reltuples FROM pg_class WHERE relnamespace = %s::regnamespace AND relkind = 'r'",
                (SCHEMA,),
            ).fetchall()
        }
        return [_pg_plan(conn, entry, sizes) for entry in statements if _explainable(entry.sql)]


def _pg_lines(conn: psycopg.Connection[Any], sql: str, params: Sequence[Any], setting: str = "") -> list[str]:
    cursor = psycopg.ClientCursor(conn)
    with conn.transaction():
        if setting:
            conn.execute(setting)
        cursor.execute(sql, params)
        lines = [str(row[0]) for row in cursor.fetchall()]
    return [re.sub(r"\s+\(cost=[^)]*\)", "", line).rstrip() for line in lines]


def _numbered(entry: Captured) -> tuple[str, str]:
    """The statement with $1, $2, ... for PREPARE, and the `%s` list its EXECUTE takes."""
    count = iter(range(1, 1000))
    return re.sub(r"\?", lambda _: f"${next(count)}", entry.sql), ", ".join(["%s"] * len(entry.params))


def _generic(conn: psycopg.Connection[Any], entry: Captured) -> list[str] | None:
    """The generic plan (PostgreSQL 15 has no EXPLAIN (GENERIC_PLAN)): PREPARE with $n, force it, EXECUTE."""
    numbered, marks = _numbered(entry)
    try:
        with conn.transaction(force_rollback=True):
            conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
            conn.execute(f"PREPARE bench_plan AS {numbered}")
            cursor = psycopg.ClientCursor(conn)
            cursor.execute(f"EXPLAIN EXECUTE bench_plan({marks})" if marks else "EXPLAIN EXECUTE bench_plan",
                           entry.params)  # fmt: skip
            lines = [str(row[0]) for row in cursor.fetchall()]
    except psycopg.Error:
        return None
    finally:
        conn.execute("DEALLOCATE ALL")
    return [re.sub(r"\s+\(cost=[^)]*\)", "", line).rstrip() for line in lines]


def _generic_chosen(conn: psycopg.Connection[Any], entry: Captured) -> bool | None:
    """Whether PostgreSQL switches to the generic plan once the statement is prepared (as psycopg does after five
    runs on a connection): run it ten times prepared, in a transaction rolled back, and read its plan counts."""
    numbered, marks = _numbered(entry)
    try:
        with conn.transaction(force_rollback=True):
            conn.execute(f"PREPARE bench_count AS {numbered}")
            cursor = psycopg.ClientCursor(conn)
            for _ in range(10):
                cursor.execute(f"EXECUTE bench_count({marks})" if marks else "EXECUTE bench_count", entry.params)
            row = conn.execute("SELECT generic_plans FROM pg_prepared_statements WHERE name = 'bench_count'").fetchone()
    except psycopg.Error:
        return None
    finally:
        conn.execute("DEALLOCATE ALL")
    return bool(row and row[0])


def _seq_tables(lines: Sequence[str]) -> list[str]:
    return [m.group(1) for line in lines if (m := re.search(r"Seq Scan on (\w+)", line))]


def _pg_plan(conn: psycopg.Connection[Any], entry: Captured, sizes: dict[str, int]) -> Plan:
    sql = "EXPLAIN " + entry.sql.replace("?", "%s")
    custom = _pg_lines(conn, sql, entry.params)
    generic = _generic(conn, entry)
    lines = ["custom plan:", *custom, *(["generic plan:", *generic] if generic and generic != custom else [])]
    in_custom, in_generic = set(_seq_tables(custom)), set(_seq_tables(generic or []))
    if not in_custom | in_generic:
        kinds = "index" if any("Index" in line for line in custom) else "no table read"
        return Plan(entry, tuple(lines), kinds + ("" if generic else " (no generic plan: untyped parameter)"), False)
    forced = _pg_lines(conn, sql, entry.params, "SET LOCAL enable_seqscan = off")
    still = set(_seq_tables(forced))
    notes, flagged = [], False
    generic_used = _generic_chosen(conn, entry) if in_generic - in_custom else None
    for table in sorted(in_custom | in_generic):
        rows = sizes.get(table, -1)
        which = " and ".join(name for name, seen in (("custom", in_custom), ("generic", in_generic)) if table in seen)
        if table in still:
            notes.append(f"Seq Scan on {table} ({rows} rows, {which} plan) and NO index can serve it")
            flagged = True
            continue
        note = f"Seq Scan on {table} ({rows} rows, {which} plan); an index serves it when asked"
        if table not in in_custom and generic_used is False:
            notes.append(note + "; PostgreSQL kept custom plans over 10 prepared runs (the generic one is unused)")
            continue
        notes.append(note)
        flagged |= rows >= BIG_TABLE
    return Plan(entry, tuple([*lines, "with enable_seqscan = off:", *forced]), "; ".join(notes), flagged)
