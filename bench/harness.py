"""Shared plumbing for the bench scripts: tools, server processes, wrk rounds, CPU accounting, reporting.

Everything here is stdlib-only so the scripts run from a fresh checkout with only the package installed.
Every process started here lives in its own process group and is killed on exit, exception or SIGTERM.
"""

from __future__ import annotations

import atexit
import http.client
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
SPEC = ROOT / "openapi" / "sonarly.yaml"
LUA = BENCH / "unique_keys.lua"
EXPECT_LUA = BENCH / "expect_status.lua"
RESULTS = BENCH / "RESULTS.md"
PRISM_DIR = BENCH / ".prism"
PRISM_VERSION = "5.16.0"
WRK_ARGS = ("sk_test_acme_writer", "ag_acme", "prs_ada_lovelace")
PATH = "/v1/accounts/ag_acme/messages/responses"
ERROR_STATUS = {"invalid": 400, "unauthorized": 401, "conflict": 409, "not-connected": 409}
"""The error workloads (bench/expect_status.lua) and the one status each must get; the mock only (Prism does not
model keys, state or every problem of a body)."""
NOT_CONNECTED_PROSPECT = "prs_grace_hopper"
"""The demo's prospect who is not connected and has no chat, so a direct message to her is a 409."""
SERVER_CORE = "0"
WRK_CORE = "1"
CLK_TCK = os.sysconf("SC_CLK_TCK")

_live: list[subprocess.Popen[bytes]] = []


# --- tools -------------------------------------------------------------------------------------------


def ensure_wrk() -> str:
    """wrk from the Debian package: the load generator the issue names; installed only when missing."""
    found = shutil.which("wrk")
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    print("wrk not found: installing it with apt-get", file=sys.stderr)
    if subprocess.run([*sudo, "apt-get", "install", "-y", "wrk"], check=False).returncode != 0:
        subprocess.run([*sudo, "apt-get", "update"], check=True)
        subprocess.run([*sudo, "apt-get", "install", "-y", "wrk"], check=True)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is still not on PATH after apt-get install")
    return found


def ensure_prism() -> Path:
    """Prism pinned to one version in bench/.prism, so every run compares against the same Prism."""
    binary = PRISM_DIR / "node_modules" / ".bin" / "prism"
    manifest = PRISM_DIR / "node_modules" / "@stoplight" / "prism-cli" / "package.json"
    if binary.exists() and manifest.exists() and json.loads(manifest.read_text())["version"] == PRISM_VERSION:
        return binary
    if not shutil.which("npm"):
        raise SystemExit("npm is needed to install Prism (apt-get install -y nodejs npm)")
    print(f"installing @stoplight/prism-cli@{PRISM_VERSION} into {PRISM_DIR}", file=sys.stderr)
    PRISM_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["npm", "install", "--prefix", str(PRISM_DIR), "--no-audit", "--no-fund", "--ignore-scripts",
         f"@stoplight/prism-cli@{PRISM_VERSION}"],
        check=True,
    )  # fmt: skip
    return binary


def machine_info() -> dict[str, str]:
    """What a reader needs to judge the numbers: cores, CPU, interpreter versions, date."""
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False).stdout.strip()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "node": node or "not installed",
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "mock revision": revision(),
    }


def revision() -> str:
    """The commit the servers ran, flagged when mock_server/ or openapi/ had uncommitted changes."""
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    dirty = subprocess.run([*git, "status", "--porcelain", "--", "mock_server", "openapi"],
                           capture_output=True, text=True, check=False)  # fmt: skip
    suffix = " + uncommitted changes in mock_server/ or openapi/" if dirty.stdout.strip() else ""
    return (head.stdout.strip() or "unknown") + suffix


# --- processes ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop_all() -> None:
    for process in list(_live):
        stop(process)


def _on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


atexit.register(_stop_all)
signal.signal(signal.SIGTERM, _on_sigterm)


def spawn(argv: Sequence[str], log: Path | None = None, cwd: Path = ROOT) -> subprocess.Popen[bytes]:
    """Start a command in its own process group, remembered so that exit always stops it."""
    out = log.open("wb") if log else subprocess.DEVNULL
    process = subprocess.Popen(list(argv), cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    _live.append(process)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group, SIGKILL it if it lingers."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        except ProcessLookupError:
            pass
    if process in _live:
        _live.remove(process)


def request(port: int, method: str, path: str, body: dict[str, object] | None = None) -> tuple[int, bytes]:
    """One loopback HTTP request with the bench credentials; returns (status, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Authorization": f"Bearer {WRK_ARGS[0]}", "Content-Type": "application/json"}
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_ready(process: subprocess.Popen[bytes], port: int, path: str, timeout: float = 60.0) -> None:
    """Poll until the server answers (any HTTP status), or fail with its exit code."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before answering")
        try:
            request(port, "GET", path)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server did not answer on port {port} within {timeout}s")


