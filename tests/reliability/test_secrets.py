"""Secrets: an API key's value never leaves the mock (logs, journal, responses), and it is compared safely.

The mock runs on a copy of the demo data whose write key is a marker. Every kind of answer is provoked
with that key (202, replay, 400, 401, 403, 409, 422, 429, 500, 502, 404, 405) and the marker is searched
for in every response body and header, in the journal and in the server's own output.
GET /__mock/fixtures legitimately returns the keys (it is the data a session runs on), so it is never
called here and never searched.
"""

from __future__ import annotations

import ast
import hmac
import inspect
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mock_server.domain import access
from mock_server.domain.access import Unauthenticated, authenticate
from mock_server.domain.fixtures import load_fixtures
from mock_server.domain.sessions import ensure_session, install_base_fixtures
from mock_server.http import guards
from mock_server.storage.sqlite import SqliteStore as Store
from support.mock_fixtures import API_KEY, GROUP, OTHER_GROUP, PROSPECT, RESPONSES_PATH
from support.mock_process import ROOT, MockProcess

from .helpers import TIMEOUT, Reply, from_httpx, new_session, raw_request

MARKER = "sk_test_MARKER_9f8e7d6c5b4a"
TELLTALES = (MARKER, "MARKER_9f8e7d6c5b4a", "9f8e7d6c5b4a")  # the whole key, and the parts that identify it
MARKER_NAME = "Acme integration key (messages:write)"
BODY = {"prospectId": PROSPECT, "message": "Hello from the secrets test"}


@pytest.fixture(scope="module")
def marked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockProcess]:
    demo = (ROOT / "mock_server" / "data" / "demo.yaml").read_text(encoding="utf-8")
    assert API_KEY in demo
    data: Path = tmp_path_factory.mktemp("secrets") / "marked.yaml"
    data.write_text(demo.replace(API_KEY, MARKER), encoding="utf-8")
    with MockProcess("--data", str(data), "--rate-limit", "1/s") as process:
        yield process


def _leaks(reply: Reply) -> list[str]:
    where = [reply.body.decode("utf-8", "replace"), *(f"{k}: {v}" for k, v in reply.raw_headers)]
    return [f"{reply.describe()[:200]} ... {part[:200]}" for part in where for tell in TELLTALES if tell in part]


def _provoke_every_answer(server: MockProcess) -> tuple[list[Reply], list[str]]:
    """Send the marker key into every kind of answer, one fresh session each (own rate-limit bucket)."""
    replies: list[Reply] = []
    sessions: list[str] = []

    def session() -> str:
        sessions.append(new_session("secret"))
        return sessions[-1]

    def api(client: httpx.Client, name: str, *, path: str = RESPONSES_PATH, auth: str = f"Bearer {MARKER}", **kw):
        headers = {"Authorization": auth, "X-Mock-Session": name, **kw.pop("headers", {})}
        reply = from_httpx(client.request(kw.pop("method", "POST"), path, headers=headers, **kw))
        replies.append(reply)
        return reply

    with httpx.Client(base_url=server.base_url, timeout=TIMEOUT) as client:
        ok = session()
        statuses = [api(client, ok, json=BODY, headers={"Idempotency-Key": "secret-1"}).status]
        statuses.append(api(client, session(), json=BODY).status)
        limited = session()
        statuses += [api(client, limited, json=BODY).status for _ in range(3)]
        for auth in (f"Bearer {MARKER}x", f"Bearer x{MARKER}", f"Bearer {MARKER[:-1]}", f"Basic {MARKER}", MARKER):
            statuses.append(api(client, session(), json=BODY, auth=auth).status)
        statuses.append(api(client, session(), path=f"/v1/accounts/{OTHER_GROUP}/messages/responses", json=BODY).status)
        statuses.append(
            api(client, session(), content=b'{"prospectId": ', headers={"Content-Type": "application/json"}).status
        )
        statuses.append(api(client, session(), json={**BODY, "extra": MARKER[:4]}).status)
        statuses.append(api(client, session(), json=BODY, headers={"Idempotency-Key": "k" * 300}).status)
        statuses.append(api(client, session(), json={"prospectId": "prs_nobody", "message": "Hi"}).status)
        conflict = session()
        statuses.append(api(client, conflict, json=BODY, headers={"Idempotency-Key": "c-1"}).status)
        time.sleep(1.1)  # the rate limit is 1/s of real time
        statuses.append(
            api(client, conflict, json={**BODY, "message": "Other"}, headers={"Idempotency-Key": "c-1"}).status
        )
        for status in (500, 502):
            faulty = session()
            client.post("/__mock/faults", json={"status": status}, headers={"X-Mock-Session": faulty})
            statuses.append(api(client, faulty, json=BODY).status)
        statuses.append(api(client, session(), method="GET").status)
        statuses.append(api(client, session(), path="/v1/accounts/nope").status)
        # The control API without --control-token ignores Authorization; the journal must not echo it.
        replies.append(from_httpx(client.get("/__mock/journal", headers={"Authorization": f"Bearer {MARKER}"})))
    bad_bytes = raw_request(
        server.port,
        "POST",
        RESPONSES_PATH,
        [("Authorization", f"Bearer {MARKER}"), ("X-Mock-Session", session()), ("Content-Type", "application/json")],
        b'{"prospectId":"\xff"}',
    )
    replies.append(bad_bytes)
    statuses.append(bad_bytes.status)
    return replies, sessions


