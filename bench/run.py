"""Mock vs Prism at both its settings, same spec, machine and load, alternating rounds; error paths; --workers 1 vs 2.

One command, from the repository root with the package installed (`pip install -e .`):

    python bench/run.py                                  # 10 s rounds, 3 kept rounds, 16 connections
    python bench/run.py --duration 8 --rounds 3 --workers-compare --error-paths --markdown  # RESULTS.md
    python bench/run.py --quick [--error-paths]          # 1 s, mock only: a smoke run

It installs wrk (apt-get) and Prism 5.16.0 (npm, into bench/.prism/) when missing. Servers are pinned to core 0 and
wrk to core 1 with taskset. Servers: `mock` (its default request log, one line per request), `mock-quiet`
(`--log-level warning`: no request lines), `prism` (default logging) and `prism-quiet` (`-v error`, Prism's fastest:
no request lines); with `--servers ...,floor`, also the HTTP floor (bench/floor_app.py: uvicorn and a bare app
answering a fixed 202), whose CPU per request is what uvicorn alone costs. Two workloads: `stateful` (a fresh
Idempotency-Key per request) and `replay` (one key again and again). Each server gets a discarded warm-up round per
workload, then rounds alternate mock, mock-quiet, prism, prism -v error, prism -v error, prism, mock-quiet, mock,
... Per round: requests/s, p50/p99 (wrk's BENCH line), non-2xx, and CPU per request (utime+stime+cutime+cstime of
the server's process tree during the round / requests). Tables show medians over the kept rounds and mock/Prism
ratios against both settings, with the issue's targets (>= 2.0x Prism -v error's throughput, mock p99 <= 5 ms at 16
connections), judged for both mock settings: the mock as it runs by default, and like for like (neither writing
request lines).

`--error-paths` (mock only): one fresh mock plays `stateful` and the error workloads of harness.ERROR_STATUS
(a 400 listing five problems, a 401, two kinds of 409) in alternating rounds; each one's CPU per request
against the 202's, target <= 2.0x. Exit status 1 if the mock answered anything but 2xx in a 2xx workload,
or anything but the expected status and body in an error workload.
"""

from __future__ import annotations

import argparse
import shlex
import sqlite3
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

import harness
from harness import Round, Server, Summary

T = TypeVar("T")

WORKLOADS = ("stateful", "replay")
DEFAULT_SERVERS = ("mock", "mock-quiet", "prism", "prism-quiet")
SERVERS = (*DEFAULT_SERVERS, harness.FLOOR)
"""`floor` (bench/floor_app.py) only when asked: it answers without any of the mock's or Prism's work."""
ERROR_WORKLOADS = tuple(harness.ERROR_STATUS)
DEMO_MIN_GAP = 60.0
MOCK_QUIET = "mock --log-level warning"
QUIET_MOCK_OPTIONS = ("--log-level", "warning")
"""The mock without its request lines, as Prism's `-v error` runs without its own."""
TARGET_RATIO = 2.0
"""Issue 11: stateful and replay throughput at least twice Prism -v error's, ..."""
TARGET_P99_MS = 5.0
"""... with the mock's p99 at most 5 ms at 16 connections; and an error answer's CPU at most twice a 202's."""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="whole seconds per wrk round")
    parser.add_argument("--rounds", type=int, default=3, help="kept rounds per server and workload")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=1, help="discarded rounds per server and workload")
    parser.add_argument(
        "--servers",
        default=",".join(DEFAULT_SERVERS),
        help=f"comma list of {', '.join(SERVERS)} (default: %(default)s)",
    )
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--state", action="store_true", help="mock with --state on a fresh file (default: memory)")
    parser.add_argument("--data", type=Path, help="fixture file for the mock (default: built-in demo)")
    parser.add_argument("--workers-compare", action="store_true", help="also --workers 1 vs 2 on one state file")
    parser.add_argument("--error-paths", action="store_true", help="also the mock's 400/401/409 vs its 202")
    parser.add_argument("--workers-cores", default="0,1", help="cores the mock may use in the workers comparison")
    parser.add_argument("--markdown", action="store_true", help="write the results into bench/RESULTS.md")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 s, 1 round, no warm-up, mock only")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.rounds, args.warmup, args.servers, args.workloads = 1, 1, 0, "mock", "stateful"
    args.servers = [s for s in args.servers.split(",") if s]
    args.workloads = [w for w in args.workloads.split(",") if w]
    unknown = set(args.servers) - set(SERVERS) | set(args.workloads) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown server or workload: {', '.join(sorted(unknown))}")
    return args


