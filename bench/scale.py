"""Scale: the mock with 10^6 scheduled messages in one account group vs the mock on a fresh state file.

    python bench/scale.py [--messages 1000000] [--duration 8] [--rounds 3] [--markdown]

The state file is preloaded by calling the domain directly: `queue_response` once per message, each with its own
Idempotency-Key, with bench/fixtures.yaml (a 1 s gap and no practical cap, so the preloaded messages stay unsent,
queued or scheduled, for days). Each call runs the same steps as an accepted request (send due messages,
retention pass, key lookup, prospect checks, next slot, record, bind the key); only the commit is batched:
`queue_response`'s own transaction joins one open transaction per `--batch` messages (10,000), because a commit
per message more than doubled the time (50,000 messages on the 2-core VM: 6.7 s one by one, 3.0 s batched;
10^6 batched: 74 s with the machine busy, a 770 MB state file in the temp directory). Both mocks then run at
once, pinned to core 0, on the same fixtures; wrk (core 1) plays the stateful workload in alternating rounds.
Target: the preloaded mock's throughput within 10% of the fresh one's (a scan per request would show here as a
large gap). After the rounds, each mock's resident memory (VmRSS summed over its process tree) is reported.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import harness
import run

from mock_server.domain.fixtures import load_fixtures
from mock_server.domain.service import queue_response
from mock_server.domain.sessions import DEFAULT_SESSION, install_base_fixtures
from mock_server.storage.sqlite import SqliteStore, SqliteTx

FIXTURES = harness.BENCH / "fixtures.yaml"
BODY = {"prospectId": "prs_ada_lovelace", "message": "Thanks for the context. I can send details this afternoon."}
TARGET = 0.90


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000, help="scheduled messages to preload")
    parser.add_argument("--batch", type=int, default=10_000, help="preloaded messages per commit")
    parser.add_argument("--duration", type=int, default=8, help="whole seconds per wrk round")
    parser.add_argument("--rounds", type=int, default=3, help="kept rounds per server")
    parser.add_argument("--warmup", type=int, default=1, help="discarded rounds per server")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--markdown", action="store_true", help="write the results into bench/RESULTS.md")
    return parser.parse_args(argv)


class BatchedStore(SqliteStore):
    """A SQLite store whose `transaction()` joins the batch open at the time, if any: the domain's calls run as
    written, and only the commit is shared (a failure rolls the whole batch back and ends the preload)."""

    _batch: SqliteTx | None = None

    @contextmanager
    def transaction(self, session: str | None = None) -> Iterator[SqliteTx]:
        if self._batch is not None:
            yield self._batch
            return
        with super().transaction(session) as tx:
            yield tx

    @contextmanager
    def batch(self) -> Iterator[None]:
        with super().transaction() as tx:
            self._batch = tx
            try:
                yield
            finally:
                self._batch = None


def preload(path: Path, count: int, batch: int) -> float:
    """Schedule `count` messages through the domain, as `count` accepted requests would; returns seconds."""
    started = time.monotonic()
    store = BatchedStore(path)
    try:
        with store.transaction() as tx:
            install_base_fixtures(tx, load_fixtures(FIXTURES))
        for first in range(0, count, batch):
            with store.batch():
                for index in range(first, min(first + batch, count)):
                    outcome = queue_response(store, DEFAULT_SESSION, "ag_acme", BODY, f"preload-{index}")
                    if outcome.replayed or outcome.data["sentAt"] is not None:
                        raise RuntimeError(f"preload {index}: unexpected outcome {outcome}")
            if (first // batch + 1) % max(1, 100_000 // batch) == 0:
                done = min(first + batch, count)
                print(f"preloaded {done} messages in {time.monotonic() - started:.0f} s", flush=True)
    finally:
        store.close()
    return time.monotonic() - started


def describe(path: Path) -> tuple[int, int, float]:
    """(scheduled messages, idempotency keys, file size in MB) of a state file."""
    with sqlite3.connect(path) as conn:
        scheduled = conn.execute("SELECT COUNT(*) FROM messages WHERE sent_at IS NULL").fetchone()[0]
        keys = conn.execute("SELECT COUNT(*) FROM idempotency_keys").fetchone()[0]
    size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    return scheduled, keys, size / 1e6


def measure(args: argparse.Namespace, preloaded: Path, fresh: Path) -> tuple[list[harness.Round], dict[str, int]]:
    """Alternating rounds on both mocks, then each one's resident memory (bytes) before it stops."""
    servers = []
    try:
        for name, path in (("preloaded", preloaded), ("fresh", fresh)):
            extra = ["--state", str(path), "--data", str(FIXTURES)]
            servers.append(harness.start_mock(name, extra, log=path.with_suffix(".log")))
        rounds = run.play(servers, "stateful", args)
        return rounds, {server.name: harness.rss_bytes(server.process.pid) for server in servers}
    finally:
        for server in servers:
            harness.stop(server.process)


