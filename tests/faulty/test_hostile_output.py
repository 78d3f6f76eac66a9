"""A server that answers 500 to everything with NUL bytes, invalid UTF-8 and a 1 MB body cannot break the report."""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET

from starlette.types import Receive, Scope, Send

from faulty.harness import run_kit, serving

HOSTILE_BODY = (
    b'{"success": false, "error": "\x00\x1b[31m\xff\xfe\xc0\x80 \xed\xa0\x80 \xef\xbf\xbf' + b"x" * 1_000_000 + b"\x00"
)


async def hostile(scope: Scope, receive: Receive, send: Send) -> None:
    """500 to every request, whatever it was, with a body no decoder likes and a header of non-ASCII bytes."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    headers = [(b"content-type", b"application/json"), (b"x-trace", b"\xff\x80\xc2\x85"), (b"retry-after", b"soon")]
    headers.append((b"content-length", str(len(HOSTILE_BODY)).encode()))
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": HOSTILE_BODY})


def test_hostile_server_gets_well_formed_junit_and_clean_console(tmp_path) -> None:
    with serving(hostile) as base_url:
        run = run_kit(base_url, tmp_path, "--profile", "quick", "--max-examples", "2")
    assert run.exit_code == 1, run.output[-3000:]
    assert "FAILED contract.not_a_server_error" in run.output
    suite = ET.fromstring(run.junit.encode()).find("testsuite")  # raises on a single bad byte
    assert suite is not None and int(suite.get("failures", "0")) > 5
    raw = [char for char in run.output if char != "\n" and not char.isprintable()]
    assert raw == [], f"raw control characters reached the console: {sorted(set(raw))!r}"
    assert len(run.output) < 1_000_000  # the 1 MB body is never dumped whole on the console


def test_hostile_server_repro_lines_paste_into_a_shell(tmp_path) -> None:
    with serving(hostile) as base_url:
        run = run_kit(base_url, tmp_path, "--only", "validation.*", "--verbose")
    repros = [line.split("repro:", 1)[1].strip() for line in run.output.splitlines() if "repro:" in line]
    assert repros, run.output[-2000:]
    for command in repros:
        assert subprocess.run(["bash", "-n"], input=command.encode(), capture_output=True).returncode == 0, command
    binary = [command for command in repros if command.startswith("printf ")]
    assert binary, "the invalid UTF-8 probe must be reproduced with printf"
    for command in binary:
        sent = subprocess.run(["bash"], input=command.split(" | curl ", 1)[0].encode(), capture_output=True).stdout
        assert re.search(rb"[\x80-\xff]|[\x00-\x1f]", sent), command  # the exact non-printable bytes come back