def alternate(items: Sequence[T], round_index: int) -> list[T]:
    """Forward on even rounds, backward on odd ones (ABBA for two, ABCCBA for three), so drift on a noisy machine
    hits every server alike."""
    return list(items) if round_index % 2 == 0 else list(reversed(items))


def play(
    servers: Sequence[Server], workload: str, args: argparse.Namespace, warmups: list[Round] | None = None
) -> list[Round]:
    """Warm-up rounds (discarded, or collected into `warmups`), then alternating kept rounds, printed as they end."""
    return play_pairs([(server, workload) for server in servers], args, warmups)


def play_pairs(
    pairs: Sequence[tuple[Server, str]], args: argparse.Namespace, warmups: list[Round] | None = None
) -> list[Round]:
    """`play` over (server, workload) pairs: several servers on one workload, or one server on several."""
    for server, workload in pairs:
        for _ in range(args.warmup):
            result = harness.run_round(server, workload, args.duration, args.connections)
            print("warm-up  " + result.line(), flush=True)
            if warmups is not None:
                warmups.append(result)
    kept = []
    for index in range(args.rounds):
        for server, workload in alternate(pairs, index):
            result = harness.run_round(server, workload, args.duration, args.connections)
            print(f"round {index + 1}  " + result.line(), flush=True)
            kept.append(result)
    return kept


def data_args(args: argparse.Namespace) -> list[str]:
    return ["--data", str(args.data)] if args.data else []


def mock_args(args: argparse.Namespace, scratch: Path, name: str) -> list[str]:
    extra = data_args(args)
    if args.state:
        extra += ["--state", str(scratch / f"{name}.sqlite3")]
    return extra


def start_servers(args: argparse.Namespace, scratch: Path, workload: str) -> list[Server]:
    """Fresh servers for each workload, so one workload's state never colours the other's numbers."""
    servers = []
    if "mock" in args.servers:
        servers.append(harness.start_mock("mock", mock_args(args, scratch, f"mock-{workload}")))
    if "mock-quiet" in args.servers:
        quiet = [*mock_args(args, scratch, f"mock-quiet-{workload}"), *QUIET_MOCK_OPTIONS]
        servers.append(harness.start_mock(MOCK_QUIET, quiet))
    for name in ("prism", "prism-quiet"):
        if name in args.servers:
            servers.append(harness.start_prism(harness.ensure_prism(), quiet=name == "prism-quiet"))
    if harness.FLOOR in args.servers:
        servers.append(harness.start_floor())
    return servers


def compare(args: argparse.Namespace, scratch: Path) -> list[Round]:
    rounds: list[Round] = []
    for workload in args.workloads:
        servers = start_servers(args, scratch, workload)
        try:
            rounds += play(servers, workload, args)
        finally:
            for server in servers:
                harness.stop(server.process)
    return rounds


def summaries(rounds: Sequence[Round]) -> list[Summary]:
    keys = list(dict.fromkeys((r.workload, r.server) for r in rounds))
    return [harness.summarize([r for r in rounds if (r.workload, r.server) == key]) for key in keys]


def summary_table(items: Sequence[Summary]) -> str:
    headers = ("server", "workload", "rounds", "req/s", "p50 ms", "p99 ms", "CPU ms/req", "non-2xx", "sock err")
    rows = [
        (s.server, s.workload, s.rounds, f"{s.rps:.0f}", f"{s.p50_ms:.2f}", f"{s.p99_ms:.2f}",
         f"{s.cpu_ms_per_request:.3f}", s.non_2xx, s.socket_errors)
        for s in items
    ]  # fmt: skip
    return harness.table(headers, rows)


