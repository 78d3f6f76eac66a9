"""Retention: under a steady load of new keys, with the mock clock advanced, the state file stops growing.

    python bench/retention.py [--hours 60] [--keys-per-hour 600] [--sent-retention 3600] [--markdown]

The mock runs with `--state FILE --data bench/fixtures.yaml --sent-retention N` on core 0; wrk plays the
stateful workload (a fresh key per request) on core 1, while this script advances the mock clock by one
hour through `POST /__mock/clock/advance` each time `--keys-per-hour` new keys have been bound. Pacing the
clock by keys, not by wall time, keeps the load steady in mock time even when the machine's throughput
drifts. After each advance it samples the state file's size (+ -wal, -shm) and its row counts. Keys expire
24 h (mock time) after their 202 and sent messages `--sent-retention` s after sending, so once the clock
has moved 24 h + the sent retention the file should stop growing. Verdict: from that horizon (+4 h) to the
end the size grows at most 10% while at least as many new keys are bound as were live at the start.
The run ends at `--hours` mock hours, or after `--max-duration` real seconds.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import harness

FIXTURES = harness.BENCH / "fixtures.yaml"
KEY_RETENTION_HOURS = 24
TOLERANCE = 0.10
MARGIN_HOURS = 4


@dataclass(frozen=True)
class Sample:
    """One look at the state file: when, how far the clock moved, how big, how many rows."""

    seconds: float
    mock_hours: float
    db_bytes: int
    wal_bytes: int
    keys: int
    messages: int
    keys_ever: int

    @property
    def total_mb(self) -> float:
        return (self.db_bytes + self.wal_bytes) / 1e6


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=int, default=60, help="mock hours to run for")
    parser.add_argument("--keys-per-hour", type=int, default=600, help="new keys per mock hour")
    parser.add_argument("--max-duration", type=int, default=300, help="real seconds at most")
    parser.add_argument("--sent-retention", type=float, default=3600, help="the mock's --sent-retention")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--markdown", action="store_true", help="write the results into bench/RESULTS.md")
    return parser.parse_args(argv)


def keys_bound(path: Path) -> int:
    """How many keys were ever bound: the newest key's rowid (purges only remove the oldest)."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as conn:
        value = conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM idempotency_keys").fetchone()[0]
    conn.close()
    return value


