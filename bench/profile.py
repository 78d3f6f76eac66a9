"""Where the mock's time goes under load: py-spy samples one mock while wrk plays the stateful workload.

    python bench/profile.py [--seconds 20]                           # this checkout
    python bench/profile.py --tree /tmp/old --label "before (abc1234)" --markdown profile-before
    python bench/profile.py --label "after" --markdown profile-after

Why: the issue asks to profile first and to show the profile's top entries before and after in RESULTS.md.
Another revision runs from a tree made with `git -C /work/main archive <rev> | tar -x -C DIR` (`--tree DIR`),
with this checkout's Python environment, so it imports that tree's mock_server.

How: the mock (`python -m mock_server serve --rate-limit off`, plus `--options`) is pinned to core 0, wrk
(stateful workload, `--connections`) and py-spy to core 1. After a discarded warm-up round, wrk runs for
`--seconds` + 2 s and py-spy records `--seconds` of it from the first second on: `py-spy record --format raw
--function` (frames grouped by function, not by line; sampling rate py-spy's default unless `--rate`; idle
samples left out, so the percentages are of the time the mock was busy). By default py-spy pauses the process
for each sample (exact stacks, a little slower); `--nonblocking` does not. Printed: the top `--top` functions by
own time (the sample's innermost frame) and by total time (the function anywhere on the stack, once per sample),
as percentages of all samples. `--markdown SECTION` writes them into bench/RESULTS.md under that section name.
py-spy needs ptrace on the mock (root, or kernel.yama.ptrace_scope 0 for a child of the same user).
"""

from __future__ import annotations

import argparse
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import harness

FRAME = re.compile(r"^(?P<function>.*) \((?P<where>[^()]*)\)$")
IDLE_WAITS = ("_worker (concurrent/futures/thread.py:", "Condition.wait (threading.py:", "Event.wait (threading.py:")
"""Innermost frames of threads blocked in a C-level wait (an idle thread-pool worker in `work_queue.get()`), which
py-spy's idle detection still counts as active: seen as a third of all samples with no Python work under them."""
TRUNK = 0.99
"""Frames on at least this share of the samples (runpy, click, uvicorn.run, asyncio's loop) say nothing about
where the time goes; the total-time table names them in one line instead of filling its top rows with them."""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=20, help="seconds py-spy records (wrk runs 2 s longer)")
    parser.add_argument("--tree", type=Path, default=harness.ROOT, help="checkout of the mock to run")
    parser.add_argument("--label", help="what the profile shows, for the heading (default: revision or tree)")
    parser.add_argument("--options", default="", help="extra `serve` options of the mock")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=3, help="seconds of discarded load before recording")
    parser.add_argument("--rate", type=int, help="py-spy samples per second (default: py-spy's own)")
    parser.add_argument("--nonblocking", action="store_true", help="py-spy does not pause the mock to sample")
    parser.add_argument("--top", type=int, default=15, help="rows per table")
    parser.add_argument("--raw", type=Path, help="also keep py-spy's raw stacks here (flamegraph.pl input)")
    parser.add_argument("--markdown", metavar="SECTION", help="write the tables into bench/RESULTS.md [SECTION]")
    args = parser.parse_args(argv)
    args.tree = args.tree.resolve()
    if args.label is None:
        args.label = harness.revision() if args.tree == harness.ROOT else str(args.tree)
    return args


def find_py_spy() -> str:
    """py-spy from the environment running this script (pip install py-spy), else from PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if not found:
        raise SystemExit("py-spy is not installed: pip install py-spy")
    return found


@dataclass
class Profile:
    """py-spy's samples grouped by function, and what wrk and py-spy said while they were taken."""

    samples: int = 0
    idle: int = 0
    own: Counter[str] = field(default_factory=Counter)
    total: Counter[str] = field(default_factory=Counter)
    wrk: str = ""
    py_spy: str = ""


def aggregate(raw: str) -> Profile:
    """Samples, own and total counts from py-spy's raw format: one `frame;...;innermost count` line per stack.
    Idle waits (IDLE_WAITS) are counted apart and left out of every percentage."""
    profile = Profile()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        if frames[-1].startswith(IDLE_WAITS):
            profile.idle += int(count)
            continue
        profile.samples += int(count)
        profile.own[frames[-1]] += int(count)
        for frame in set(frames):  # recursion counts a function once per sample
            profile.total[frame] += int(count)
    return profile


