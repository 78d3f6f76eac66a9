"""CORS for browser clients, routing errors, odd paths and the mock's own pages."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from urllib.parse import urljoin

import httpx
import pytest
from helpers import add_fault, assert_error, assert_ok, bearer, freeze, group_path, post
from starlette.middleware.cors import CORSMiddleware

from mock_server.http.cors import vary_origin
from support.mock_fixtures import API_KEY, RESPONSES_PATH
from support.mock_process import MockProcess

ORIGIN = "http://localhost:3000"
REQUESTED_HEADERS = ["authorization", "content-type", "idempotency-key", "x-mock-session"]
EXPOSED = {"idempotent-replayed", "retry-after", "x-trace-id"}
DASHBOARD = "http://dashboard.example:4000"
FROZEN = "2026-12-02T15:00:00.000Z"


def header_set(response: httpx.Response, name: str) -> set[str]:
    return {item.strip().lower() for item in response.headers.get(name, "").split(",") if item.strip()}


def preflight(client: httpx.Client, origin: str = ORIGIN, path: str = RESPONSES_PATH) -> httpx.Response:
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": ",".join(REQUESTED_HEADERS),
        },
    )


def test_preflight_allows_post_and_the_four_headers(bare):
    response = preflight(bare)
    assert response.status_code == 200, response.text
    assert response.headers.get("access-control-allow-origin") in ("*", ORIGIN)
    assert "POST" in {m.upper() for m in header_set(response, "access-control-allow-methods")}
    assert set(REQUESTED_HEADERS) <= header_set(response, "access-control-allow-headers")


def test_the_control_api_approves_no_preflight_from_another_origin(bare):
    """Same-origin by default: a page elsewhere cannot call the control API (which lists every API key)."""
    response = preflight(bare, path="/__mock/clock")
    error = assert_error(response, 403, "FORBIDDEN")
    assert "--control-cors-origin" in error["details"]
    assert not any(name.startswith("access-control-") for name in response.headers)


def test_control_responses_carry_no_cors_headers_for_another_origin(bare):
    response = bare.get("/__mock/fixtures", headers={"Origin": ORIGIN})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


def test_a_text_plain_reset_is_refused_and_changes_nothing(bare, control):
    """`POST /__mock/reset` with text/plain is what any web page can send without a preflight."""
    freeze(control, FROZEN)
    forged = control.post("/reset", content=b"{}", headers={"Content-Type": "text/plain"})
    assert "application/json" in assert_error(forged, 400, "VALIDATION_ERROR")["details"]
    form = control.post("/reset", content=b"", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_error(form, 400, "VALIDATION_ERROR")
    assert assert_ok(control.get("/clock"))["frozen"] is True


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("POST", "/reset", None), ("PUT", "/clock", {"frozen": False}), ("DELETE", "/faults", None)],
)
def test_writes_from_another_origin_are_refused(control, method, path, body):
    """A body-less `fetch(..., {method: "POST", mode: "no-cors"})` has no content type to refuse: its Origin is."""
    freeze(control, FROZEN)
    response = control.request(method, path, json=body, headers={"Origin": "http://evil.example"})
    assert "http://evil.example" in assert_error(response, 403, "FORBIDDEN")["details"]
    assert assert_ok(control.get("/clock"))["frozen"] is True


def test_body_less_writes_need_no_header_from_curl_or_the_mock_own_pages(mock_url, control):
    freeze(control, FROZEN)
    assert_ok(control.post("/reset"))
    assert assert_ok(control.get("/clock"))["frozen"] is False
    freeze(control, FROZEN)
    assert_ok(control.post("/reset", headers={"Origin": mock_url}))  # the mock's own Swagger UI
    assert assert_ok(control.get("/clock"))["frozen"] is False


def test_json_writes_work_with_a_charset(control):
    response = control.put(
        "/clock", content=b'{"frozen": true}', headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert assert_ok(response)["frozen"] is True


@pytest.fixture(scope="module")
def dashboard_url() -> Iterator[str]:
    with MockProcess("--rate-limit", "off", "--control-cors-origin", DASHBOARD) as server:
        yield server.base_url


def test_control_cors_origin_opts_one_origin_in(dashboard_url, new_session):
    api, control = new_session(dashboard_url)
    allowed = preflight(control, origin=DASHBOARD, path="/clock")
    assert allowed.status_code == 200, allowed.text
    assert allowed.headers.get("access-control-allow-origin") == DASHBOARD
    assert "x-mock-session" in header_set(allowed, "access-control-allow-headers")
    assert_error(preflight(control, origin=ORIGIN, path="/clock"), 403, "FORBIDDEN")
    reply = control.put("/clock", json={"frozen": True}, headers={"Origin": DASHBOARD})
    assert assert_ok(reply)["frozen"] is True
    assert reply.headers.get("access-control-allow-origin") == DASHBOARD
    assert_error(control.post("/reset", headers={"Origin": ORIGIN}), 403, "FORBIDDEN")
    api_preflight = preflight(api, origin=ORIGIN)
    assert api_preflight.status_code == 200, "the API keeps its own CORS (any origin by default)"


def test_responses_expose_replay_retry_and_trace_headers(api):
    response = post(api, headers={"Origin": ORIGIN}, key="cors-key")
    assert response.status_code == 202
    assert response.headers.get("access-control-allow-origin") in ("*", ORIGIN)
    assert EXPOSED <= header_set(response, "access-control-expose-headers")
    replay = post(api, headers={"Origin": ORIGIN}, key="cors-key")
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert EXPOSED <= header_set(replay, "access-control-expose-headers")


def test_error_responses_are_readable_by_the_browser(bare, api, control):
    unauthorized = post(bare, headers={"Origin": ORIGIN})
    assert_error(unauthorized, 401, "UNAUTHORIZED")
    assert unauthorized.headers.get("access-control-allow-origin") in ("*", ORIGIN)
    add_fault(control, status=429)
    limited = post(api, headers={"Origin": ORIGIN})
    assert_error(limited, 429, "RATE_LIMITED")
    assert limited.headers.get("access-control-allow-origin") in ("*", ORIGIN)
    assert "retry-after" in header_set(limited, "access-control-expose-headers")


@pytest.fixture(scope="module")
def app_only_url() -> Iterator[str]:
    with MockProcess("--rate-limit", "off", "--cors-origin", "http://app.example") as server:
        yield server.base_url


def test_configured_origin_is_the_only_one_allowed(app_only_url, new_session):
    api, _ = new_session(app_only_url)
    allowed = preflight(api, origin="http://app.example")
    assert allowed.status_code == 200
    assert allowed.headers.get("access-control-allow-origin") == "http://app.example"
    denied = preflight(api, origin=ORIGIN)
    assert "access-control-allow-origin" not in denied.headers
    assert denied.status_code != 200
    response = post(api, headers={"Origin": "http://app.example"})
    assert response.status_code == 202
    assert response.headers.get("access-control-allow-origin") == "http://app.example"
    assert "access-control-allow-origin" not in post(api, headers={"Origin": ORIGIN}).headers


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/nope"),
        ("POST", "/v1/accounts/ag_acme/messages"),
        ("POST", "/v1/accounts/ag_acme/messages/responses/extra"),
        ("POST", "/v2/accounts/ag_acme/messages/responses"),
        ("GET", "/__mock/nope"),
    ],
)
def test_unknown_route_is_404_envelope(api, method, path):
    assert_error(api.request(method, path), 404, "NOT_FOUND")


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_wrong_method_is_405_envelope_with_allow(api, method):
    response = api.request(method, RESPONSES_PATH)
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    allowed = header_set(response, "allow")
    assert "post" in allowed, response.headers
    assert method.lower() not in allowed


def test_wrong_method_on_the_control_api_lists_every_method(control):
    response = control.patch("/clock")
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert {"get", "put"} <= header_set(response, "allow")


ODD_GROUPS = [
    pytest.param("ag%0Aacme", id="line_feed"),
    pytest.param("ag_acme%0A", id="trailing_line_feed"),
    pytest.param("ag%0D%0Aacme", id="crlf"),
    pytest.param("ag%00acme", id="nul"),
    pytest.param("ag%09acme", id="tab"),
    pytest.param("ag%7Facme", id="delete"),
    pytest.param("ag%FFacme", id="byte_ff"),
    pytest.param("%FF%FE", id="bytes_only"),
    pytest.param("ag%C3%28", id="invalid_utf8_sequence"),
    pytest.param("ag_%C3%A9", id="valid_non_ascii"),
    pytest.param("ag%2Facme", id="encoded_slash"),
    pytest.param("%20", id="space"),
]


@pytest.mark.parametrize("group", ODD_GROUPS)
def test_odd_bytes_in_group_are_401_without_key(bare, group):
    assert_error(post(bare, path=group_path(group)), 401, "UNAUTHORIZED")


@pytest.mark.parametrize("group", ODD_GROUPS)
def test_odd_bytes_in_group_are_403_with_key(api, group):
    assert_error(post(api, path=group_path(group)), 403, "FORBIDDEN")


def test_healthz_and_readyz_report_the_database(bare):
    health = assert_ok(bare.get("/healthz"))
    assert health["status"] == "ok"
    assert health["database"]["engine"] in ("sqlite", "postgresql")
    assert health["database"]["reachable"] is True
    assert assert_ok(bare.get("/readyz"))["status"] == "ready"


@pytest.mark.parametrize("path", ["/ui/", "/__mock/ui/"])
def test_swagger_ui_pages(bare, path):
    response = bare.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "swagger" in response.text.lower()


def test_openapi_json_serves_the_contract(bare):
    response = bare.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"] == "3.0.3"
    operation = document["paths"]["/v1/accounts/{accountGroupId}/messages/responses"]["post"]
    assert operation["operationId"] == "queueScheduledMessageResponse"
    assert {"202", "400", "401", "403", "409", "422", "429", "500", "502"} <= set(operation["responses"])


def test_control_openapi_json(bare):
    response = bare.get("/__mock/openapi.json")
    assert response.status_code == 200
    assert "/clock/advance" in response.json()["paths"]


def test_root_redirects_to_the_docs(bare):
    response = bare.get("/", follow_redirects=False)
    assert response.status_code in (302, 307)
    assert response.headers["location"] == "/ui/"
    assert "swagger" in bare.get("/", follow_redirects=True).text.lower()


@pytest.mark.parametrize(
    ("document", "operation"),
    [("/openapi.json", ("GET", "/healthz")), ("/__mock/openapi.json", ("GET", "/clock"))],
)
def test_the_served_specs_first_server_is_this_mock(mock_url, mock_session, document, operation):
    """What Swagger UI's "Try it out" does: resolve `servers[0]` against the document's URL, add the path."""
    servers = httpx.get(mock_url + document, timeout=10).json()["servers"]
    base = urljoin(mock_url + document, servers[0]["url"]).rstrip("/")
    method, path = operation
    response = httpx.request(method, base + path, headers={"X-Mock-Session": mock_session}, timeout=10)
    assert_ok(response)


def test_the_contract_still_lists_production_after_the_mock(bare):
    servers = bare.get("/openapi.json").json()["servers"]
    assert servers[0]["url"] == "/"
    assert "https://api.sonarly.io" in [server["url"] for server in servers[1:]]


def test_the_control_document_declares_the_control_token(bare):
    document = bare.get("/__mock/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    (name,) = [name for name, scheme in schemes.items() if scheme == {**scheme, "type": "http", "scheme": "bearer"}]
    assert {} in document["security"] and {name: []} in document["security"]


def test_authorization_header_on_health_and_docs_is_ignored(bare):
    assert bare.get("/healthz", headers=bearer(API_KEY)).status_code == 200
    assert bare.get("/healthz", headers=bearer("sk_test_unknown")).status_code == 200


def test_on_loopback_the_control_api_answers_only_to_loopback_host_names(bare, mock_url):
    """DNS rebinding: a page at http://evil.example:PORT whose name resolves to 127.0.0.1 is same-origin to the
    browser, so only the Host header tells it apart; it must not read the fixtures (every key value)."""
    port = mock_url.rsplit(":", 1)[1]
    refused = bare.get("/__mock/fixtures", headers={"Host": f"evil.example:{port}"})
    error = assert_error(refused, 403, "FORBIDDEN")
    assert "--control-host" in error["details"] and API_KEY not in refused.text
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"):
        assert_ok(bare.get("/__mock/fixtures", headers={"Host": host}))
    api = bare.post(RESPONSES_PATH, headers={"Host": f"evil.example:{port}", **bearer(API_KEY)}, json={})
    assert api.status_code == 400  # the API itself does not care which name it is reached by


@pytest.mark.parametrize("extra", [("--control-host", "dash.local"), ("--control-token", "ctl-secret-9")])
def test_a_named_host_or_a_control_token_lets_other_names_in(extra):
    with MockProcess("--rate-limit", "off", *extra) as server:
        port = server.base_url.rsplit(":", 1)[1]
        headers = {"Host": f"dash.local:{port}", "Authorization": "Bearer ctl-secret-9"}
        assert_ok(httpx.get(f"{server.base_url}/__mock/clock", headers=headers, timeout=10.0))
        if extra[0] == "--control-host":
            other = httpx.get(f"{server.base_url}/__mock/clock", headers={"Host": f"evil.example:{port}"})
            assert_error(other, 403, "FORBIDDEN")


def test_a_response_to_a_request_without_origin_varies_on_origin(api, bare):
    """A cache in front of the mock must not hand a response without CORS headers to a page that sends an Origin:
    every API response says `Vary: Origin`, once, as Starlette's CORS says it (the mock writes it itself when no
    Origin was sent)."""
    for response in (post(api, key="vary-key"), post(bare), api.get(RESPONSES_PATH)):
        assert response.headers.get_list("vary") == ["Origin"], response.headers
        assert "access-control-allow-origin" not in response.headers
    with_origin = post(api, headers={"Origin": ORIGIN}, key="vary-key-2")
    assert "access-control-allow-origin" in with_origin.headers


def test_vary_origin_joins_the_vary_the_app_set_as_starlette_does() -> None:
    start = {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"vary", b"Accept"), (b"x-a", b"1"), (b"vary", b"Cookie")],
    }

    async def app(scope, receive, send):
        await send({**start, "headers": list(start["headers"])})

    def run(wrapped) -> list:
        sent: list = []

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": "/v1/x", "headers": []}
        asyncio.run(wrapped(scope, None, send))
        return sent[0]["headers"]

    async def ours(scope, receive, send):
        await app(scope, receive, vary_origin(send))

    assert (
        run(ours)
        == run(CORSMiddleware(app, allow_origins=["*"]))
        == [(b"vary", b"Accept, Cookie, Origin"), (b"x-a", b"1")]
    )