def test_the_key_never_appears_in_responses_journal_or_logs(marked: MockProcess) -> None:
    replies, sessions = _provoke_every_answer(marked)
    statuses = {reply.status for reply in replies}
    assert {200, 202, 400, 401, 403, 409, 422, 429, 500, 502} <= statuses, f"not every answer was provoked: {statuses}"
    leaks = [leak for reply in replies for leak in _leaks(reply)]
    assert not leaks, "the key appears in responses:\n" + "\n".join(leaks)
    with httpx.Client(base_url=f"{marked.base_url}/__mock", timeout=TIMEOUT) as control:
        for name in sessions:
            journal = control.get("/journal", params={"limit": 1000}, headers={"X-Mock-Session": name})
            assert journal.status_code == 200, journal.text
            assert not [tell for tell in TELLTALES if tell in journal.text], (
                f"the journal shows the key: {journal.text}"
            )
            names = {entry["apiKey"] for entry in journal.json()["data"]["entries"]}
            assert names <= {MARKER_NAME, None}, f"journal apiKey must be the fixture name: {names}"
    log = marked.log()
    assert log, "the server wrote nothing at all: the log check would be empty"
    assert not [tell for tell in TELLTALES if tell in log], "the key appears in the server's output:\n" + "\n".join(
        line for line in log.splitlines() if any(tell in line for tell in TELLTALES)
    )


@pytest.mark.parametrize(
    "variant",
    [MARKER[:-1], MARKER + "a", MARKER[:-1] + "b", MARKER.upper(), MARKER + "\\", MARKER[:12]],
    ids=["one-short", "one-long", "last-char-changed", "upper-case", "backslash-suffix", "prefix"],
)
def test_keys_sharing_a_long_prefix_with_the_valid_key_are_401(marked: MockProcess, variant: str) -> None:
    reply = raw_request(
        marked.port,
        "POST",
        RESPONSES_PATH,
        [("Authorization", f"Bearer {variant}"), ("X-Mock-Session", new_session("prefix"))],
        b'{"prospectId":"prs_ada_lovelace","message":"Hi"}',
    )
    assert reply.status == 401, reply.describe()


@pytest.fixture
def demo_store() -> Iterator[Store]:
    store = Store()
    with store.transaction() as conn:
        install_base_fixtures(conn, load_fixtures())
        ensure_session(conn, "s")
    yield store
    store.close()


@pytest.mark.parametrize(
    "variant",
    [API_KEY[:-1], API_KEY + "r", API_KEY[:-1] + "s", API_KEY.upper(), API_KEY + "\x00", "", API_KEY[:8]],
    ids=["one-short", "one-long", "last-char-changed", "upper-case", "nul-suffix", "empty", "prefix"],
)
def test_authentication_rejects_near_misses_of_a_valid_key(demo_store: Store, variant: str) -> None:
    with demo_store.transaction() as conn, pytest.raises(Unauthenticated):
        authenticate(conn, "s", variant)


def test_authentication_confirms_the_key_with_compare_digest(demo_store: Store, monkeypatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    original = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return original(a, b)

    monkeypatch.setattr(access.hmac, "compare_digest", spy)
    with demo_store.transaction() as conn:
        assert authenticate(conn, "s", API_KEY).account_groups == frozenset({GROUP})
    assert calls == [(API_KEY.encode(), API_KEY.encode())], "the key must be confirmed with hmac.compare_digest"


@pytest.mark.parametrize(
    ("function", "secrets"),
    [
        (access.authenticate, {"api_key", "row"}),
        (guards._require_control_token, {"expected", "token", "authorization"}),
    ],
    ids=["api-key", "control-token"],
)
def test_no_secret_is_compared_with_an_equality_operator(function, secrets: set[str]) -> None:
    """Source check: `==`, `!=` or `in` on a secret leaks timing; only digests and compare_digest may see it."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    offending = [
        ast.unparse(node)
        for node in ast.walk(tree)
        if isinstance(node, ast.Compare)
        and any(isinstance(op, ast.Eq | ast.NotEq | ast.In | ast.NotIn) for op in node.ops)
        and {n.id for operand in [node.left, *node.comparators] for n in ast.walk(operand) if isinstance(n, ast.Name)}
        & secrets
    ]
    assert not offending, f"secret compared with an operator in {function.__name__}: {offending}"