def report(
    args: argparse.Namespace, rounds: Sequence[harness.Round], rss: dict[str, int], facts: dict[str, str]
) -> tuple[str, bool]:
    items = {s.server: s for s in run.summaries(rounds)}
    ratio = items["preloaded"].rps / items["fresh"].rps
    p99 = items["preloaded"].p99_ms / items["fresh"].p99_ms
    cpu = items["preloaded"].cpu_ms_per_request / items["fresh"].cpu_ms_per_request
    met = ratio >= TARGET
    outcome = "met" if met else "NOT met"
    verdict = (
        f"**preloaded/fresh throughput {ratio:.2f}x, p99 {p99:.2f}x, CPU/request {cpu:.2f}x: "
        f"target (>= {TARGET:.2f}x throughput) {outcome}**"
    )
    setup = (
        "Both mocks run at once with `--state` and `--data bench/fixtures.yaml`, pinned to core "
        f"{harness.SERVER_CORE}; "
        f"wrk on core {harness.WRK_CORE}, `-t1 -c{args.connections} -d{args.duration}s`, stateful workload, "
        f"{args.warmup} warm-up round(s) each discarded, {args.rounds} kept round(s) in ABBA order, medians."
    )
    text = "\n\n".join(
        [
            f"## Scale: {args.messages:,} scheduled messages vs a fresh start (`bench/scale.py`)",
            f"Command: `{harness.command_line()}`",
            setup,
            "\n".join(f"- {key}: {value}" for key, value in facts.items()),
            run.summary_table(list(items.values())),
            verdict,
            harness.table(
                ("server", "RSS after the rounds (VmRSS, process tree)"),
                [(name, f"{size / 2**20:.1f} MiB") for name, size in rss.items()],
            ),
            "Every kept round:",
            run.raw_rounds(rounds),
        ]
    )
    return text, met


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    harness.ensure_wrk()
    with tempfile.TemporaryDirectory(prefix="sonarly-scale-") as tmp:
        preloaded, fresh = Path(tmp) / "preloaded.sqlite3", Path(tmp) / "fresh.sqlite3"
        seconds = preload(preloaded, args.messages, args.batch)
        scheduled, keys, size = describe(preloaded)
        info = harness.machine_info()
        facts = {
            "date": info["date"],
            "mock revision": info["mock revision"],
            "load average at start": info["load average at start"],
            "preload": f"{args.messages} messages via queue_response in {seconds:.0f} s "
            f"({args.messages / seconds:.0f}/s, one commit per {args.batch})",
            "preloaded file before the run": f"{scheduled} scheduled messages, {keys} idempotency keys, {size:.1f} MB",
        }
        print("\n".join(f"{k}: {v}" for k, v in facts.items()), flush=True)
        rounds, rss = measure(args, preloaded, fresh)
        scheduled_after, _, size_after = describe(preloaded)
        facts["preloaded file after the run"] = f"{scheduled_after} scheduled messages, {size_after:.1f} MB"
        text, met = report(args, rounds, rss, facts)
    print("\n" + text)
    if args.markdown:
        harness.update_results("scale", text)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