@dataclass
class Server:
    """A server under test: a name, its port and its process group."""

    name: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_mock(
    name: str, extra: Sequence[str] = (), cores: str = SERVER_CORE, log: Path | None = None, tree: Path = ROOT
) -> Server:
    """`python -m mock_server serve` with the rate limit off, pinned to `cores`, from the checkout `tree`."""
    port = free_port()
    argv = ["taskset", "-c", cores, sys.executable, "-m", "mock_server", "serve", "--port", str(port)]
    process = spawn([*argv, "--rate-limit", "off", *extra], log, cwd=tree)
    wait_ready(process, port, "/healthz")
    return Server(name, port, process)


FLOOR = "floor"
FLOOR_COMMAND = ("-m", "uvicorn", "floor_app:app", "--http", "httptools", "--loop", "uvloop", "--no-access-log",
                 "--log-level", "warning")  # fmt: skip
"""The HTTP floor's server as Python runs it from bench/: started here and quoted in run.py's report."""


def start_floor(cores: str = SERVER_CORE) -> Server:
    """The HTTP floor (bench/floor_app.py): uvicorn with httptools and uvloop, as the mock is served, and a bare app
    answering a fixed 202; no access log, pinned to `cores`."""
    port = free_port()
    process = spawn(["taskset", "-c", cores, sys.executable, *FLOOR_COMMAND, "--port", str(port)], cwd=BENCH)
    wait_ready(process, port, PATH)
    return Server(FLOOR, port, process)


PRISM_QUIET = "prism -v error"


def start_prism(binary: Path, cores: str = SERVER_CORE, quiet: bool = False) -> Server:
    """Prism on the same spec, output discarded: default logging (as most teams would run it), or with `quiet`
    `-v error`, which skips its per-request log lines and is its fastest setting."""
    port = free_port()
    argv = ["taskset", "-c", cores, str(binary), "mock", str(SPEC), "-p", str(port), "-h", "127.0.0.1"]
    process = spawn([*argv, "-v", "error"] if quiet else argv)
    wait_ready(process, port, PATH)
    return Server(PRISM_QUIET if quiet else "prism", port, process)


# --- CPU accounting ----------------------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # fields from 3 (state) on


def _tree(root: int) -> list[int]:
    """The root and every live descendant (uvicorn workers are children of the supervisor)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))):
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def rss_bytes(root: int) -> int:
    """VmRSS summed over the process tree (a worker's memory counts too); pages shared between them count twice."""
    total = 0
    for pid in _tree(root):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        if found := re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE):
            total += int(found.group(1)) * 1024
    return total


def cpu_seconds(root: int) -> float:
    """utime+stime+cutime+cstime (stat fields 14-17) summed over the process tree, in seconds."""
    ticks = 0
    for pid in _tree(root):
        fields = _stat_fields(pid)
        if fields:
            ticks += sum(int(x) for x in fields[11:15])
    return ticks / CLK_TCK


# --- wrk rounds --------------------------------------------------------------------------------------

BENCH_LINE = re.compile(r"BENCH requests=(\d+) errors_status=(\d+) p50_us=(\d+) p99_us=(\d+)")
RPS_LINE = re.compile(r"Requests/sec:\s+([\d.]+)")
WRONG_LINE = re.compile(r"wrong_status=(\d+)")
SOCKET_LINE = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


@dataclass(frozen=True)
class Round:
    """One wrk run against one server: what the tables are made of."""

    server: str
    workload: str
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int
    cpu_ms_per_request: float
    wrong_status: int | None = None
    """Error workloads only: answers other than the expected status and body (their non-2xx is every answer)."""

    def line(self) -> str:
        checked = f"non-2xx {self.non_2xx:<4}" if self.wrong_status is None else f"wrong-status {self.wrong_status:<4}"
        return (
            f"{self.server:<24} {self.workload:<13} {self.rps:9.0f} req/s  p50 {self.p50_ms:7.2f} ms  "
            f"p99 {self.p99_ms:7.2f} ms  {checked} sock-err {self.socket_errors:<3} "
            f"CPU {self.cpu_ms_per_request:.3f} ms/req"
        )


