"""The PostgreSQL engine under load: one replica on PostgreSQL vs SQLite, then fleets of 1, 2 and 3 replicas.

One command, from the repository root with the package installed (`pip install -e .`):

    python bench/fleet.py --markdown           # what RESULTS.md shows (about 3 minutes)
    python bench/fleet.py --quick              # smoke run: 1 s rounds, under a minute
    python bench/fleet.py --postgres-url postgresql://user@host:5432/postgres   # an existing server

Without --postgres-url it starts a throwaway PostgreSQL 15 cluster (bench/pgcluster.py) and deletes it
afterwards; with it, the URL must let the bench CREATE and DROP databases (`bench_*`), and CPU time and core
pinning then cover the mock only. Stateful workload (a fresh Idempotency-Key per request, demo data),
every mock started as `python -m mock_server serve --rate-limit off --log-level warning`.

Part `engines`: one replica each on SQLite in memory, SQLite on a state file, PostgreSQL, and PostgreSQL
with `synchronous_commit=off` (the durability SQLite's WAL with synchronous=NORMAL gives: a crash of the host
can lose the last commits, a crash of the mock cannot). The mock *and* PostgreSQL are pinned to core 0, wrk
to core 1, so each engine gets the same CPU and CPU per request includes PostgreSQL's backends.

Part `fleet`: 1, 2 and 3 replicas on one database (each size its own database, all alive at once), the load
spread over a size's replicas by one wrk with one thread per replica (bench/fleet.lua). Replicas and
PostgreSQL may use cores 0 and 1 and wrk runs on core 1: on a 2-core machine the replicas fight each other,
PostgreSQL and wrk for two cores, so the fleet figures are a floor, not what a fleet on separate hosts does.
Afterwards each fleet database is checked: one message per key, distinct ids, gaps and daily caps respected.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import harness
import pgcluster
import psycopg
import run
from harness import Round, Server, Summary

ENGINES = ("sqlite-memory", "sqlite-file", "postgresql", "postgresql-async")
SERVE_OPTIONS = ("--log-level", "warning")
FLEET_LUA = harness.BENCH / "fleet.lua"
SCHEMA = "sonarly_mock"
DEMO_GAP, DEMO_CAP, DEMO_ZONE = 60.0, 100, "America/New_York"
FLOOR_NOTE = (
    "On this 2-core machine the fleet figure is a floor: every replica, PostgreSQL and wrk share two cores, so "
    "a second or third replica mostly takes CPU from the others; replicas on their own hosts add their own CPU."
)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=5, help="whole seconds per wrk round")
    parser.add_argument("--rounds", type=int, default=3, help="kept rounds per configuration")
    parser.add_argument("--warmup", type=int, default=1, help="discarded rounds per configuration")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections in all (rounded up per thread)")
    parser.add_argument("--parts", default="engines,fleet", help="comma list of engines, fleet")
    parser.add_argument("--engines", default=",".join(ENGINES), help=f"comma list of {', '.join(ENGINES)}")
    parser.add_argument("--replicas", default="1,2,3", help="fleet sizes")
    parser.add_argument("--fleet-cores", default="0,1", help="cores the replicas and PostgreSQL may use in a fleet")
    parser.add_argument("--db-pool-size", type=int, help="--db-pool-size of every PostgreSQL replica")
    parser.add_argument("--postgres-url", help="an existing server (admin URL) instead of a throwaway cluster")
    parser.add_argument("--pg-setting", action="append", default=[], help="NAME=VALUE for the throwaway cluster")
    parser.add_argument("--markdown", action="store_true", help="write the results into bench/RESULTS.md")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 s rounds, 1 kept round, no warm-up")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.rounds, args.warmup = 1, 1, 0
    args.parts = [p for p in args.parts.split(",") if p]
    args.engines = [e for e in args.engines.split(",") if e]
    args.replicas = [int(n) for n in args.replicas.split(",") if n]
    unknown = set(args.parts) - {"engines", "fleet"} | set(args.engines) - set(ENGINES)
    if unknown:
        parser.error(f"unknown part or engine: {', '.join(sorted(unknown))}")
    return args


# --- rounds ------------------------------------------------------------------------------------------


DATABASE_CPU: dict[str, list[float]] = {}
"""PostgreSQL's share of each kept or warm-up round's CPU per request, by server name (for the split table)."""


def with_extra_cpu(measure: Callable[[], Round], extra_cpu: Callable[[], float]) -> Round:
    """A round whose CPU per request also counts `extra_cpu` (PostgreSQL's processes) over the same interval."""
    before = extra_cpu()
    result = measure()
    used_ms = (extra_cpu() - before) * 1000
    if not result.requests:
        return result
    DATABASE_CPU.setdefault(result.server, []).append(used_ms / result.requests)
    return dataclasses.replace(result, cpu_ms_per_request=result.cpu_ms_per_request + used_ms / result.requests)


def cpu_split(rounds: Sequence[Round]) -> str:
    """Where the CPU per request goes: the mock's processes vs PostgreSQL's (medians over the kept rounds)."""
    rows = []
    for summary in run.summaries(rounds):
        shares = DATABASE_CPU.get(summary.server)
        database = statistics.median(shares) if shares else 0.0
        rows.append((summary.server, f"{summary.cpu_ms_per_request - database:.3f}", f"{database:.3f}",
                     f"{summary.cpu_ms_per_request:.3f}"))  # fmt: skip
    return harness.table(("server", "mock ms/req", "PostgreSQL ms/req", "total ms/req"), rows)


def play(
    names: Sequence[str], args: argparse.Namespace, measure: Callable[[str], Round], warmups: list[Round]
) -> list[Round]:
    """Warm-up rounds (kept apart in `warmups`), then rotating kept rounds, each printed as it ends."""
    for name in names:
        for _ in range(args.warmup):
            warmups.append(measure(name))
            print("warm-up  " + warmups[-1].line(), flush=True)
    DATABASE_CPU.clear()  # the split table covers kept rounds only, as the totals do
    kept = []
    for index in range(args.rounds):
        for name in run.alternate(names, index):
            kept.append(measure(name))
            print(f"round {index + 1}  " + kept[-1].line(), flush=True)
    return kept


def fleet_round(replicas: Sequence[Server], name: str, duration: int, connections: int) -> Round:
    """One wrk, one thread per replica (fleet.lua points thread i at replica i): the fleet's total."""
    threads = len(replicas)
    per_thread = math.ceil(connections / threads)
    command = harness.wrk_command(replicas[0].url, duration, per_thread * threads, "stateful")
    command[command.index("-t1")] = f"-t{threads}"
    command[command.index(str(harness.LUA))] = str(FLEET_LUA)
    env = {**os.environ, "BENCH_UNIQUE_KEYS": str(harness.LUA), "BENCH_PORTS": ",".join(str(r.port) for r in replicas)}
    before = sum(harness.cpu_seconds(r.process.pid) for r in replicas)
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60, check=False, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    used = sum(harness.cpu_seconds(r.process.pid) for r in replicas) - before
    requests, non_2xx, p50, p99, rps, socket_errors = harness.parse_wrk(done.stdout)
    cpu = used * 1000 / requests if requests else float("nan")
    return Round(name, "stateful", rps, p50, p99, requests, non_2xx, socket_errors, cpu)


# --- part 1: engines ---------------------------------------------------------------------------------


def engine_state(engine: str, cluster: pgcluster.Cluster, scratch: Path) -> list[str]:
    """The `serve` options that put one replica on `engine` (a fresh database or file each)."""
    if engine == "sqlite-memory":
        return []
    if engine == "sqlite-file":
        return ["--state", str(scratch / "engine.sqlite3")]
    url = cluster.create_database(f"bench_{engine.replace('-', '_')}")
    if engine == "postgresql-async":
        with psycopg.connect(cluster.admin_url, autocommit=True) as conn:
            conn.execute("ALTER DATABASE bench_postgresql_async SET synchronous_commit = off")
    return ["--state", url]


def pool_options(args: argparse.Namespace) -> list[str]:
    return ["--db-pool-size", str(args.db_pool_size)] if args.db_pool_size else []


def engines_part(args: argparse.Namespace, cluster: pgcluster.Cluster, scratch: Path) -> list[Round]:
    cluster.pin(harness.SERVER_CORE)
    servers: dict[str, Server] = {}
    try:
        for engine in args.engines:
            state = engine_state(engine, cluster, scratch)
            extra = [*SERVE_OPTIONS, *state, *(pool_options(args) if engine.startswith("postgresql") else [])]
            servers[engine] = harness.start_mock(engine, extra, log=scratch / f"{engine}.log")

        def measure(engine: str) -> Round:
            def one() -> Round:
                return harness.run_round(servers[engine], "stateful", args.duration, args.connections)

            return with_extra_cpu(one, cluster.cpu_seconds) if engine.startswith("postgresql") else one()

        return play(list(servers), args, measure, [])
    finally:
        for server in servers.values():
            harness.stop(server.process)


def named(items: Sequence[Summary], name: str) -> Summary:
    """The summary of the server called `name` (the first one if it did not run)."""
    return next((s for s in items if s.server == name), items[0])


def ratio_rows(items: Sequence[Summary], base: Summary) -> list[tuple[str, str, str, str]]:
    """Each server's throughput, p99 and CPU per request as ratios to `base`'s."""
    return [
        (s.server, f"{s.rps / base.rps:.2f}x", f"{s.p99_ms / base.p99_ms:.2f}x",
         f"{s.cpu_ms_per_request / base.cpu_ms_per_request:.2f}x")
        for s in items
    ]  # fmt: skip


def engines_report(args: argparse.Namespace, rounds: Sequence[Round], info: dict[str, str]) -> str:
    items = run.summaries(rounds)
    base = named(items, "sqlite-memory")
    rows = ratio_rows(items, base)
    setup = (
        f"One replica per engine, all alive at once; the mock and PostgreSQL pinned to core {harness.SERVER_CORE}, "
        f"wrk on core {harness.WRK_CORE}: `wrk -t1 -c{args.connections} -d{args.duration}s`, stateful workload, "
        f"{args.warmup} warm-up round(s) each discarded, {args.rounds} kept round(s) in rotating order, medians. "
        "CPU per request of the PostgreSQL rows includes every PostgreSQL process. `postgresql-async`: the same "
        "server with `ALTER DATABASE ... SET synchronous_commit = off`."
    )
    return "\n\n".join([
        "## PostgreSQL vs SQLite, one replica (`bench/fleet.py`, part engines)",
        f"Command: `{harness.command_line()}`",
        harness.machine_table(info),
        setup,
        run.summary_table(items),
        harness.table(("engine", f"throughput / {base.server}", "p99 /", "CPU per request /"), rows),
        "CPU per request split (PostgreSQL's share is its processes' CPU during the round / requests):",
        cpu_split(rounds),
        "Every kept round:",
        run.raw_rounds(rounds),
    ])  # fmt: skip


# --- part 2: fleets ----------------------------------------------------------------------------------


def start_fleet(size: int, args: argparse.Namespace, cluster: pgcluster.Cluster, scratch: Path) -> list[Server]:
    url = cluster.create_database(f"bench_fleet_{size}")
    extra = [*SERVE_OPTIONS, "--state", url, *pool_options(args)]
    return [
        harness.start_mock(
            f"fleet-{size}/{i + 1}", extra, cores=args.fleet_cores, log=scratch / f"fleet-{size}-{i}.log"
        )
        for i in range(size)
    ]


def fleet_part(args: argparse.Namespace, cluster: pgcluster.Cluster, scratch: Path) -> tuple[list[Round], list[str]]:
    cluster.pin(args.fleet_cores)
    fleets: dict[str, list[Server]] = {}
    warmups: list[Round] = []
    try:
        for size in args.replicas:
            fleets[f"fleet-{size}"] = start_fleet(size, args, cluster, scratch)

        def measure(name: str) -> Round:
            return with_extra_cpu(lambda: fleet_round(fleets[name], name, args.duration, args.connections),
                                  cluster.cpu_seconds)  # fmt: skip

        rounds = play(list(fleets), args, measure, warmups)
    finally:
        for replicas in fleets.values():
            for server in replicas:
                harness.stop(server.process)
    every = rounds + warmups
    checks = [check_fleet(cluster, name, [r for r in every if r.server == name], args) for name in fleets]
    return rounds, checks


def check_fleet(cluster: pgcluster.Cluster, name: str, rounds: Sequence[Round], args: argparse.Namespace) -> str:
    """After the run: every 2xx left one message, one per key, distinct ids, slots >= the demo's gap apart and
    no local day over the demo's cap; read straight from the fleet's database."""
    size = name.split("-")[1]
    url = cluster.url(f"bench_fleet_{size}")
    where = f"FROM {SCHEMA}.messages WHERE session = 'default' AND group_id = 'ag_acme'"
    with psycopg.connect(url) as conn:
        total, ids, keys = conn.execute(
            f"SELECT count(*), count(DISTINCT id), count(DISTINCT idempotency_key) {where}"
        ).fetchone() or (0, 0, 0)
        gap = conn.execute(
            f"SELECT min(gap) FROM (SELECT scheduled_at - lag(scheduled_at) OVER (ORDER BY scheduled_at) AS gap "
            f"{where}) AS gaps"
        ).fetchone()
        day = conn.execute(
            f"SELECT max(n) FROM (SELECT count(*) AS n {where} "
            f"GROUP BY (to_timestamp(scheduled_at) AT TIME ZONE '{DEMO_ZONE}')::date) AS days"
        ).fetchone()
    min_gap = None if not gap or gap[0] is None else float(gap[0])
    busiest = 0 if not day or day[0] is None else int(day[0])
    accepted = sum(r.requests - r.non_2xx for r in rounds)
    in_flight = math.ceil(args.connections / int(size)) * int(size) * len(rounds)
    ok = total == ids == keys and accepted <= total <= accepted + in_flight
    ok = ok and (min_gap is None or min_gap >= DEMO_GAP - 1e-6) and busiest <= DEMO_CAP
    shown_gap = "none" if min_gap is None else f"{min_gap:.3f} s"
    return (
        f"{name}: {'correct' if ok else 'WRONG'}: {total} messages, {ids} distinct ids, {keys} distinct keys; wrk "
        f"counted {accepted} 2xx over {len(rounds)} rounds incl. warm-up (allowed up to {accepted + in_flight} "
        f"with the requests in flight at each round's end); smallest gap {shown_gap}, busiest local day {busiest} "
        f"(cap {DEMO_CAP})"
    )


def fleet_report(args: argparse.Namespace, rounds: Sequence[Round], checks: Sequence[str]) -> str:
    items = run.summaries(rounds)
    one = named(items, "fleet-1")
    rows = ratio_rows(items, one)
    setup = (
        f"Fleets of {', '.join(map(str, args.replicas))} replicas, each size on its own database of one PostgreSQL, "
        f"all alive at once. Replicas and PostgreSQL may use cores {args.fleet_cores}, wrk runs on core "
        f"{harness.WRK_CORE} with one thread per replica (`bench/fleet.lua`), {args.connections} connections in all "
        f"(rounded up to a multiple of the threads), {args.duration} s rounds, {args.warmup} warm-up round(s) "
        f"each, {args.rounds} kept round(s) in rotating order, medians. "
        "CPU per request counts every replica and every PostgreSQL process."
    )
    return "\n\n".join([
        "## A fleet on one PostgreSQL: 1, 2 and 3 replicas (`bench/fleet.py`, part fleet)",
        setup,
        run.summary_table(items),
        harness.table(("fleet", "throughput / fleet-1", "p99 /", "CPU per request /"), rows),
        cpu_split(rounds),
        f"**{FLOOR_NOTE}**",
        "Correctness after the run (each fleet's database read with psycopg):",
        "\n".join(f"- {line}" for line in checks),
        "Every kept round:",
        run.raw_rounds(rounds),
    ])  # fmt: skip


def show_logs(scratch: Path) -> None:
    """The tail of every server log, so a replica that died says why before the scratch directory goes."""
    for log in sorted(scratch.glob("*.log")):
        lines = log.read_text(errors="replace").splitlines()[-15:]
        if lines:
            print(f"--- {log.name} (last lines)\n" + "\n".join(lines), file=sys.stderr)


def run_parts(args: argparse.Namespace, cluster: pgcluster.Cluster, info: dict[str, str], scratch: Path) -> bool:
    """Both parts, each printed and (with --markdown) written as it ends; True if anything failed."""
    failed = False
    if "engines" in args.parts:
        rounds = engines_part(args, cluster, scratch)
        text = engines_report(args, rounds, info)
        print("\n" + text, flush=True)
        failed |= any(r.non_2xx or r.socket_errors for r in rounds)
        if args.markdown:
            harness.update_results("fleet-engines", text)
    if "fleet" in args.parts:
        rounds, checks = fleet_part(args, cluster, scratch)
        text = fleet_report(args, rounds, checks)
        print("\n" + text, flush=True)
        failed |= any(r.non_2xx or r.socket_errors for r in rounds) or any(": WRONG:" in c for c in checks)
        if args.markdown:
            harness.update_results("fleet", text)
        print("\n" + FLOOR_NOTE)
    return failed


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    harness.ensure_wrk()
    cluster = pgcluster.open_cluster(args.postgres_url, harness.SERVER_CORE, pgcluster.parse_settings(args.pg_setting))
    try:
        info = {**harness.machine_info(), "postgresql": cluster.version()}
        info.pop("node", None)
        print(harness.machine_table(info), flush=True)
        with tempfile.TemporaryDirectory(prefix="sonarly-fleet-") as tmp:
            try:
                failed = run_parts(args, cluster, info, Path(tmp))
            except BaseException:
                show_logs(Path(tmp))
                raise
    finally:
        cluster.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
