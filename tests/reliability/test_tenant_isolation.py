"""Tenant isolation: keys stay in their account groups, idempotency keys in theirs, sessions in theirs.

And for a mock shared by many teams, `--control-token` closes the control API (401 envelope) while the
Sonarly API and the control API's docs stay reachable.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import httpx
import pytest

from support.mock_fixtures import (
    API_KEY,
    CONVERSATION,
    GLOBEX_KEY,
    GROUP,
    OTHER_GROUP,
    PROSPECT,
    READONLY_KEY,
    RESPONSES_PATH,
)
from support.mock_process import MockProcess

from .helpers import (
    TIMEOUT,
    api_headers,
    assert_accepted,
    assert_envelope,
    assert_error,
    from_httpx,
    list_messages,
    new_session,
    raw_request,
)

GLOBEX_PROSPECT, GLOBEX_CONVERSATION, GLOBEX_INMAIL_PROSPECT = (
    "prs_linus_torvalds",
    "cnv_linus_torvalds",
    "prs_margaret_hamilton",
)
GLOBEX_PATH = f"/v1/accounts/{OTHER_GROUP}/messages/responses"
CONTROL_TOKEN = "s3cr3t"
WEDNESDAY_10AM = "2026-12-02T15:00:00.000Z"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with MockProcess("--rate-limit", "off") as process:
        yield process.base_url


@pytest.fixture
def client(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=TIMEOUT) as http:
        yield http


def post(client: httpx.Client, path: str, key: str, session: str, body: dict, idem: str | None = None):
    return client.post(path, json=body, headers=api_headers(key, session, idem))


def test_a_key_never_writes_to_another_group(client: httpx.Client, server: str) -> None:
    session = new_session("iso-groups")
    globex_dm = {"prospectId": GLOBEX_PROSPECT, "message": "Hi Linus"}
    answers = {
        "acme key -> ag_globex, real globex prospect": post(client, GLOBEX_PATH, API_KEY, session, globex_dm),
        "acme key -> ag_globex, no such prospect": post(
            client, GLOBEX_PATH, API_KEY, session, {"prospectId": "prs_nobody", "message": "Hi"}
        ),
        "read-only acme key -> ag_globex": post(client, GLOBEX_PATH, READONLY_KEY, session, globex_dm),
        "globex key -> ag_acme, real acme prospect": post(
            client, RESPONSES_PATH, GLOBEX_KEY, session, {"prospectId": PROSPECT, "message": "Hi Ada"}
        ),
    }
    errors = {name: assert_error(reply, 403, "FORBIDDEN") for name, reply in answers.items()}
    # The 403 is the same whether the prospect exists or not: no oracle on another group's data.
    assert errors["acme key -> ag_globex, real globex prospect"] == errors["acme key -> ag_globex, no such prospect"]
    assert list_messages(server, session, GROUP) == []
    assert list_messages(server, session, OTHER_GROUP) == []


@pytest.mark.parametrize(
    ("path", "key", "body"),
    [
        (RESPONSES_PATH, API_KEY, {"prospectId": GLOBEX_PROSPECT, "message": "Hi Linus"}),
        (
            RESPONSES_PATH,
            API_KEY,
            {
                "prospectId": GLOBEX_PROSPECT,
                "message": "Hi",
                "channel": "direct_message",
                "conversationId": GLOBEX_CONVERSATION,
            },
        ),
        (RESPONSES_PATH, API_KEY, {"prospectId": PROSPECT, "message": "Hi", "conversationId": GLOBEX_CONVERSATION}),
        (
            RESPONSES_PATH,
            API_KEY,
            {"prospectId": GLOBEX_INMAIL_PROSPECT, "message": "Hi", "channel": "inmail", "subject": "Hello"},
        ),
        (GLOBEX_PATH, GLOBEX_KEY, {"prospectId": PROSPECT, "message": "Hi Ada"}),
        (GLOBEX_PATH, GLOBEX_KEY, {"prospectId": GLOBEX_PROSPECT, "message": "Hi", "conversationId": CONVERSATION}),
    ],
    ids=[
        "globex-prospect",
        "globex-prospect-and-chat",
        "acme-prospect-globex-chat",
        "globex-inmail",
        "acme-prospect",
        "acme-chat",
    ],
)
def test_another_groups_prospects_and_chats_are_unknown_data(client, server, path, key, body) -> None:
    session = new_session("iso-data")
    assert_error(post(client, path, key, session, body), 422, "VALIDATION_ERROR")
    assert list_messages(server, session, GROUP) == list_messages(server, session, OTHER_GROUP) == []


def test_the_same_idempotency_key_in_two_groups_never_interacts(client: httpx.Client, server: str) -> None:
    session, idem = new_session("iso-keys"), "shared-key-1"
    acme_body = {"prospectId": PROSPECT, "message": "Hi Ada"}
    globex_body = {"prospectId": GLOBEX_PROSPECT, "message": "Hi Linus"}
    assert_error(post(client, GLOBEX_PATH, API_KEY, session, globex_body, idem), 403, "FORBIDDEN")  # binds nothing
    acme = assert_accepted(post(client, RESPONSES_PATH, API_KEY, session, acme_body, idem), replayed=False)
    globex = assert_accepted(post(client, GLOBEX_PATH, GLOBEX_KEY, session, globex_body, idem), replayed=False)
    assert acme["id"] != globex["id"]
    assert assert_accepted(post(client, RESPONSES_PATH, API_KEY, session, acme_body, idem), replayed=True) == acme
    assert assert_accepted(post(client, GLOBEX_PATH, GLOBEX_KEY, session, globex_body, idem), replayed=True) == globex
    # A conflict in one group leaves the other group's binding alone.
    assert_error(
        post(client, RESPONSES_PATH, API_KEY, session, {**acme_body, "message": "Changed"}, idem),
        409,
        "IDEMPOTENCY_CONFLICT",
    )
    assert assert_accepted(post(client, GLOBEX_PATH, GLOBEX_KEY, session, globex_body, idem), replayed=True) == globex
    assert [m["id"] for m in list_messages(server, session, GROUP)] == [acme["id"]]
    assert [m["id"] for m in list_messages(server, session, OTHER_GROUP)] == [globex["id"]]


def _control(client: httpx.Client, session: str, method: str, path: str, **kwargs) -> dict:
    reply = client.request(method, f"/__mock{path}", headers={"X-Mock-Session": session}, **kwargs)
    assert reply.status_code in (200, 201), reply.text
    return assert_envelope(from_httpx(reply))["data"]


def test_sessions_never_see_each_others_state(client: httpx.Client, server: str) -> None:
    one, two, idem = new_session("iso-a"), new_session("iso-b"), "session-key-1"
    fixtures = _control(client, one, "GET", "/fixtures")
    changed = copy.deepcopy(fixtures)
    changed["accountGroups"][0]["prospects"].append(
        {"id": "prs_only_in_one", "connected": True, "conversations": ["cnv_one"]}
    )
    _control(client, one, "PUT", "/fixtures", json=changed)
    _control(client, one, "PUT", "/clock", json={"now": WEDNESDAY_10AM, "frozen": True})
    first = assert_accepted(
        post(client, RESPONSES_PATH, API_KEY, one, {"prospectId": PROSPECT, "message": "One"}, idem)
    )
    _control(client, one, "POST", "/faults", json={"status": 500, "count": 3})

    clock_two = _control(client, two, "GET", "/clock")
    assert clock_two["frozen"] is False and clock_two["now"] != WEDNESDAY_10AM
    assert _control(client, two, "GET", "/journal")["entries"] == []
    assert _control(client, two, "GET", "/faults")["faults"] == []
    assert "prs_only_in_one" not in str(_control(client, two, "GET", "/fixtures"))
    assert list_messages(server, two, GROUP) == []
    second = assert_accepted(
        post(client, RESPONSES_PATH, API_KEY, two, {"prospectId": PROSPECT, "message": "Two"}, idem), replayed=False
    )  # same key, other body: no conflict, and session one's pending 500s do not apply here
    assert second["id"] != first["id"]
    assert_error(
        post(client, RESPONSES_PATH, API_KEY, two, {"prospectId": "prs_only_in_one", "message": "x"}),
        422,
        "VALIDATION_ERROR",
    )
    _control(client, two, "POST", "/reset")

    assert [f["remaining"] for f in _control(client, one, "GET", "/faults")["faults"]] == [3]
    journal_one = _control(client, one, "GET", "/journal")["entries"]
    assert [entry["status"] for entry in journal_one] == [202]
    assert [m["id"] for m in list_messages(server, one, GROUP)] == [first["id"]]
    assert _control(client, one, "GET", "/clock")["now"] == WEDNESDAY_10AM
    assert_error(
        post(client, RESPONSES_PATH, API_KEY, one, {"prospectId": PROSPECT, "message": "One more"}),
        500,
        "INTERNAL_ERROR",
    )


def test_rate_limit_buckets_are_per_session() -> None:
    with (
        MockProcess("--rate-limit", "1/m") as limited,
        httpx.Client(base_url=limited.base_url, timeout=TIMEOUT) as client,
    ):
        one, two = new_session("rl-a"), new_session("rl-b")
        body = {"prospectId": PROSPECT, "message": "Hi"}
        assert_accepted(post(client, RESPONSES_PATH, API_KEY, one, body))
        assert_error(post(client, RESPONSES_PATH, API_KEY, one, body), 429, "RATE_LIMITED")
        assert_accepted(post(client, RESPONSES_PATH, API_KEY, two, body))


@pytest.fixture(scope="module")
def guarded() -> Iterator[MockProcess]:
    with MockProcess("--control-token", CONTROL_TOKEN, "--rate-limit", "off") as process:
        yield process


CONTROL_CALLS = [
    ("POST", "/reset", None),
    ("GET", "/fixtures", None),
    ("GET", "/clock", None),
    ("PUT", "/clock", {"now": "2030-01-01T00:00:00Z", "frozen": True}),
    ("POST", "/clock/advance", {"seconds": 86400}),
    ("GET", f"/accounts/{GROUP}/messages", None),
    ("GET", "/journal", None),
    ("GET", "/faults", None),
    ("POST", "/faults", {"status": 500, "count": 100}),
    ("DELETE", "/faults", None),
    ("PUT", "/fixtures", {"accountGroups": [{"id": "ag_x"}], "apiKeys": []}),
]
WRONG_AUTHORIZATION = [
    None,
    "Bearer",
    "Bearer wrong",
    f"Bearer {CONTROL_TOKEN}x",
    f"Bearer {CONTROL_TOKEN[:-1]}",
    f"Bearer {CONTROL_TOKEN.upper()}",
    f"Basic {CONTROL_TOKEN}",
    f"Bearer {API_KEY}",
]


@pytest.mark.parametrize("authorization", WRONG_AUTHORIZATION, ids=lambda a: str(a))
def test_the_control_token_closes_every_control_operation(guarded: MockProcess, authorization: str | None) -> None:
    session = new_session("guarded")
    headers = {"X-Mock-Session": session, **({"Authorization": authorization} if authorization else {})}
    with httpx.Client(base_url=f"{guarded.base_url}/__mock", timeout=TIMEOUT) as client:
        for method, path, body in CONTROL_CALLS:
            assert_error(client.request(method, path, json=body, headers=headers), 401, "UNAUTHORIZED")
        token = {"X-Mock-Session": session, "Authorization": f"Bearer {CONTROL_TOKEN}"}
        clock = client.get("/clock", headers=token)
        assert clock.status_code == 200 and clock.json()["data"]["frozen"] is False, "a refused PUT /clock changed it"
        assert client.get("/faults", headers=token).json()["data"]["faults"] == [], "a refused POST /faults added one"
        assert client.get("/journal", headers=token).json()["data"]["entries"] == []


def test_with_the_control_token_the_control_api_answers(guarded: MockProcess) -> None:
    headers = {"X-Mock-Session": new_session("guarded-ok"), "Authorization": f"Bearer {CONTROL_TOKEN}"}
    with httpx.Client(base_url=f"{guarded.base_url}/__mock", timeout=TIMEOUT, headers=headers) as client:
        for method, path, body in CONTROL_CALLS:
            reply = client.request(method, path, json=body)
            assert reply.status_code in (200, 201), f"{method} {path}: {reply.status_code} {reply.text[:300]}"
            assert assert_envelope(from_httpx(reply))["success"] is True


def test_docs_and_the_sonarly_api_stay_reachable_without_the_control_token(guarded: MockProcess) -> None:
    with httpx.Client(base_url=guarded.base_url, timeout=TIMEOUT) as client:
        ui = client.get("/__mock/ui/")
        assert ui.status_code == 200 and "swagger" in ui.text.lower(), ui.status_code
        assert client.get("/__mock/openapi.json").json()["info"]["title"].startswith("Sonarly mock")
        session = new_session("guarded-api")
        body = {"prospectId": PROSPECT, "message": "The API ignores the control token"}
        assert_accepted(post(client, RESPONSES_PATH, API_KEY, session, body))
        assert_error(post(client, RESPONSES_PATH, CONTROL_TOKEN, session, body), 401, "UNAUTHORIZED")


@pytest.mark.parametrize(
    "target",
    [
        "//__mock/journal",
        "/__mock//journal",
        "/__mock/ui/../journal",
        "/__mock/ui%2F..%2Fjournal",
        "/__mock/openapi.json/../journal",
        "/%5F%5Fmock/journal",
        "/__mock%2Fjournal",
        "/__mock/journal/",
    ],
)
def test_path_tricks_do_not_get_past_the_control_token(guarded: MockProcess, target: str) -> None:
    reply = raw_request(guarded.port, "GET", target, [("X-Mock-Session", "default")])
    assert reply.status in (401, 404), f"expected a 401 or 404 envelope: {reply.describe()}"
    assert_error(reply, reply.status, "UNAUTHORIZED" if reply.status == 401 else "NOT_FOUND")