def wrk_command(url: str, duration: int, connections: int, workload: str) -> list[str]:
    """wrk on its own core; `stateful` and `replay` through unique_keys.lua, error workloads through
    expect_status.lua, which also checks every answer against the workload's status."""
    script, script_args = LUA, [*WRK_ARGS, *(["replay"] if workload == "replay" else [])]
    if workload in ERROR_STATUS:
        prospect = NOT_CONNECTED_PROSPECT if workload == "not-connected" else WRK_ARGS[2]
        script, script_args = EXPECT_LUA, [*WRK_ARGS[:2], prospect, workload, str(ERROR_STATUS[workload])]
    return [
        "taskset", "-c", WRK_CORE, "wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency",
        "-s", str(script), url, "--", *script_args,
    ]  # fmt: skip


def parse_wrk(output: str) -> tuple[int, int, float, float, float, int]:
    """(requests, non-2xx, p50 ms, p99 ms, requests/s, socket errors) from wrk's output and the BENCH line."""
    bench = BENCH_LINE.search(output)
    rps = RPS_LINE.search(output)
    if not bench or not rps:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    requests, non_2xx, p50, p99 = (int(x) for x in bench.groups())
    sockets = SOCKET_LINE.search(output)
    socket_errors = sum(int(x) for x in sockets.groups()) if sockets else 0
    return requests, non_2xx, p50 / 1000, p99 / 1000, float(rps.group(1)), socket_errors


def run_round(server: Server, workload: str, duration: int, connections: int) -> Round:
    """One bounded wrk run; CPU is the server tree's CPU time during the run divided by requests."""
    command = wrk_command(server.url, duration, connections, workload)
    before = cpu_seconds(server.process.pid)
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    used = cpu_seconds(server.process.pid) - before
    requests, non_2xx, p50, p99, rps, socket_errors = parse_wrk(done.stdout)
    cpu = used * 1000 / requests if requests else float("nan")
    wrong = WRONG_LINE.search(done.stdout)
    wrong_status = int(wrong.group(1)) if wrong else None
    return Round(server.name, workload, rps, p50, p99, requests, non_2xx, socket_errors, cpu, wrong_status)


@dataclass(frozen=True)
class Summary:
    """Medians over the kept rounds of one server and workload; non-2xx and socket errors are totals."""

    server: str
    workload: str
    rounds: int
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_ms_per_request: float
    non_2xx: int
    socket_errors: int
    requests: int
    wrong_status: int | None = None


def summarize(rounds: Sequence[Round]) -> Summary:
    first = rounds[0]
    return Summary(
        first.server,
        first.workload,
        len(rounds),
        statistics.median(r.rps for r in rounds),
        statistics.median(r.p50_ms for r in rounds),
        statistics.median(r.p99_ms for r in rounds),
        statistics.median(r.cpu_ms_per_request for r in rounds),
        sum(r.non_2xx for r in rounds),
        sum(r.socket_errors for r in rounds),
        sum(r.requests for r in rounds),
        None if first.wrong_status is None else sum(r.wrong_status or 0 for r in rounds),
    )


# --- reporting ---------------------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table; it reads fine in a terminal too."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def machine_table(info: dict[str, str]) -> str:
    return table(("machine", ""), list(info.items()))


def update_results(section: str, text: str) -> None:
    """Replace one script's section of bench/RESULTS.md (between markers), keeping the others."""
    begin, end = f"<!-- {section}:begin -->", f"<!-- {section}:end -->"
    block = f"{begin}\n{text.strip()}\n{end}"
    current = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if begin in current and end in current:
        head, rest = current.split(begin, 1)
        current = head + block + rest.split(end, 1)[1]
    else:
        current = current.rstrip() + "\n\n" + block + "\n"
    RESULTS.write_text(current)
    print(f"updated {RESULTS.relative_to(ROOT)} [{section}]", file=sys.stderr)


def command_line() -> str:
    """The command as typed, relative to the repository, for RESULTS.md."""
    script = Path(sys.argv[0]).resolve()
    shown = script.relative_to(ROOT) if script.is_relative_to(ROOT) else script
    return shlex.join(["python", str(shown), *sys.argv[1:]])