def record(args: argparse.Namespace, scratch: Path) -> Profile:
    """Warm the mock up, put it under wrk's load, and let py-spy sample it for `--seconds`."""
    server = harness.start_mock("profiled", shlex.split(args.options), tree=args.tree)
    wrk = None
    try:
        harness.run_round(server, "stateful", args.warmup, args.connections)
        wrk_log = scratch / "wrk.txt"
        wrk = harness.spawn(
            harness.wrk_command(server.url, args.seconds + 2, args.connections, "stateful"), log=wrk_log
        )
        time.sleep(1)
        raw = scratch / "py-spy.txt"
        command = [
            "taskset", "-c", harness.WRK_CORE, find_py_spy(), "record", "--pid", str(server.process.pid),
            "--duration", str(args.seconds), "--format", "raw", "--function", "--output", str(raw),
            *(["--rate", str(args.rate)] if args.rate else []), *(["--nonblocking"] if args.nonblocking else []),
        ]  # fmt: skip
        spied = subprocess.run(command, capture_output=True, text=True, timeout=args.seconds + 60, check=False)
        wrk.wait(timeout=args.seconds + 60)
    finally:
        if wrk is not None:
            harness.stop(wrk)
        harness.stop(server.process)
    said = (spied.stdout + spied.stderr).strip()
    if spied.returncode != 0 or not raw.exists():
        raise SystemExit(f"py-spy failed ({spied.returncode}): {said}")
    if args.raw:
        shutil.copyfile(raw, args.raw)
    profile = aggregate(raw.read_text())
    profile.wrk, profile.py_spy = wrk_log.read_text(), said
    return profile


def named(frame: str) -> tuple[str, str]:
    """(function, file:first line) of a py-spy frame `function (file:line)`."""
    found = FRAME.match(frame)
    return (found["function"], found["where"]) if found else (frame, "")


def top_table(counts: Counter[str], samples: int, top: int) -> str:
    rows = []
    for rank, (frame, count) in enumerate(counts.most_common(top), 1):
        function, where = named(frame)
        rows.append((rank, f"`{function}`", f"`{where}`", f"{100 * count / samples:.1f}%", count))
    return harness.table(("#", "function", "file:first line", "% of samples", "samples"), rows)


def split_trunk(profile: Profile) -> tuple[Counter[str], list[str]]:
    """Total counts without the frames on (nearly) every sample, and the names of those frames."""
    trunk = [frame for frame, count in profile.total.items() if count >= TRUNK * profile.samples]
    branches = Counter({frame: count for frame, count in profile.total.items() if frame not in trunk})
    return branches, [named(frame)[0] for frame in trunk]


def setup_text(args: argparse.Namespace) -> str:
    options = f" {args.options}" if args.options else ""
    flags = (f" --rate {args.rate}" if args.rate else "") + (" --nonblocking" if args.nonblocking else "")
    return (
        f"Mock from `{args.tree}` (`python -m mock_server serve --rate-limit off{options}`), pinned to core "
        f"{harness.SERVER_CORE}; wrk (`-t1 -c{args.connections}`, stateful workload) and py-spy on core "
        f"{harness.WRK_CORE}; {args.warmup} s of load discarded, then `py-spy record --format raw --function{flags}` "
        f"for {args.seconds} s under load. Percentages are of the busy samples: py-spy leaves idle threads out, "
        "and this script the idle waits it misses (an idle thread-pool worker)."
    )


def report(args: argparse.Namespace, profile: Profile) -> str:
    requests, non_2xx, _, p99, rps, _ = harness.parse_wrk(profile.wrk)
    revision = f"revision {harness.revision()}" if args.tree == harness.ROOT else f"tree {args.tree}"
    said = re.search(r"Samples: \d+ Errors: \d+", profile.py_spy)
    under_load = (
        f"Under the profiler: {rps:.0f} req/s, p99 {p99:.2f} ms, {requests} requests, {non_2xx} non-2xx. "
        f"{profile.samples} busy samples, {profile.idle} idle-wait samples left out "
        f"(py-spy: {said.group(0) if said else 'no summary'})."
    )
    branches, trunk = split_trunk(profile)
    return "\n\n".join(
        [
            f"## Profile: {args.label} (`bench/profile.py`)",
            f"Command: `{harness.command_line()}`; {harness.machine_info()['date']}; {revision}.",
            setup_text(args),
            under_load,
            f"Top {args.top} by own time (the innermost frame of a sample):",
            top_table(profile.own, profile.samples, args.top),
            f"Top {args.top} by total time (the function anywhere on the sample's stack). On at least "
            f"{TRUNK:.0%} of the samples, so left out: {', '.join(f'`{name}`' for name in trunk) or 'none'}.",
            top_table(branches, profile.samples, args.top),
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    harness.ensure_wrk()
    find_py_spy()
    with tempfile.TemporaryDirectory(prefix="sonarly-profile-") as tmp:
        profile = record(args, Path(tmp))
    if not profile.samples:
        raise SystemExit(f"py-spy recorded no samples: {profile.py_spy}")
    text = report(args, profile)
    print(text)
    if args.markdown:
        harness.update_results(args.markdown, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