def ratio_table(items: Sequence[Summary], connections: int) -> str:
    """mock/Prism per workload, mock setting and Prism setting. The issue's target is against Prism -v error only:
    throughput >= 2.0x and the mock's own p99 <= 5 ms (at 16 connections); default logging is shown for reference."""
    by_key = {(s.server, s.workload): s for s in items}
    rows = []
    for workload in dict.fromkeys(s.workload for s in items):
        for mock in (by_key.get((name, workload)) for name in ("mock", MOCK_QUIET)):
            for prism in (by_key.get((name, workload)) for name in ("prism", harness.PRISM_QUIET)):
                if not mock or not prism:
                    continue
                rows.append(
                    (workload, mock.server, prism.server, f"{mock.rps / prism.rps:.2f}x",
                     f"{mock.p99_ms / prism.p99_ms:.2f}x", f"{mock.p99_ms:.2f}",
                     f"{mock.cpu_ms_per_request / prism.cpu_ms_per_request:.2f}x",
                     target_verdict(mock, prism, connections))
                )  # fmt: skip
    target = f"target: >= {TARGET_RATIO:.1f}x, p99 <= {TARGET_P99_MS:.0f} ms"
    headers = ("workload", "mock", "against", "throughput mock/Prism", "p99 mock/Prism", "mock p99 ms",
               "CPU per request mock/Prism", target)  # fmt: skip
    return harness.table(headers, rows) if rows else "(no mock/Prism pair measured)"


def target_verdict(mock: Summary, prism: Summary, connections: int) -> str:
    """The issue's targets hold against Prism -v error; its p99 bound is stated for 16 connections only."""
    if prism.server != harness.PRISM_QUIET:
        return "(reference)"
    checks = [("throughput", mock.rps >= TARGET_RATIO * prism.rps)]
    if connections == 16:
        checks.append(("p99", mock.p99_ms <= TARGET_P99_MS))
    misses = [what for what, ok in checks if not ok]
    verdict = "NOT met: " + ", ".join(misses) if misses else "met"
    return verdict if connections == 16 else verdict + " (throughput only: the p99 target is at 16 connections)"


def raw_rounds(rounds: Sequence[Round]) -> str:
    return "```\n" + "\n".join(r.line() for r in rounds) + "\n```"


def compare_report(args: argparse.Namespace, rounds: Sequence[Round], info: dict[str, str]) -> str:
    items = summaries(rounds)
    storage = "--state on a fresh file" if args.state else "in memory"
    data = f"--data {args.data}" if args.data else "demo data"
    setup = (
        f"Servers pinned to core {harness.SERVER_CORE}, wrk to core {harness.WRK_CORE} (`taskset`); "
        f"`wrk -t1 -c{args.connections} -d{args.duration}s`, {args.warmup} warm-up round(s) per server and "
        f"workload discarded, {args.rounds} kept round(s) in ABBA order (ABCDDCBA for four servers); medians "
        f"shown, non-2xx summed. Mock: `python -m mock_server serve --rate-limit off` ({storage}, {data}), with its "
        "request log at info (`mock`, its default: one line per request) and with `--log-level warning` (`mock "
        "--log-level warning`: no request lines), output to /dev/null; Prism "
        f"{harness.PRISM_VERSION}: `prism mock openapi/sonarly.yaml`, with default logging (`prism`) and with "
        "`-v error` (`prism -v error`, its fastest), output to /dev/null."
    )
    if harness.FLOOR in args.servers:
        setup += (
            f" Floor: `python {shlex.join(harness.FLOOR_COMMAND)}` from bench/ (floor_app.py: the body read and "
            "parsed, a fixed 202 of the mock's size; what uvicorn alone costs)."
        )
    return "\n\n".join(
        [
            "## Mock vs Prism (`bench/run.py`)",
            f"Command: `{harness.command_line()}`",
            harness.machine_table(info),
            setup,
            summary_table(items),
            ratio_table(items, args.connections),
            "Every kept round:",
            raw_rounds(rounds),
        ]
    )


