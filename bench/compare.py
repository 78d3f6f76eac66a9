"""Two mocks side by side, alternating rounds: another revision of the mock, or the same one with other options.

    python bench/compare.py --a-tree /tmp/old-checkout             # that revision vs this checkout
    python bench/compare.py --a-options="--log-level warning"      # this checkout, request log off vs on

Why: a change's cost shows best against the mock just before it, measured in the same minutes (the ratio to
Prism also moves with the machine's load). `git worktree add /tmp/old-checkout <rev>` gives the other tree;
it runs with this checkout's Python environment. Stateful workload, servers on core 0, wrk on core 1.
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from harness import ROOT, Round, ensure_wrk, run_round, start_mock, stop, summarize, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--a-tree", type=Path, default=ROOT, help="checkout of server A (default: this one)")
    parser.add_argument("--a-options", default="", help="extra `serve` options of server A")
    parser.add_argument("--b-options", default="", help="extra `serve` options of server B (this checkout)")
    parser.add_argument("--rounds", type=int, default=6, help="kept rounds per server, in ABBA order")
    parser.add_argument("--duration", type=int, default=5, help="whole seconds per wrk round")
    parser.add_argument("--workload", choices=["stateful", "replay"], default="stateful")
    args = parser.parse_args()
    ensure_wrk()
    servers = {
        "A": start_mock("A", shlex.split(args.a_options), tree=args.a_tree.resolve()),
        "B": start_mock("B", shlex.split(args.b_options)),
    }
    rounds: dict[str, list[Round]] = {"A": [], "B": []}
    try:
        for server in servers.values():
            run_round(server, args.workload, 2, 16)  # warm-up, discarded
        for index in range(args.rounds):
            for name in ("A", "B") if index % 2 == 0 else ("B", "A"):
                rounds[name].append(run_round(servers[name], args.workload, args.duration, 16))
                print(rounds[name][-1].line())
    finally:
        for server in servers.values():
            stop(server.process)
    a, b = summarize(rounds["A"]), summarize(rounds["B"])
    print(f"A: {args.a_tree} {args.a_options}".rstrip())
    print(f"B: {ROOT} {args.b_options}".rstrip())
    rows = [[s.server, f"{s.rps:.0f}", f"{s.p99_ms:.2f}", f"{s.cpu_ms_per_request:.3f}", s.non_2xx] for s in (a, b)]
    print(table(["server", "req/s", "p99 ms", "CPU ms/req", "non-2xx"], rows))
    print(f"B/A throughput: {b.rps / a.rps:.2f}x, CPU per request: {b.cpu_ms_per_request / a.cpu_ms_per_request:.2f}x")


if __name__ == "__main__":
    main()
