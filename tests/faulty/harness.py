"""Serve an ASGI app on a free loopback port in a background thread, and run the kit against it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from click.testing import CliRunner
from starlette.types import ASGIApp

from conformance.cli import main

FIXTURES = {
    "api_key": "sk_test_acme_writer",
    "account_group_id": "ag_acme",
    "prospect_id": "prs_ada_lovelace",
    "conversation_id": "cnv_ada_lovelace",
    "inmail_prospect_id": "prs_grace_hopper",
    "restricted_api_key": "sk_test_acme_readonly",
    "foreign_account_group_id": "ag_globex",
}
SEED = "4242"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(app: ASGIApp) -> Iterator[str]:
    """Yield the base URL of `app` served by uvicorn until the block ends."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass(frozen=True)
class KitRun:
    """What one in-process kit run left behind."""

    exit_code: int
    output: str
    junit: str


def run_kit(base_url: str, tmp_path: Path, *extra: str, fixtures: dict[str, str] | None = None) -> KitRun:
    """Run `sonarly-conformance run` in-process with the demo fixtures, a fixed seed and a private database."""
    junit = tmp_path / "junit.xml"
    database = str(tmp_path / "hypothesis")
    args = ["run", "--base-url", base_url, "--seed", SEED, "--junit-xml", str(junit), "--hypothesis-database", database]
    for name, value in (fixtures or FIXTURES).items():
        args += ["--" + name.replace("_", "-"), value]
    if "--seed" in extra:
        args = args[:4] + args[6:]  # the caller's seed wins
    result = CliRunner().invoke(main, [*args, *extra], env={"SONARLY_CONFIG": ""}, catch_exceptions=False)
    return KitRun(result.exit_code, result.output, junit.read_text() if junit.exists() else "")
