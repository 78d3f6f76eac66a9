"""Cost of an accepted request as the in-memory state grows: time per request after N stored messages.

    python bench/growth.py                                        # this checkout
    python bench/growth.py --tree /tmp/old --tree .               # another revision and this one, one after the other
    python bench/growth.py --at 500,50000,150000,300000 --measure 2000

Why: a served mock keeps every message and key of a benchmark (300,000 within a minute of `bench/run.py`), and
a cost that grows with the state shows only there, mixed with everything else the server does. Here each
tree's driver plays the stateful workload in-process, as `bench/instructions.py` does (the demo's writer key, a
fresh Idempotency-Key each, the request log on at info into /dev/null), and at each checkpoint of `--at`
stored messages times `--measure` more requests. Trees run one after the other on core 0, so they do not share
the cache; the machine is noisy, so read the trend along a row (and rerun), not one figure.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from collections.abc import MutableMapping, Sequence
from pathlib import Path
from typing import Any

from instructions import BODY, revision, scope, served_app

ROOT = Path(__file__).resolve().parents[1]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", type=Path, action="append", help="checkout to measure (repeatable; default: .)")
    parser.add_argument("--at", default="500,50000,150000,300000", help="stored messages at each checkpoint")
    parser.add_argument("--measure", type=int, default=2000, help="timed requests at each checkpoint")
    parser.add_argument("--drive", action="store_true", help="internal: run the driver in this process")
    return parser.parse_args(argv)


def drive(checkpoints: list[int], measure: int) -> None:
    """Play requests against the mock importable from the working directory; print µs per request per checkpoint."""
    app = served_app()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": BODY, "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start" and message["status"] != 202:
            raise SystemExit(f"expected a 202, got {message['status']}")

    async def play() -> None:
        stored = 0
        for checkpoint in checkpoints:
            while stored < checkpoint:
                await app(scope(f"bench-fill-{stored}"), receive, send)
                stored += 1
            started = time.perf_counter()
            for _ in range(measure):
                await app(scope(f"bench-fill-{stored}"), receive, send)
                stored += 1
            print(f"{checkpoint} {(time.perf_counter() - started) / measure * 1e6:.1f}", flush=True)

    asyncio.run(play())


def measured(tree: Path, at: str, measure: int) -> dict[int, float]:
    done = subprocess.run(
        ["taskset", "-c", "0", sys.executable, str(Path(__file__)), "--drive", "--at", at, "--measure", str(measure)],
        cwd=tree, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"{tree}: the driver failed:\n{done.stdout}{done.stderr[-2000:]}")
    return {int(line.split()[0]): float(line.split()[1]) for line in done.stdout.splitlines()}


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    checkpoints = [int(value) for value in args.at.split(",")]
    if args.drive:
        drive(checkpoints, args.measure)
        return 0
    trees = [tree.resolve() for tree in args.tree or [ROOT]]
    rows = [(tree, measured(tree, args.at, args.measure)) for tree in trees]
    print("| tree | revision | " + " | ".join(f"µs/request at {n:,}" for n in checkpoints) + " | last / first |")
    print("| --- | --- | " + " | ".join("---" for _ in checkpoints) + " | --- |")
    for tree, times in rows:
        cells = " | ".join(f"{times[n]:.1f}" for n in checkpoints)
        print(f"| {tree} | {revision(tree)} | {cells} | {times[checkpoints[-1]] / times[checkpoints[0]]:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
