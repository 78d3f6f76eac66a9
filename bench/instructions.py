"""Instructions per accepted request, counted by valgrind: a measure the noisy machine cannot move.

    python bench/instructions.py                                  # this checkout
    python bench/instructions.py --tree /tmp/old --tree .         # another revision and this one, side by side
    python bench/instructions.py --drive 1000                     # the driver alone (no valgrind), for a smoke test
    python bench/instructions.py --through-uvicorn --tree /tmp/old --tree .   # uvicorn's HTTP protocol included

Why: on this 2-core VM the same code's requests/s moves by a third between runs an hour apart (another tenant, wrk
on the sibling core), and a change worth 2% drowns in it; `bench/compare.py` needs many rounds to see 5%.
`valgrind --tool=callgrind` counts the instructions the process executes, which repeat within 0.1% for one tree
within one run (with PYTHONHASHSEED fixed); between runs hours apart the same tree has moved by up to 3% (the
request log's flushes and other work follow the clock, which valgrind and a loaded machine slow down), so compare
trees within one run only. Instructions are not time (a cache miss costs more than an add), so this ranks
changes to the mock's own work; `bench/run.py` stays the measure of throughput against Prism. A count can promise
more than a served run shows: the sixth session's two changes counted 0.904x and served 0.97x the CPU per
request (bench/RESULTS.md).

How: each tree's driver builds the app with the factory a served process runs (`app_from_environment`: SQLite's
memory statistics off, `create_app`, the garbage collector's start-up freeze) with the request log on at info
level into /dev/null, then plays `--warmup` requests and `--requests` more as raw ASGI calls, the stateful
workload of `bench/run.py` (a valid body, a fresh Idempotency-Key each, the demo's writer key): no sockets, no
uvicorn, only the mock's layers, domain and SQLite. The default warm-up fills the session's journal ring past its
bound (`journal.KEEP_AUTHENTICATED`, plus 100) so that every measured request runs as a served mock's do after its
first thousand, the ring trimmed every 32 entries; a warm-up of 200 measured the ring still filling, without the
trims (738k instructions against 762k in the steady state, 2026-12-02).
valgrind runs the driver twice, with `--requests` 0 and N; the difference over N is the figure, so start-up and
the warm-up cancel out. Trees run two at a time (one per core); each takes about two and a half minutes.

`--through-uvicorn` feeds the same requests as raw HTTP/1.1 bytes to uvicorn's protocol as the mock serves it
(mock_server/http/protocol.py) over an in-memory transport: parsing, the request cycle, the response's bytes, so a
change there counts too. Its timers and the request log's flushes follow the clock, which valgrind slows down, so
it repeats within about 1%, not 0.1%; no kernel and no socket are in it. Fewer instructions is not always more
throughput: answering each request inside `data_received`, its response written at once, counted 0.97x here and
served 0.80x the requests/s side by side (bench/RESULTS.md), so a change to when the mock writes needs
`bench/compare.py` too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import MutableMapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BODY = json.dumps({"prospectId": "prs_ada_lovelace", "message": "Thanks for the context."}).encode()
COLLECTED = re.compile(r"Collected : (\d+)")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", type=Path, action="append", help="checkout to measure (repeatable; default: .)")
    parser.add_argument("--requests", type=int, default=1000, help="measured requests per tree")
    parser.add_argument(
        "--warmup",
        type=int,
        help="requests before the measured ones (default: past the journal ring's bound; 0 with --drive)",
    )
    parser.add_argument("--drive", type=int, metavar="N", help="internal: play N requests after the warm-up here")
    parser.add_argument("--through-uvicorn", action="store_true", help="raw HTTP through uvicorn's protocol")
    return parser.parse_args(argv)


def scope(key: str) -> dict[str, Any]:
    path = "/v1/accounts/ag_acme/messages/responses"
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
        "headers": [(b"host", b"bench"), (b"authorization", b"Bearer sk_test_acme_writer"),
                    (b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode()),
                    (b"idempotency-key", key.encode())],
    }  # fmt: skip


def served_app() -> Any:
    """The app of the mock importable from the working directory (another checkout's is refused), built by the
    factory a served process runs (`app_from_environment`: the request log on at info, here into /dev/null, and
    whatever the process sets up before and after the app, such as the collector's start-up freeze)."""
    sys.path.insert(0, os.getcwd())
    import mock_server
    from mock_server.config import MockConfig
    from mock_server.http.app import app_from_environment

    if not Path(mock_server.__file__).resolve().is_relative_to(Path.cwd().resolve()):
        raise SystemExit(f"imported {mock_server.__file__}, not the mock of {Path.cwd()}")

    sys.stderr = open(os.devnull, "w")  # the request log's stream, for the process's life
    MockConfig(rate_limit="off").to_environment()
    return app_from_environment()


def drive(warmup: int, requests: int) -> None:
    """Play the requests in this process against the mock importable from the working directory."""
    app = served_app()

    async def one(key: str) -> None:
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": BODY, "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(dict(message))

        await app(scope(key), receive, send)
        if sent[0]["status"] != 202:
            raise SystemExit(f"expected a 202, got {sent[0]['status']}: {sent[-1].get('body', b'')[:200]!r}")

    async def play() -> None:
        for index in range(warmup + requests):
            await one(f"bench-{index}")

    asyncio.run(play())


def request_bytes(key: str) -> bytes:
    """`scope(key)`'s request as a client sends it."""
    head = scope(key)
    request_line = f"{head['method']} {head['path']} HTTP/1.1".encode()
    lines = [request_line, *(name + b": " + value for name, value in head["headers"])]
    return b"\r\n".join(lines) + b"\r\n\r\n" + BODY


class MemoryTransport(asyncio.Transport):
    """The socket's side of a connection, in memory: what the protocol writes, and a future per response."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.answered: asyncio.Future[None] | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written.append(bytes(data))
        if self.answered is not None and not self.answered.done():
            self.answered.set_result(None)

    def is_closing(self) -> bool:
        return False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8080), "peername": ("127.0.0.1", 40000)}.get(name, default)


def drive_through_uvicorn(warmup: int, requests: int) -> None:
    """The requests as bytes through the mock's uvicorn protocol, one keep-alive connection, uvloop's loop."""
    import uvicorn
    import uvloop
    from uvicorn.server import ServerState

    app = served_app()  # first: it puts this tree's mock on the path, and checks it is the one imported
    from mock_server.http.protocol import EnvelopeHttpToolsProtocol

    config = uvicorn.Config(app, http=EnvelopeHttpToolsProtocol, lifespan="off", access_log=False)
    config.load()
    loop = uvloop.new_event_loop()
    protocol = EnvelopeHttpToolsProtocol(config=config, server_state=ServerState(), app_state={}, _loop=loop)
    transport = MemoryTransport()
    protocol.connection_made(transport)

    async def play() -> None:
        for index in range(warmup + requests):
            transport.written.clear()
            transport.answered = loop.create_future()
            protocol.data_received(request_bytes(f"bench-{index}"))
            await transport.answered
            await asyncio.sleep(0)
            if not transport.written[0].startswith(b"HTTP/1.1 202 "):
                raise SystemExit(f"expected a 202, got {b''.join(transport.written)[:300]!r}")

    loop.run_until_complete(play())


def steady_warmup() -> int:
    """Past the journal ring's bound, so the measured requests trim it as a served mock's do (the module's
    docstring). Read in the parent only: a driver must import its own tree's mock, nothing of this one's first."""
    from mock_server.domain.journal import KEEP_AUTHENTICATED

    return KEEP_AUTHENTICATED + 100


def collected(tree: Path, warmup: int, requests: int, through_uvicorn: bool = False) -> int:
    """Instructions valgrind counted for one driver run in `tree`."""
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, str(Path(__file__)),
         "--warmup", str(warmup), "--drive", str(requests), *(["--through-uvicorn"] if through_uvicorn else [])],
        cwd=tree, env={**os.environ, "PYTHONHASHSEED": "0"}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    found = COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"{tree}: the driver failed under valgrind:\n{done.stdout}{done.stderr[-2000:]}")
    return int(found.group(1))


def per_request(tree: Path, warmup: int, requests: int, through_uvicorn: bool = False) -> float:
    measured = collected(tree, warmup, requests, through_uvicorn)
    return (measured - collected(tree, warmup, 0, through_uvicorn)) / requests


def revision(tree: Path) -> str:
    done = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else "(not a checkout)"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.drive is not None:
        (drive_through_uvicorn if args.through_uvicorn else drive)(args.warmup or 0, args.drive)
        return 0
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not on PATH (apt-get install -y valgrind)")
    trees = [tree.resolve() for tree in args.tree or [ROOT]]
    warmup = steady_warmup() if args.warmup is None else args.warmup
    with ThreadPoolExecutor(max_workers=2) as pool:
        counts = list(pool.map(lambda tree: per_request(tree, warmup, args.requests, args.through_uvicorn), trees))
    print("| tree | revision | instructions per accepted request | vs the first |")
    print("| --- | --- | --- | --- |")
    for tree, count in zip(trees, counts, strict=True):
        print(f"| {tree} | {revision(tree)} | {count:,.0f} | {count / counts[0]:.3f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