# --- error paths: the mock's 400, 401 and 409 against its 202 ------------------------------------------


def error_paths(args: argparse.Namespace, scratch: Path) -> list[Round]:
    """One fresh mock, `stateful` and every error workload in alternating rounds (ABC..CBA), so each error's CPU
    per request is compared with the 202's of the same process in the same minutes."""
    server = harness.start_mock("mock", mock_args(args, scratch, "mock-errors"))
    try:
        return play_pairs([(server, workload) for workload in ("stateful", *ERROR_WORKLOADS)], args)
    finally:
        harness.stop(server.process)


def error_rows(items: Sequence[Summary]) -> list[tuple[object, ...]]:
    base = next((s for s in items if s.workload == "stateful"), None)
    rows: list[tuple[object, ...]] = []
    for s in items:
        expected = harness.ERROR_STATUS.get(s.workload, 202)
        ratio = s.cpu_ms_per_request / base.cpu_ms_per_request if base else float("nan")
        met = "(the base)" if s is base else ("met" if ratio <= TARGET_RATIO else "NOT met")
        wrong = s.non_2xx if s.wrong_status is None else s.wrong_status
        rows.append(
            (s.workload, expected, s.rounds, f"{s.rps:.0f}", f"{s.p99_ms:.2f}", f"{s.cpu_ms_per_request:.3f}",
             f"{ratio:.2f}x", wrong, s.socket_errors, met)
        )  # fmt: skip
    return rows


def error_report(rounds: Sequence[Round]) -> str:
    headers = ("workload", "status", "rounds", "req/s", "p99 ms", "CPU ms/req", "CPU/req vs the 202",
               "wrong status", "sock err", f"target <= {TARGET_RATIO:.1f}x")  # fmt: skip
    setup = (
        "One fresh mock (same options as the mock above), rounds alternating over the workloads below in the same "
        "scheme. "
        "`stateful` is the 202 (a fresh key per request). `invalid`: a body with five problems (unknown member, "
        "no prospectId, message not a string, no subject and a conversationId with inmail); the 400 must list all "
        "five. `unauthorized`: half the requests with an unknown key, half with no Authorization header. `conflict`: "
        "one Idempotency-Key, a new body each time (one 202 binds it, then 409 IDEMPOTENCY_CONFLICT). "
        "`not-connected`: a direct message to prs_grace_hopper, fresh key each time (409 PROSPECT_NOT_CONNECTED). "
        "wrong status: answers with another status or without the expected error code or problem lines "
        "(bench/expect_status.lua); for `stateful`, non-2xx."
    )
    return "\n\n".join(
        [
            "## Error paths: CPU per request of a 400, 401 and 409 vs a 202 (`bench/run.py --error-paths`)",
            setup,
            harness.table(headers, error_rows(summaries(rounds))),
            "Every kept round:",
            raw_rounds(rounds),
        ]
    )


def wrong_answers(rounds: Sequence[Round]) -> bool:
    """Any mock answer a workload did not expect: a non-2xx in a 2xx workload, or a wrong error answer."""
    mocks = ("mock", MOCK_QUIET)
    return any(r.non_2xx if r.wrong_status is None else r.wrong_status for r in rounds if r.server in mocks)


# --- --workers 1 vs 2 on one state file ----------------------------------------------------------------


def workers_compare(args: argparse.Namespace, scratch: Path) -> tuple[list[Round], list[str]]:
    """Both configurations on a fresh state file each, stateful workload, alternating rounds."""
    servers: list[Server] = []
    files: dict[str, Path] = {}
    warmups: list[Round] = []
    try:
        for workers in (1, 2):
            name = f"mock-{workers}w"
            files[name] = scratch / f"{name}.sqlite3"
            extra = ["--workers", str(workers), "--state", str(files[name]), *data_args(args)]
            servers.append(harness.start_mock(name, extra, cores=args.workers_cores))
        rounds = play(servers, "stateful", args, warmups)
    finally:
        for server in servers:
            harness.stop(server.process)
    every = rounds + warmups
    checks = [check_state(files[s.name], [r for r in every if r.server == s.name], args) for s in servers]
    return rounds, checks