def sample(path: Path, started: float, mock_hours: float) -> Sample:
    """File sizes plus row counts through a short read-only connection (WAL lets it read alongside)."""
    extra = sum(p.stat().st_size for p in (Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists())
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as conn:
        keys, keys_ever = conn.execute("SELECT COUNT(*), COALESCE(MAX(rowid), 0) FROM idempotency_keys").fetchone()
        messages = conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
    conn.close()
    return Sample(time.monotonic() - started, mock_hours, path.stat().st_size, extra, keys, messages, keys_ever)


def drive(args: argparse.Namespace, server: harness.Server, path: Path, out: Path) -> tuple[list[Sample], str]:
    """Load until `--hours` mock hours, advancing one hour per `--keys-per-hour` keys; samples and wrk's output."""
    wrk = harness.spawn(harness.wrk_command(server.url, args.max_duration, args.connections, "stateful"), log=out)
    started, last = time.monotonic(), 0
    samples: list[Sample] = []
    try:
        while len(samples) < args.hours and wrk.poll() is None:
            time.sleep(0.1)
            bound = keys_bound(path)
            if bound - last < args.keys_per_hour:
                continue
            last = bound
            status, body = harness.request(server.port, "POST", "/__mock/clock/advance", {"seconds": 3600})
            if status != 200:
                raise RuntimeError(f"clock advance answered {status}: {body[:200]!r}")
            samples.append(sample(path, started, len(samples) + 1))
            print(row(samples[-1]), flush=True)
        if wrk.poll() is None:
            os.killpg(wrk.pid, signal.SIGINT)  # wrk stops and still prints its summary and BENCH line
        wrk.wait(timeout=30)
    finally:
        harness.stop(wrk)
    return samples, out.read_text()


def row(s: Sample) -> str:
    return (
        f"t={s.seconds:6.1f}s  clock +{s.mock_hours:5.1f} h  db {s.db_bytes / 1e6:7.2f} MB  "
        f"wal+shm {s.wal_bytes / 1e6:6.2f} MB  total {s.total_mb:7.2f} MB  keys {s.keys:7d}  "
        f"messages {s.messages:7d}  keys bound so far {s.keys_ever:8d}"
    )


def verdict(args: argparse.Namespace, samples: Sequence[Sample]) -> tuple[str, bool]:
    """Plateau: from the retention horizon (+4 h) to the end, growth within 10% while the keys turn over."""
    horizon = KEY_RETENTION_HOURS + args.sent_retention / 3600 + 1
    reached = [s for s in samples if s.mock_hours >= horizon]
    if not reached:
        return f"retention horizon ({horizon:.0f} mock hours) not reached: run longer", False
    window = [s for s in samples if s.mock_hours >= horizon + MARGIN_HOURS] or reached[-1:]
    first, last = window[0], window[-1]
    peak = max(s.total_mb for s in window)
    growth = (peak - first.total_mb) / first.total_mb
    turned_over = last.keys_ever - first.keys_ever
    before = reached[0].total_mb - samples[0].total_mb
    flat = growth <= TOLERANCE and turned_over >= first.keys
    text = (
        f"Horizon {horizon:.0f} mock hours reached at t={reached[0].seconds:.0f}s; the file grew "
        f"{before:.2f} MB before it. From t={first.seconds:.0f}s ({first.total_mb:.2f} MB) to t={last.seconds:.0f}s "
        f"({last.total_mb:.2f} MB), peak {peak:.2f} MB: growth {growth:+.1%} while {turned_over} new keys were "
        f"bound ({turned_over / max(first.keys, 1):.1f}x the {first.keys} live keys at the window's start). "
        + ("**Verdict: the state file stops growing once retention is reached.**" if flat else
           "**Verdict: the state file keeps growing (or the keys did not turn over): NOT shown.**")
    )  # fmt: skip
    return text, flat


def report(args: argparse.Namespace, samples: Sequence[Sample], wrk_output: str, text: str) -> str:
    requests, non_2xx, p50, p99, rps, _ = harness.parse_wrk(wrk_output)
    step = max(1, len(samples) // 20)
    shown = list(samples[::step]) + ([samples[-1]] if (len(samples) - 1) % step else [])
    headers = ("t (s)", "clock (+h)", "db MB", "wal+shm MB", "total MB", "live keys", "messages", "keys bound")
    rows = [
        (f"{s.seconds:.0f}", f"{s.mock_hours:.0f}", f"{s.db_bytes / 1e6:.2f}", f"{s.wal_bytes / 1e6:.2f}",
         f"{s.total_mb:.2f}", s.keys, s.messages, s.keys_ever)
        for s in shown
    ]  # fmt: skip
    info = harness.machine_info()
    setup = (
        f"{info['date']}, mock revision {info['mock revision']}, load average {info['load average at start']}. "
        f"`--state FILE --data bench/fixtures.yaml --sent-retention {args.sent_retention:g}` on core "
        f"{harness.SERVER_CORE}; wrk `-c{args.connections}` stateful on core {harness.WRK_CORE}; clock advanced "
        f"1 h per {args.keys_per_hour} new keys, {args.hours} h in all. Load: {requests} requests "
        f"({rps:.0f}/s), non-2xx {non_2xx}, p50 {p50:.1f} ms, p99 {p99:.1f} ms."
    )
    return "\n\n".join(
        [
            "## Retention: the state file under a steady load of new keys (`bench/retention.py`)",
            f"Command: `{harness.command_line()}`",
            setup,
            harness.table(headers, rows),
            text,
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    harness.ensure_wrk()
    with tempfile.TemporaryDirectory(prefix="sonarly-retention-") as tmp:
        path = Path(tmp) / "state.sqlite3"
        extra = ["--state", str(path), "--data", str(FIXTURES), "--sent-retention", f"{args.sent_retention:g}"]
        server = harness.start_mock("mock", extra, log=Path(tmp) / "mock.log")
        try:
            samples, wrk_output = drive(args, server, path, Path(tmp) / "wrk.txt")
        finally:
            harness.stop(server.process)
    text, flat = verdict(args, samples)
    result = report(args, samples, wrk_output, text)
    print("\n" + result)
    if args.markdown:
        harness.update_results("retention", result)
    return 0 if flat else 1


if __name__ == "__main__":
    sys.exit(main())
