"""10^6 stored messages do not slow either engine: throughput on a full store vs a fresh one, and the plans.

One command, from the repository root with the package installed (`pip install -e .`):

    python bench/plans.py --markdown          # 10^6 messages per engine, what RESULTS.md shows (~3 minutes)
    python bench/plans.py --quick             # 10^4 messages, 1 s rounds: a smoke run under a minute
    python bench/plans.py --postgres-url postgresql://user@host:5432/postgres   # an existing server

For each engine (SQLite on a state file, PostgreSQL), one store gets N scheduled messages and N idempotency keys
in the bench's session and account group (bench/fill.py: one real request writes a template, the engine's own
bulk INSERT copies it N times: the store's API has no bulk operation), then:

1. the statements a request runs are captured by running the mock in this process on the full store, and each
   is explained there (bench/explain.py): `EXPLAIN QUERY PLAN` on SQLite, custom and generic `EXPLAIN` on
   PostgreSQL; a scan that no index serves, or a sequential scan of a large table, is flagged;
2. `serve` on the full store and on a fresh one (same fixtures) take the stateful workload in rotating rounds
   (mock and PostgreSQL on core 0, wrk on core 1); target: full/fresh throughput >= 0.90, as bench/scale.py.

SQLite in memory runs the same statements on the same schema as the file (only the pages live elsewhere); it
cannot be filled from outside the process, so the file stands for both. Exit status 1 if a hot statement is
flagged, a target is missed, or any request failed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import explain
import fill
import fleet
import harness
import pgcluster
import run
from harness import Round, Server

ENGINES = ("sqlite", "postgresql")
TARGET = 0.90
HOT_PHASES = ("POST new key", "POST replay", "POST hit by a fault")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000, help="messages (and keys) to store")
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma list of sqlite, postgresql")
    parser.add_argument("--duration", type=int, default=5, help="whole seconds per wrk round")
    parser.add_argument("--rounds", type=int, default=3, help="kept rounds per server")
    parser.add_argument("--warmup", type=int, default=1, help="discarded rounds per server")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--postgres-url", help="an existing server (admin URL) instead of a throwaway cluster")
    parser.add_argument("--pg-setting", action="append", default=[], help="NAME=VALUE for the throwaway cluster")
    parser.add_argument("--markdown", action="store_true", help="write the results into bench/RESULTS.md")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 10^4 messages, 1 s rounds, no warm-up; the throughput target is not enforced",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.messages, args.duration, args.rounds, args.warmup = 10_000, 1, 1, 0
    args.engines = [e for e in args.engines.split(",") if e]
    if set(args.engines) - set(ENGINES):
        parser.error(f"unknown engine: {', '.join(sorted(set(args.engines) - set(ENGINES)))}")
    return args


def prepare(engine: str, args: argparse.Namespace, cluster: pgcluster.Cluster, scratch: Path) -> dict[str, str]:
    """The full store (filled) and a fresh one; returns what the report says about the fill."""
    fixtures = fill.FIXTURES
    if engine == "sqlite":
        full, fresh = scratch / "full.sqlite3", scratch / "fresh.sqlite3"
        fill.seed_template(str(full), fixtures, scratch / "template-sqlite.log")
        filled = fill.fill_sqlite(full, args.messages)
        states = {"full": str(full), "fresh": str(fresh)}
    else:
        states = {
            "full": cluster.create_database("bench_plans_full"),
            "fresh": cluster.create_database("bench_plans_fresh"),
        }
        fill.seed_template(states["full"], fixtures, scratch / "template-postgresql.log")
        filled = fill.fill_postgres(states["full"], args.messages)
    print(
        f"{engine}: filled {filled.messages} messages, {filled.keys} keys in {filled.seconds:.0f} s, "
        f"{filled.size_mb:.0f} MB",
        flush=True,
    )
    return {
        **states,
        "fill": f"{filled.messages} messages and {filled.keys} idempotency keys in session `default`, group "
        f"`ag_acme` ({args.messages} copied by one bulk INSERT ... SELECT each, {filled.seconds:.0f} s), "
        f"{filled.size_mb:.0f} MB on disk",
    }


def measure(
    args: argparse.Namespace, cluster: pgcluster.Cluster, stores: dict[str, dict[str, str]], scratch: Path
) -> list[Round]:
    """Full and fresh stores of every engine, all alive at once, in rotating rounds."""
    cluster.pin(harness.SERVER_CORE)
    servers: dict[str, Server] = {}
    try:
        for engine, states in stores.items():
            for kind in ("full", "fresh"):
                name = f"{engine}-{kind}"
                options = fill.serve_options(states[kind], fill.FIXTURES)
                servers[name] = harness.start_mock(name, options, log=scratch / f"{name}.log")

        def one(name: str) -> Round:
            def plain() -> Round:
                return harness.run_round(servers[name], "stateful", args.duration, args.connections)

            return fleet.with_extra_cpu(plain, cluster.cpu_seconds) if name.startswith("postgresql") else plain()

        return fleet.play(list(servers), args, one, [])
    finally:
        for server in servers.values():
            harness.stop(server.process)


def plans_of(engine: str, state: str, scratch: Path) -> list[explain.Plan]:
    statements = explain.capture(state, fill.FIXTURES)
    if engine == "sqlite":
        return explain.explain_sqlite(Path(state), statements)
    return explain.explain_postgres(state, statements)


def statements_per_post(plans: Sequence[explain.Plan]) -> float:
    """Statements a POST with a new key runs, on average: each is a round trip to PostgreSQL."""
    return sum(p.captured.phases.get("POST new key", 0) for p in plans) / explain.POSTS


def is_hot(plan: explain.Plan) -> bool:
    return any(phase in HOT_PHASES for phase in plan.captured.phases)


def plan_table(plans: Sequence[explain.Plan]) -> str:
    rows = []
    for plan in plans:
        when = ", ".join(f"{phase} x{n}" for phase, n in plan.captured.phases.items())
        verdict = ("**FLAGGED** " if plan.flagged else "") + plan.verdict
        rows.append((plan.captured.label, f"`{plan.captured.sql}`", when, plan.compact, verdict))
    return harness.table(("statement", "SQL", "run by (times, in the capture)", "plan", "verdict"), rows)


def full_plans(plans: Sequence[explain.Plan]) -> str:
    blocks = [f"-- {p.captured.label}\n{p.captured.sql}\n" + "\n".join(f"  {line}" for line in p.lines) for p in plans]
    return "```\n" + "\n\n".join(blocks) + "\n```"


def ratio_rows(rounds: Sequence[Round], engines: Sequence[str]) -> tuple[list[tuple[str, ...]], bool]:
    items = {s.server: s for s in run.summaries(rounds)}
    rows: list[tuple[str, ...]] = []
    met = True
    for engine in engines:
        full, fresh = items[f"{engine}-full"], items[f"{engine}-fresh"]
        ratio = full.rps / fresh.rps
        met &= ratio >= TARGET
        rows.append(
            (
                engine,
                f"{ratio:.2f}x",
                f"{full.p99_ms / fresh.p99_ms:.2f}x",
                f"{full.cpu_ms_per_request / fresh.cpu_ms_per_request:.2f}x",
                "met" if ratio >= TARGET else "NOT met",
            )
        )
    return rows, met


def report(
    args: argparse.Namespace,
    info: dict[str, str],
    facts: dict[str, dict[str, str]],
    rounds: Sequence[Round],
    plans: dict[str, list[explain.Plan]],
) -> tuple[str, bool, bool]:
    rows, met = ratio_rows(rounds, list(facts))
    flagged = [f"{engine}: {p.captured.label}" for engine, ps in plans.items() for p in ps if p.flagged and is_hot(p)]
    verdict = "none" if not flagged else ", ".join(flagged)
    setup = (
        f"Full and fresh stores of each engine served at once with `--data` (bench/fixtures.yaml, caps at the "
        f"schema's 100,000) and `--log-level warning`; mock and PostgreSQL on core {harness.SERVER_CORE}, wrk on core "
        f"{harness.WRK_CORE}: `-t1 -c{args.connections} -d{args.duration}s`, stateful, {args.warmup} warm-up and "
        f"{args.rounds} kept round(s) per server in rotating order, medians; PostgreSQL rows include its CPU."
    )
    parts = [
        f"## {args.messages:,} stored messages vs a fresh store, and the plans (`bench/plans.py`)",
        f"Command: `{harness.command_line()}`",
        harness.machine_table(info),
        "\n".join(f"- {engine}: {fact['fill']}" for engine, fact in facts.items()),
        setup,
        run.summary_table(run.summaries(rounds)),
        harness.table(
            ("engine", "throughput full/fresh", "p99 full/fresh", "CPU/request full/fresh", f"target >= {TARGET:.2f}x"),
            rows,
        ),
        "CPU per request split:",
        fleet.cpu_split(rounds),
        "Statements per request (captured): "
        + "; ".join(f"{engine}: {statements_per_post(ps):.1f} per new-key POST" for engine, ps in plans.items()),
        f"**Hot-path statements flagged (a scan no index serves, or a sequential scan of a table of "
        f">= {explain.BIG_TABLE:,} rows): {verdict}.**",
    ]
    for engine, engine_plans in plans.items():
        hot = [p for p in engine_plans if is_hot(p)]
        other = [p for p in engine_plans if not is_hot(p)]
        parts += [
            f"### {engine}: statements of `POST .../messages/responses` on the full store",
            plan_table(hot),
            f"{engine}: statements of the control reads (not on the API's path)",
            plan_table(other),
            f"<details><summary>{engine}: every plan</summary>\n\n{full_plans(engine_plans)}\n\n</details>",
        ]
    parts += ["Every kept round:", run.raw_rounds(rounds)]
    return "\n\n".join(parts), met, bool(flagged)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    harness.ensure_wrk()
    needs_pg = "postgresql" in args.engines
    settings = pgcluster.parse_settings(args.pg_setting)
    cluster = pgcluster.open_cluster(args.postgres_url, harness.SERVER_CORE, settings) if needs_pg else None
    try:
        info = {**harness.machine_info(), **({"postgresql": cluster.version()} if cluster else {})}
        info.pop("node", None)
        print(harness.machine_table(info), flush=True)
        with tempfile.TemporaryDirectory(prefix="sonarly-plans-") as tmp:
            scratch = Path(tmp)
            try:
                text, ok, failed = run_all(args, cluster or pgcluster.Cluster(""), info, scratch)
            except BaseException:
                fleet.show_logs(scratch)
                raise
    finally:
        if cluster:
            cluster.stop()
    print("\n" + text)
    if args.markdown:
        harness.update_results("plans", text)
    return 0 if ok and not failed else 1


def run_all(
    args: argparse.Namespace, cluster: pgcluster.Cluster, info: dict[str, str], scratch: Path
) -> tuple[str, bool, bool]:
    facts = {engine: prepare(engine, args, cluster, scratch) for engine in args.engines}
    plans = {engine: plans_of(engine, facts[engine]["full"], scratch) for engine in args.engines}
    for engine, engine_plans in plans.items():
        for plan in engine_plans:
            print(f"{engine:<10} {plan.captured.label:<24} {'FLAGGED ' if plan.flagged else ''}{plan.verdict}")
    rounds = measure(args, cluster, facts, scratch)
    text, met, flagged = report(args, info, facts, rounds, plans)
    ok = (met or args.quick) and not flagged  # 1 s rounds are too noisy to hold a target against
    return text, ok, any(r.non_2xx or r.socket_errors for r in rounds)


if __name__ == "__main__":
    sys.exit(main())