def check_state(path: Path, rounds: Sequence[Round], args: argparse.Namespace) -> str:
    """After the run: every 2xx left one message, no more than in-flight extras, one key each, gaps respected."""
    with sqlite3.connect(path) as conn:
        total, ids, keys = conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT id), COUNT(DISTINCT idempotency_key) FROM messages "
            "WHERE session = 'default' AND group_id = 'ag_acme'"
        ).fetchone()
        min_gap = conn.execute(
            "SELECT MIN(gap) FROM (SELECT scheduled_at - LAG(scheduled_at) OVER (ORDER BY scheduled_at) AS gap "
            "FROM messages WHERE session = 'default' AND group_id = 'ag_acme')"
        ).fetchone()[0]
    conn.close()
    accepted = sum(r.requests - r.non_2xx for r in rounds)
    in_flight = args.connections * len(rounds)
    gap_ok = min_gap is None or min_gap >= DEMO_MIN_GAP - 1e-6 or args.data is not None  # demo schedule's gap
    counts_ok = total == ids == keys and accepted <= total <= accepted + in_flight
    verdict = "correct" if counts_ok and gap_ok else "WRONG"
    gap = "none" if min_gap is None else f"{min_gap:.3f} s"
    return (
        f"{path.stem}: {verdict}: {total} messages, {ids} distinct ids, {keys} distinct keys; wrk counted {accepted} "
        f"2xx over {len(rounds)} rounds incl. warm-up (allowed: {accepted}..{accepted + in_flight}, the upper "
        f"bound adds {args.connections} requests in flight per round end); smallest gap between slots {gap}"
    )


def workers_report(args: argparse.Namespace, rounds: Sequence[Round], checks: Sequence[str]) -> str:
    items = summaries(rounds)
    by_name = {s.server: s for s in items}
    one, two = by_name.get("mock-1w"), by_name.get("mock-2w")
    ratio = f"**--workers 2 / --workers 1 throughput: {two.rps / one.rps:.2f}x**" if one and two else ""
    setup = (
        f"Both configurations use `--state` on a fresh file and may use cores {args.workers_cores} "
        f"(`taskset -c {args.workers_cores}`); wrk stays on core {harness.WRK_CORE}, so with 2 cores the second "
        "worker competes with wrk for core 1. Stateful workload, same round scheme as above."
    )
    return "\n\n".join(
        [
            "## --workers 1 vs 2 on one state file (`bench/run.py --workers-compare`)",
            setup,
            summary_table(items),
            ratio,
            "Correctness after the run (state file read with sqlite3):",
            "\n".join(f"- {line}" for line in checks),
            "Every kept round:",
            raw_rounds(rounds),
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    harness.ensure_wrk()
    if {"prism", "prism-quiet"} & set(args.servers):
        harness.ensure_prism()
    info = harness.machine_info()
    print(harness.machine_table(info), flush=True)
    failed = False
    with tempfile.TemporaryDirectory(prefix="sonarly-bench-") as tmp:
        scratch = Path(tmp)
        if args.servers:
            rounds = compare(args, scratch)
            report = compare_report(args, rounds, info)
            print("\n" + report)
            failed |= wrong_answers(rounds)
            if args.markdown:
                harness.update_results("run", report)
        if args.error_paths:
            rounds = error_paths(args, scratch)
            report = error_report(rounds)
            print("\n" + report)
            failed |= wrong_answers(rounds)
            if args.markdown:
                harness.update_results("errors", report)
        if args.workers_compare:
            rounds, checks = workers_compare(args, scratch)
            report = workers_report(args, rounds, checks)
            print("\n" + report)
            failed |= any(r.non_2xx for r in rounds) or any(": WRONG:" in c for c in checks)
            if args.markdown:
                harness.update_results("workers", report)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
